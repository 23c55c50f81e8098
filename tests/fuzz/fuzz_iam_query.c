/* fuzz_iam_query.c: the x-www-form-urlencoded / query parser.  Whatever
 * parses must re-encode (canonical percent-encoding) to text that parses
 * back to the same pairs. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "iam/iam.h"

static void roundtrip(const iam_params *p)
{
    sd_buf b = SD_BUF_INIT((size_t)8 * 1024 * 1024);
    iam_params q = IAM_PARAMS_INIT;

    for (size_t i = 0; i < p->n; i++) {
        if ((i > 0 && sd_buf_put_u8(&b, '&', NULL) != SD_OK) ||
            iam_pct_encode(p->v[i].name, strlen(p->v[i].name), &b, NULL) != SD_OK ||
            sd_buf_put_u8(&b, '=', NULL) != SD_OK ||
            iam_pct_encode(p->v[i].value, strlen(p->v[i].value), &b, NULL) != SD_OK) {
            abort();
        }
    }
    if (iam_params_parse((const char *)b.data, b.len, NULL, &q, NULL) != SD_OK || q.n != p->n) {
        abort();
    }
    for (size_t i = 0; i < p->n; i++) {
        if (strcmp(p->v[i].name, q.v[i].name) != 0 || strcmp(p->v[i].value, q.v[i].value) != 0) {
            abort();
        }
    }
    iam_params_free(&q);
    sd_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    iam_params p = IAM_PARAMS_INIT;

    if (iam_params_parse((const char *)data, size, NULL, &p, NULL) == SD_OK) {
        roundtrip(&p);
        iam_params_free(&p);
    } else if (p.n != 0 || p.v != NULL) {
        abort(); /* a failed parse leaves nothing behind */
    }
    return 0;
}
