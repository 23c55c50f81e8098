/* fuzz_iam_canon.c: signature canonicalisation and checking, v1 and V3.
 * The input is split on '\n': line 1 is the method, line 2 the query, line 3
 * the body (also parsed as a form), every further line a header
 * "name:value".  Building the string-to-sign and checking the signature must
 * never crash, and nothing may verify under a secret no input was signed
 * with (the corpus holds real vectors signed with "testsecret"). */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "iam/iam.h"

#define MAX_LINES 24

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    char *line[MAX_LINES];
    size_t n = 0;
    iam_pair h[MAX_LINES];
    size_t nh = 0;
    iam_params q = IAM_PARAMS_INIT;
    iam_params f = IAM_PARAMS_INIT;
    iam_request r;
    sd_buf sts = SD_BUF_INIT((size_t)16 * 1024 * 1024);
    sd_secret *k = NULL;

    if (text == NULL || sd_secret_from("fuzz-not-the-secret", 19, &k, NULL) != SD_OK) {
        abort();
    }
    memcpy(text, data, size);
    text[size] = '\0';
    for (char *p = text; p != NULL && n < MAX_LINES;) {
        char *nl = strchr(p, '\n');
        line[n++] = p;
        if (nl != NULL) {
            *nl = '\0';
        }
        p = nl != NULL ? nl + 1 : NULL;
    }
    while (n < 3) {
        line[n++] = text + size; /* "" */
    }
    for (size_t i = 3; i < n; i++) {
        char *c = strchr(line[i], ':');
        if (c != NULL) {
            *c = '\0';
            h[nh].name = line[i];
            h[nh].value = c + 1;
            nh++;
        }
    }
    if (iam_params_parse(line[1], strlen(line[1]), NULL, &q, NULL) == SD_OK &&
        iam_params_parse(line[2], strlen(line[2]), NULL, &f, NULL) == SD_OK) {
        r.method = line[0];
        r.path = "/";
        r.query = &q;
        r.form = &f;
        r.headers = h;
        r.n_headers = nh;
        r.body = (const uint8_t *)line[2];
        r.body_len = strlen(line[2]);
        sd_ignore(iam_sig_string_to_sign(&r, &sts, NULL)); /* only must not crash */
        if (iam_sig_check(&r, k, NULL) == SD_OK) {
            abort(); /* a fuzzer cannot forge HMAC-SHA1/SHA256 */
        }
    }
    iam_params_free(&q);
    iam_params_free(&f);
    sd_buf_free(&sts);
    sd_secret_free(k);
    free(text);
    return 0;
}
