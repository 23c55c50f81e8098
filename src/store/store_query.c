/* store_query.c: the row helpers of store.h (typed argument lists and
 * column tables), written once over the backend primitives.
 *
 * Nothing here knows which backend runs the SQL: binding walks the
 * argument list calling store_bind_*, reading walks the column table
 * calling store_col_*, and every check (argument count, column count,
 * column type, size, range) is made here, so each backend gets the same
 * guarantees for free.  Statements come from store_prepare and so from its
 * cache; each helper frees (resets) its statement before returning, which
 * ends the implicit read transaction of a query. */
#include <stdlib.h>
#include <string.h>

#include "store/store.h"

static sd_code bind_args(store *s, const char *sql, const store_arg *args, store_stmt **out,
                         sd_err *err)
{
    sd_code rc = SD_OK;
    store_stmt *st = NULL;
    int n = 0;

    *out = NULL;
    SD_TRY(store_prepare(s, sql, &st, err));
    for (const store_arg *a = args; a != NULL && a->kind != STORE_ARG_END; a++) {
        n++;
        switch (a->kind) {
        case STORE_ARG_TEXT:
            SD_TRY(store_bind_text(st, n, a->text, err));
            break;
        case STORE_ARG_INT:
            SD_TRY(store_bind_int64(st, n, a->i, err));
            break;
        case STORE_ARG_BLOB:
            SD_TRY(store_bind_blob(st, n, a->p, a->n, err));
            break;
        case STORE_ARG_NULL:
            SD_TRY(store_bind_null(st, n, err));
            break;
        case STORE_ARG_END:
            break;
        }
    }
    /* a missing value would silently bind NULL: refuse it before running */
    SD_ENSURE(n == store_param_count(st), err, SD_E_INTERNAL,
              "%d values for %d placeholders in: %.60s", n, store_param_count(st), sql);
    *out = st;
    st = NULL;
out:
    store_stmt_free(st);
    return rc;
}

static const char *type_name(store_type t)
{
    switch (t) {
    case STORE_TYPE_NULL:
        return "NULL";
    case STORE_TYPE_INT:
        return "an integer";
    case STORE_TYPE_TEXT:
        return "text";
    case STORE_TYPE_BLOB:
        return "a blob";
    case STORE_TYPE_OTHER:
        return "a real";
    }
    return "?";
}

static store_type wanted_type(store_col_kind k)
{
    switch (k) {
    case STORE_COL_KIND_TEXT:
        return STORE_TYPE_TEXT;
    case STORE_COL_KIND_BLOB:
    case STORE_COL_KIND_BUF:
    case STORE_COL_KIND_DUP:
        return STORE_TYPE_BLOB;
    case STORE_COL_KIND_I64:
    case STORE_COL_KIND_I32:
    case STORE_COL_KIND_U64:
    case STORE_COL_KIND_U32:
    case STORE_COL_KIND_BOOL:
    case STORE_COL_KIND_SKIP:
        break;
    }
    return STORE_TYPE_INT;
}

static sd_code read_int(store_stmt *st, int i, const store_col *c, void *field, sd_err *err)
{
    int64_t v = store_col_int64(st, i);

    switch (c->kind) {
    case STORE_COL_KIND_I64:
        memcpy(field, &v, sizeof v);
        return SD_OK;
    case STORE_COL_KIND_U64:
        if (v >= 0) {
            uint64_t u = (uint64_t)v;
            memcpy(field, &u, sizeof u);
            return SD_OK;
        }
        break;
    case STORE_COL_KIND_I32:
        if (v >= INT32_MIN && v <= INT32_MAX) {
            int n = (int)v;
            memcpy(field, &n, sizeof n);
            return SD_OK;
        }
        break;
    case STORE_COL_KIND_U32:
        if (v >= 0 && v <= UINT32_MAX) {
            unsigned n = (unsigned)v;
            memcpy(field, &n, sizeof n);
            return SD_OK;
        }
        break;
    case STORE_COL_KIND_BOOL: {
        bool b = v != 0;
        memcpy(field, &b, sizeof b);
        return SD_OK;
    }
    case STORE_COL_KIND_SKIP:
    case STORE_COL_KIND_TEXT:
    case STORE_COL_KIND_BLOB:
    case STORE_COL_KIND_BUF:
    case STORE_COL_KIND_DUP:
        break;
    }
    return sd_err_set(err, SD_E_INTERNAL, SD_HERE, "column %d: %lld is out of range", i,
                      (long long)v);
}

static sd_code read_dup(store_stmt *st, int i, const store_col *c, void *row, sd_err *err)
{
    size_t n = 0;
    const uint8_t *p = store_col_blob(st, i, &n);
    uint8_t *copy = NULL;

    if (n > c->size) {
        return sd_err_set(err, SD_E_INTERNAL, SD_HERE,
                          "column %d: a blob of %zu bytes is over its limit of %zu", i, n, c->size);
    }
    if (n > 0) {
        copy = malloc(n);
        if (copy == NULL) {
            return sd_err_set(err, SD_E_NOMEM, SD_HERE, "out of memory");
        }
        memcpy(copy, p, n);
    }
    memcpy((uint8_t *)row + c->off, &copy, sizeof copy);
    memcpy((uint8_t *)row + c->len_off, &n, sizeof n);
    return SD_OK;
}

