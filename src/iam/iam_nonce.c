/* iam_nonce.c: the SignatureNonce replay records, kept in the store.
 *
 * A record (AccessKeyId, nonce, expires) lives in table iam_nonces
 * (032_iam_nonces.sql) until its request's timestamp leaves the accepted
 * window, so a replay is refused after a restart and, once nodes share a
 * store, on every node.  The check and the record are one statement: an
 * insert on the primary key that, on a conflict, only takes over a row
 * that has expired.  It changes one row for a fresh nonce and none for a
 * replay, atomically, whoever else writes the table.
 *
 * The key begins with the AccessKeyId, so tenants never share a slot: one
 * key's flood cannot evict or exhaust another's nonces (its own volume is
 * bounded by the per-AccessKey rate limit in iam_core.c).  Expired rows are
 * dead weight only; iam__nonce_purge deletes them, through the index on
 * expires.
 *
 * Not thread-safe by itself: the iam mutex guards the store handle. */
#include "iam/iam_int.h"

sd_code iam__nonce_record(store *st, const char *akid, const char *nonce, int64_t now,
                          int64_t expires, sd_err *err)
{
    sd_code rc = SD_OK;

    SD_TRY(store_run(st,
                     "INSERT INTO iam_nonces (access_key_id, nonce, expires) VALUES (?, ?, ?)"
                     " ON CONFLICT (access_key_id, nonce) DO UPDATE SET expires = ?"
                     " WHERE iam_nonces.expires <= ?",
                     STORE_ARGS(STORE_TEXT(akid), STORE_TEXT(nonce), STORE_INT(expires),
                                STORE_INT(expires), STORE_INT(now)),
                     err));
    SD_ENSUREC(store_changes(st) == 1, err, SD_E_AUTH, IAM_C_NONCE,
               "Specified signature nonce was used already.");
out:
    return rc;
}

sd_code iam__nonce_purge(store *st, int64_t now, sd_err *err)
{
    return store_run(st, "DELETE FROM iam_nonces WHERE expires <= ?", STORE_ARGS(STORE_INT(now)),
                     err);
}
