/* iam_test.h: building an iam_request from raw wire pieces, for the iam
 * unit tests. */
#ifndef SD_IAM_TEST_H
#define SD_IAM_TEST_H

#include <stdlib.h>
#include <string.h>

#include "iam/iam.h"
#include "iam_vectors.h"

typedef struct rq {
    iam_params q;
    iam_params f;
    iam_pair h[IAMV_MAX_HEADERS];
    char *body;
    iam_request r;
} rq;

/* Builds x from the wire pieces (query and body are copied and decoded).
 * Returns the parser's code. */
static inline sd_code rq_build(rq *x, const char *method, const char *query,
                               const char *const (*headers)[2], size_t nh, const char *body)
{
    sd_code rc;
    bool form = false;
    iam_params init = IAM_PARAMS_INIT;

    x->q = init;
    x->f = init;
    x->body = strdup(body);
    for (size_t i = 0; i < nh; i++) {
        x->h[i].name = headers[i][0];
        x->h[i].value = headers[i][1];
        if (strcmp(headers[i][0], "content-type") == 0 &&
            strcmp(headers[i][1], "application/x-www-form-urlencoded") == 0) {
            form = true;
        }
    }
    rc = iam_params_parse(query, strlen(query), NULL, &x->q, NULL);
    if (rc == SD_OK && form) {
        rc = iam_params_parse(body, strlen(body), NULL, &x->f, NULL);
    }
    x->r.method = method;
    x->r.path = "/";
    x->r.query = &x->q;
    x->r.form = form ? &x->f : NULL;
    x->r.headers = x->h;
    x->r.n_headers = nh;
    x->r.body = (const uint8_t *)x->body;
    x->r.body_len = strlen(body);
    return rc;
}

static inline size_t iamv_nheaders(const iamv *v)
{
    size_t n = 0;
    while (n < IAMV_MAX_HEADERS && v->headers[n][0] != NULL) {
        n++;
    }
    return n;
}

static inline sd_code rq_from_vector(rq *x, const iamv *v)
{
    return rq_build(x, v->method, v->query, v->headers, iamv_nheaders(v), v->body);
}

static inline void rq_free(rq *x)
{
    iam_params_free(&x->q);
    iam_params_free(&x->f);
    free(x->body);
    x->body = NULL;
}

/* Changes one character of s at the first position at or after from that
 * is alphanumeric, keeping it alphanumeric. */
static inline void mutate_one(char *s, size_t from)
{
    for (size_t i = from; s[i] != '\0'; i++) {
        char c = s[i];
        if ((c >= 'a' && c <= 'y') || (c >= 'A' && c <= 'Y') || (c >= '0' && c <= '8')) {
            s[i] = (char)(c + 1);
            return;
        }
    }
}

#endif
