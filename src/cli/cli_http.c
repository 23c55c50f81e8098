/* cli_http.c: the client's HTTP transport, on libcurl.
 *
 * One POST per call with an empty body (both signature schemes carry every
 * parameter in the query string, as the kms20160120 SDK does), the given
 * headers, and the response body collected into a bounded buffer.
 *
 * HTTPS: the profile the server writes pins the public key of its
 * self-signed certificate (CURLOPT_PINNEDPUBLICKEY).  A pin without a CA
 * file is the whole trust, so chain and name checks are off then; a CA
 * file (or the system's CAs) turns them on, with the pin checked too when
 * both are given.  An endpoint without a scheme is plain HTTP, as profiles
 * written before HTTPS say. */
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "cli/cli.h"

typedef struct sink {
    sd_buf *body;
    bool overflow;
} sink;

static size_t on_data(char *p, size_t size, size_t nmemb, void *ctx)
{
    sink *s = ctx;
    size_t n = size * nmemb;

    if (sd_buf_append(s->body, p, n, NULL) != SD_OK) {
        s->overflow = true;
        return 0; /* makes curl stop with CURLE_WRITE_ERROR */
    }
    return n;
}

const char *cli_endpoint_host(const char *endpoint)
{
    const char *p = strstr(endpoint, "://");

    return p != NULL ? p + 3 : endpoint;
}

/* The TLS options of an https endpoint. */
static sd_code set_tls(CURL *c, const sd_profile *prof, sd_err *err)
{
    sd_code rc = SD_OK;
    bool pin_only = prof->tls_pin[0] != '\0' && prof->ca_file[0] == '\0';

    SD_ENSURE(curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2) == CURLE_OK,
              err, SD_E_INTERNAL, "libcurl cannot require TLS 1.2");
    if (prof->ca_file[0] != '\0') {
        SD_ENSURE(curl_easy_setopt(c, CURLOPT_CAINFO, prof->ca_file) == CURLE_OK, err,
                  SD_E_INTERNAL, "libcurl refuses the CA file %s", prof->ca_file);
    }
    if (prof->tls_pin[0] != '\0') {
        SD_ENSURE(curl_easy_setopt(c, CURLOPT_PINNEDPUBLICKEY, prof->tls_pin) == CURLE_OK, err,
                  SD_E_INTERNAL, "libcurl cannot pin a public key");
    }
    SD_ENSURE(curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, pin_only ? 0L : 1L) == CURLE_OK &&
                  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, pin_only ? 0L : 2L) == CURLE_OK,
              err, SD_E_INTERNAL, "cannot configure libcurl");
out:
    return rc;
}

sd_code cli_http_post(const sd_profile *prof, const char *query, const cli_header *headers,
                      size_t nheaders, int *status, sd_buf *body, sd_err *err)
{
    const char *endpoint = prof->endpoint;
    bool https = strncmp(endpoint, "https://", 8) == 0;
    sd_code rc = SD_OK;
    CURL *c = NULL;
    struct curl_slist *hl = NULL;
    sd_buf url = SD_BUF_INIT((size_t)64 * 1024);
    const char *u = NULL;
    sink s = {body, false};
    long code = 0;
    CURLcode cc;

    *status = 0;
    SD_ENSURE(https || strncmp(endpoint, "http://", 7) == 0 || strstr(endpoint, "://") == NULL, err,
              SD_E_INVALID, "endpoint %s: the scheme must be http or https", endpoint);
    SD_TRY(sd_buf_printf(&url, err, "%s%s/%s%s", strstr(endpoint, "://") != NULL ? "" : "http://",
                         endpoint, query[0] != '\0' ? "?" : "", query));
    SD_TRY(sd_buf_cstr(&url, &u, err));
    for (size_t i = 0; i < nheaders; i++) {
        sd_buf line = SD_BUF_INIT(8192);
        const char *l = NULL;
        struct curl_slist *next;
        rc = sd_buf_printf(&line, err, "%s: %s", headers[i].name, headers[i].value);
        if (rc == SD_OK) {
            rc = sd_buf_cstr(&line, &l, err);
        }
        next = rc == SD_OK ? curl_slist_append(hl, l) : NULL;
        sd_buf_free(&line);
        SD_TRY(rc);
        SD_ENSURE(next != NULL, err, SD_E_NOMEM, "out of memory");
        hl = next;
    }
    /* curl would otherwise add "Expect:" and a form content type; the
     * server refuses a V3 request with a content-type it did not sign */
    hl = curl_slist_append(hl, "Expect:");
    SD_ENSURE(hl != NULL, err, SD_E_NOMEM, "out of memory");
    hl = curl_slist_append(hl, "Content-Type:");
    SD_ENSURE(hl != NULL, err, SD_E_NOMEM, "out of memory");
    c = curl_easy_init();
    SD_ENSURE(c != NULL, err, SD_E_NOMEM, "cannot start libcurl");
    SD_ENSURE(curl_easy_setopt(c, CURLOPT_URL, u) == CURLE_OK &&
                  curl_easy_setopt(c, CURLOPT_POST, 1L) == CURLE_OK &&
                  curl_easy_setopt(c, CURLOPT_POSTFIELDS, "") == CURLE_OK &&
                  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L) == CURLE_OK &&
                  curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl) == CURLE_OK &&
                  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data) == CURLE_OK &&
                  curl_easy_setopt(c, CURLOPT_WRITEDATA, &s) == CURLE_OK &&
                  curl_easy_setopt(c, CURLOPT_NOPROXY, "*") == CURLE_OK &&
                  curl_easy_setopt(c, CURLOPT_TIMEOUT, 600L) == CURLE_OK,
              err, SD_E_INTERNAL, "cannot configure libcurl");
    if (https) {
        SD_TRY(set_tls(c, prof, err));
    }
    cc = curl_easy_perform(c);
    SD_ENSURE(!s.overflow, err, SD_E_IO, "the response from %s is too large", endpoint);
    /* what plain HTTP to an HTTPS server looks like */
    SD_ENSURE(cc == CURLE_OK, err, SD_E_IO, "cannot reach %s: %s%s", endpoint,
              curl_easy_strerror(cc),
              !https && cc == CURLE_GOT_NOTHING ? " (does it speak HTTPS? try https://)" : "");
    SD_ENSURE(curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK, err, SD_E_INTERNAL,
              "no HTTP status");
    *status = (int)code;
out:
    curl_easy_cleanup(c);
    curl_slist_free_all(hl);
    sd_buf_free(&url);
    return rc;
}
