/* replay.c: runs a fuzz target over every file of its corpus directory, so
 * regression inputs are exercised by the ordinary (and asan) test suites
 * without libFuzzer.  Exit 0 when every input ran; a crash is a failure. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>

#include "fuzz.h"

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long n;
    int ret = 1;

    if (f == NULL) {
        return 1;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        goto out;
    }
    buf = malloc((size_t)n + 1);
    if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        goto out;
    }
    LLVMFuzzerTestOneInput(buf, (size_t)n);
    ret = 0;
out:
    free(buf);
    fclose(f);
    return ret;
}

int main(int argc, char **argv)
{
    DIR *d;
    struct dirent *e;
    int count = 0;
    int failed = 0;

    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    /* The empty input always runs: a target must survive it. */
    LLVMFuzzerTestOneInput((const uint8_t *)"", 0);
    d = opendir(argv[1]);
    if (d == NULL) {
        printf("replayed 1 input (no corpus at %s)\n", argv[1]);
        return 0;
    }
    while ((e = readdir(d)) != NULL) {
        char path[4096];
        struct stat st;
        if (e->d_name[0] == '.') {
            continue;
        }
        if (snprintf(path, sizeof path, "%s/%s", argv[1], e->d_name) >= (int)sizeof path ||
            stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            continue;
        }
        failed += run_file(path);
        count++;
    }
    closedir(d);
    printf("replayed %d inputs, %d unreadable\n", count + 1, failed);
    return failed == 0 ? 0 : 1;
}
