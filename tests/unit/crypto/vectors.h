/* vectors.h: reads known-answer files of tests/vectors/ for crypto tests.
 *
 * Format: "field = value" lines (values in hex except name and unit), '#'
 * comments, a blank line between records.  Each record is handed to a
 * callback as a small field table. */
#ifndef SD_TEST_VECTORS_H
#define SD_TEST_VECTORS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VEC_FIELDS    8
#define VEC_VALUE_MAX 4096

typedef struct vec_record {
    int n;
    char name[VEC_FIELDS][16];
    char value[VEC_FIELDS][VEC_VALUE_MAX];
} vec_record;

static inline const char *vec_get(const vec_record *r, const char *field)
{
    for (int i = 0; i < r->n; i++) {
        if (strcmp(r->name[i], field) == 0) {
            return r->value[i];
        }
    }
    return NULL;
}

/* Decodes the hex field into out (cap bytes); returns the length or -1. */
static inline long vec_hex(const vec_record *r, const char *field, unsigned char *out, size_t cap)
{
    const char *h = vec_get(r, field);
    size_t n;

    if (h == NULL || strlen(h) % 2 != 0 || strlen(h) / 2 > cap) {
        return -1;
    }
    n = strlen(h) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(h + 2 * i, "%2x", &v) != 1) {
            return -1;
        }
        out[i] = (unsigned char)v;
    }
    return (long)n;
}

typedef void (*vec_fn)(const vec_record *r, void *ctx);

/* Calls fn for each record of the file; returns the record count. */
static inline int vec_each(const char *file, vec_fn fn, void *ctx)
{
    char path[1024];
    char line[VEC_VALUE_MAX + 64];
    vec_record *r = calloc(1, sizeof *r);
    int count = 0;
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", SD_TEST_VECTORS, file);
    f = fopen(path, "r");
    if (f == NULL || r == NULL) {
        free(r);
        if (f != NULL) {
            fclose(f);
        }
        return -1;
    }
    for (;;) {
        char *ok = fgets(line, sizeof line, f);
        char *eq;
        if (ok == NULL || line[0] == '\n') {
            if (r->n > 0) {
                fn(r, ctx);
                count++;
                memset(r, 0, sizeof *r);
            }
            if (ok == NULL) {
                break;
            }
            continue;
        }
        if (line[0] == '#' || (eq = strstr(line, " =")) == NULL || r->n >= VEC_FIELDS) {
            continue;
        }
        *eq = '\0';
        if (strlen(line) >= sizeof r->name[0]) {
            continue;
        }
        memcpy(r->name[r->n], line, strlen(line) + 1);
        eq += 2;
        while (*eq == ' ') {
            eq++;
        }
        eq[strcspn(eq, "\n")] = '\0';
        if (strlen(eq) >= sizeof r->value[0]) {
            continue;
        }
        memcpy(r->value[r->n], eq, strlen(eq) + 1);
        r->n++;
    }
    fclose(f);
    free(r);
    return count;
}

#endif