static sd_code read_col(store_stmt *st, int i, const store_col *c, void *row, sd_err *err)
{
    sd_code rc = SD_OK;
    uint8_t *field = (uint8_t *)row + c->off;
    store_type t = store_col_type(st, i);
    const uint8_t *p = NULL;
    size_t n = 0;

    if (c->kind == STORE_COL_KIND_SKIP) {
        return SD_OK;
    }
    SD_ENSURE(t == STORE_TYPE_NULL || t == wanted_type(c->kind), err, SD_E_INTERNAL,
              "column %d holds %s, not %s", i, type_name(t), type_name(wanted_type(c->kind)));
    switch (c->kind) {
    case STORE_COL_KIND_TEXT: {
        const char *v = store_col_text(st, i);
        n = strlen(v);
        SD_ENSURE(n < c->size, err, SD_E_INTERNAL, "column %d: %zu bytes of text do not fit in %zu",
                  i, n, c->size - 1);
        memcpy(field, v, n + 1);
        break;
    }
    case STORE_COL_KIND_BLOB:
        p = store_col_blob(st, i, &n);
        SD_ENSURE(n <= c->size, err, SD_E_INTERNAL,
                  "column %d: a blob of %zu bytes does not fit in %zu", i, n, c->size);
        if (n > 0) {
            memcpy(field, p, n);
        }
        memcpy((uint8_t *)row + c->len_off, &n, sizeof n);
        break;
    case STORE_COL_KIND_BUF: {
        sd_buf *b = (sd_buf *)(void *)field;
        p = store_col_blob(st, i, &n);
        sd_buf_reset(b);
        SD_ENSURE(n <= b->max, err, SD_E_INTERNAL,
                  "column %d: a blob of %zu bytes is over its limit of %zu", i, n, b->max);
        SD_TRY(sd_buf_append(b, p, n, err));
        break;
    }
    case STORE_COL_KIND_DUP:
        SD_TRY(read_dup(st, i, c, row, err));
        break;
    case STORE_COL_KIND_I64:
    case STORE_COL_KIND_I32:
    case STORE_COL_KIND_U64:
    case STORE_COL_KIND_U32:
    case STORE_COL_KIND_BOOL:
        SD_TRY(read_int(st, i, c, field, err));
        break;
    case STORE_COL_KIND_SKIP:
        break;
    }
out:
    return rc;
}

static sd_code read_row(store_stmt *st, const store_col *cols, size_t ncols, void *row, sd_err *err)
{
    sd_code rc = SD_OK;
    int have = store_col_count(st);

    SD_ENSURE(have >= 0 && (size_t)have == ncols, err, SD_E_INTERNAL,
              "the statement returns %d columns, the table reads %zu", have, ncols);
    for (size_t i = 0; i < ncols; i++) {
        SD_TRY(read_col(st, (int)i, &cols[i], row, err));
    }
out:
    return rc;
}

sd_code store_run(store *s, const char *sql, const store_arg *args, sd_err *err)
{
    sd_code rc = SD_OK;
    store_stmt *st = NULL;

    SD_TRY(bind_args(s, sql, args, &st, err));
    SD_TRY(store_step_done(st, err));
out:
    store_stmt_free(st);
    return rc;
}

sd_code store_query(store *s, const char *sql, const store_arg *args, store_stmt **out, sd_err *err)
{
    return bind_args(s, sql, args, out, err);
}

sd_code store_next(store_stmt *st, const store_col *cols, size_t ncols, void *row, bool *have,
                   sd_err *err)
{
    sd_code rc = SD_OK;

    SD_TRY(store_step(st, have, err));
    if (*have) {
        SD_TRY(read_row(st, cols, ncols, row, err));
    }
out:
    return rc;
}

sd_code store_query_one(store *s, const char *sql, const store_arg *args, const store_col *cols,
                        size_t ncols, void *row, bool *found, sd_err *err)
{
    sd_code rc = SD_OK;
    store_stmt *st = NULL;
    bool have = false;

    if (found != NULL) {
        *found = false;
    }
    SD_TRY(bind_args(s, sql, args, &st, err));
    SD_TRY(store_next(st, cols, ncols, row, &have, err));
    SD_ENSURE(have || found != NULL, err, SD_E_NOT_FOUND, "no row for: %.60s", sql);
    if (found != NULL) {
        *found = have;
    }
out:
    store_stmt_free(st);
    return rc;
}

sd_code store_count(store *s, const char *sql, const store_arg *args, int64_t *out, sd_err *err)
{
    typedef struct count_row {
        int64_t n;
    } count_row;
    static const store_col cols[] = {STORE_COL(count_row, n)};
    sd_code rc = SD_OK;
    count_row r = {0};

    bool found = false;

    *out = 0;
    SD_TRY(store_query_one(s, sql, args, STORE_COLS(cols), &r, &found, err));
    *out = r.n;
out:
    return rc;
}
