/* fuzz_json.c: the JSON reader of request parameters.  Whatever parses
 * must form a consistent tree: child counts match the links, strings are
 * NUL-terminated at their length, member names exist exactly in objects,
 * and nesting stays within SD_JSON_DEPTH_MAX.  Written back (sd_jw_val,
 * as the CLI prints responses) it parses again to the same text. */
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "fuzz.h"

/* Depth-first over the tree with an explicit stack (no recursion). */
static void check(const sd_json_val *root)
{
    const sd_json_val *stack[SD_JSON_DEPTH_MAX + 2];
    int top = 0;

    stack[0] = root;
    while (top >= 0) {
        const sd_json_val *v = stack[top--];
        size_t n = 0;
        if (v->str == NULL || strlen(v->str) != v->len) {
            abort();
        }
        for (const sd_json_val *c = v->child; c != NULL; c = c->next) {
            if ((v->type == SD_JSON_OBJECT) != (c->key != NULL)) {
                abort();
            }
            n++;
        }
        if (n != v->n) {
            abort();
        }
        /* Leaves are checked here; containers wait on a bounded stack (a
         * wide tree checks as far as the stack reaches). */
        for (const sd_json_val *c = v->child; c != NULL; c = c->next) {
            if (c->child == NULL) {
                if (c->str == NULL || strlen(c->str) != c->len || c->n != 0) {
                    abort();
                }
            } else {
                if (top + 1 >= (int)(sizeof stack / sizeof stack[0])) {
                    return; /* wide trees: the first levels suffice */
                }
                stack[++top] = c;
            }
        }
    }
}

/* The document written compactly into out (reset first). */
static void write_back(const sd_json_doc *d, sd_buf *out)
{
    sd_jw j;

    sd_buf_reset(out);
    sd_jw_init(&j, out, NULL);
    sd_jw_val(&j, NULL, sd_json_root(d));
    if (sd_jw_finish(&j) != SD_OK) {
        abort();
    }
}

/* Written back, the document parses again and writes the same text. */
static void round_trip(const sd_json_doc *d)
{
    sd_buf first = SD_BUF_INIT((size_t)1 << 24);
    sd_buf second = SD_BUF_INIT((size_t)1 << 24);
    sd_json_doc *again = NULL;

    write_back(d, &first);
    if (sd_json_parse((const char *)first.data, first.len, 4096, &again, NULL) != SD_OK) {
        abort();
    }
    write_back(again, &second);
    if (first.len != second.len || memcmp(first.data, second.data, first.len) != 0) {
        abort();
    }
    sd_json_doc_free(again);
    sd_buf_free(&first);
    sd_buf_free(&second);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sd_json_doc *d = NULL;

    if (sd_json_parse((const char *)data, size, 4096, &d, NULL) == SD_OK) {
        check(sd_json_root(d));
        round_trip(d);
        sd_json_doc_free(d);
    }
    return 0;
}
