/* kms_rootkey.c: the root key providers and root-key wrapping.
 *
 * The root key is 256 bits in locked memory.  The file provider keeps it in
 * a 0600 file of exactly 32 bytes, created with O_EXCL so an existing key is
 * never overwritten.  The passphrase provider stretches a passphrase with
 * scrypt and a per-data-directory salt.  Wrapping is AES-256-GCM:
 * 12-byte nonce | ciphertext | 16-byte tag, AAD given by the caller. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/stat.h>

#include "crypto/crypto.h"
#include "kms/kms_int.h"

#define ROOT_KEY_LEN 32

struct kms_rootkey {
    sd_secret *key;
};

void kms_rootkey_free(kms_rootkey *rk)
{
    if (rk == NULL) {
        return;
    }
    sd_secret_free(rk->key);
    free(rk);
}

/* Reads exactly n bytes of a file that must be n bytes long. */
static sd_code read_exact(const char *path, uint8_t *buf, size_t n, sd_err *err)
{
    sd_code rc = SD_OK;
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    size_t got = 0;

    if (fd < 0) {
        return sd_err_set(err, errno == ENOENT ? SD_E_NOT_FOUND : SD_E_IO, SD_HERE,
                          "cannot open %s", path);
    }
    SD_ENSURE(fstat(fd, &st) == 0 && st.st_size == (off_t)n, err, SD_E_INVALID,
              "%s is not a %zu-byte key file", path, n);
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        SD_ENSURE(r > 0, err, SD_E_IO, "cannot read %s", path);
        got += (size_t)r;
    }
out:
    close(fd);
    return rc;
}

/* Creates path (0600, O_EXCL) holding n bytes from buf, durably. */
static sd_code write_new(const char *path, const uint8_t *buf, size_t n, sd_err *err)
{
    sd_code rc = SD_OK;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

    if (fd < 0) {
        return sd_err_set(err, SD_E_IO, SD_HERE, "cannot create %s", path);
    }
    SD_ENSURE(write(fd, buf, n) == (ssize_t)n && fsync(fd) == 0, err, SD_E_IO, "cannot write %s",
              path);
out:
    close(fd);
    if (rc != SD_OK) {
        unlink(path);
    }
    return rc;
}

sd_code kms_rootkey_file(const char *path, bool create, kms_rootkey **out, sd_err *err)
{
    sd_code rc = SD_OK;
    kms_rootkey *rk = NULL;

    *out = NULL;
    rk = calloc(1, sizeof *rk);
    SD_ENSURE(rk != NULL, err, SD_E_NOMEM, "out of memory");
    SD_TRY(sd_secret_new(ROOT_KEY_LEN, &rk->key, err));
    rc = read_exact(path, sd_secret_data(rk->key), ROOT_KEY_LEN, err);
    if (rc == SD_E_NOT_FOUND && create) {
        sd_err_clear(err);
        SD_TRY(crypto_rng_fill(sd_secret_data(rk->key), ROOT_KEY_LEN, err));
        rc = write_new(path, sd_secret_data(rk->key), ROOT_KEY_LEN, err);
    }
    SD_TRY(rc);
    *out = rk;
    rk = NULL;
out:
    kms_rootkey_free(rk);
    return rc;
}

sd_code kms_rootkey_passphrase(const sd_secret *pass, const char *salt_path, bool create,
                               unsigned log2n, kms_rootkey **out, sd_err *err)
{
    sd_code rc = SD_OK;
    kms_rootkey *rk = NULL;
    uint8_t salt[16];

    *out = NULL;
    SD_ENSURE(sd_secret_len(pass) >= 8, err, SD_E_INVALID,
              "the root passphrase must be at least 8 characters");
    SD_ENSURE(log2n >= 10 && log2n <= 22, err, SD_E_INVALID, "scrypt cost out of range");
    rc = read_exact(salt_path, salt, sizeof salt, err);
    if (rc == SD_E_NOT_FOUND && create) {
        sd_err_clear(err);
        SD_TRY(crypto_rng_fill(salt, sizeof salt, err));
        rc = write_new(salt_path, salt, sizeof salt, err);
    }
    SD_TRY(rc);
    rk = calloc(1, sizeof *rk);
    SD_ENSURE(rk != NULL, err, SD_E_NOMEM, "out of memory");
    SD_TRY(sd_secret_new(ROOT_KEY_LEN, &rk->key, err));
    SD_TRY(crypto_scrypt(sd_secret_data(pass), sd_secret_len(pass), salt, sizeof salt,
                         (uint64_t)1 << log2n, 8, 1, sd_secret_data(rk->key), ROOT_KEY_LEN, err));
    *out = rk;
    rk = NULL;
out:
    kms_rootkey_free(rk);
    return rc;
}

sd_code kms_rootkey_derive(const kms_rootkey *rk, const char *label, sd_secret **out, sd_err *err)
{
    sd_code rc = SD_OK;
    sd_secret *k = NULL;
    static const char salt[] = "sealdisk-rootkey-derive-v1";

    *out = NULL;
    SD_ENSURE(label != NULL && label[0] != '\0', err, SD_E_INVALID, "a derived key needs a label");
    SD_TRY(sd_secret_new(32, &k, err));
    SD_TRY(crypto_hkdf_sha256(sd_secret_data(rk->key), sd_secret_len(rk->key),
                              (const uint8_t *)salt, sizeof salt - 1, (const uint8_t *)label,
                              strlen(label), sd_secret_data(k), 32, err));
    *out = sd_secret_take(&k);
out:
    sd_secret_free(k);
    return rc;
}

sd_code kms__root_wrap(const kms_rootkey *rk, const char *aad, const sd_secret *pt,
                       const sd_rng *rng, sd_buf *out, sd_err *err)
{
    sd_code rc = SD_OK;
    uint8_t nonce[CRYPTO_GCM_IV_LEN];
    uint8_t tag[CRYPTO_GCM_TAG_LEN];
    size_t start = out->len;

    SD_TRY(sd_rng_fill(rng, nonce, sizeof nonce, err));
    SD_TRY(sd_buf_append(out, nonce, sizeof nonce, err));
    SD_TRY(sd_buf_reserve(out, sd_secret_len(pt) + sizeof tag, err));
    SD_TRY(crypto_aead_seal(rk->key, nonce, (const uint8_t *)aad, strlen(aad), sd_secret_data(pt),
                            sd_secret_len(pt), out->data + out->len, tag, err));
    out->len += sd_secret_len(pt);
    SD_TRY(sd_buf_append(out, tag, sizeof tag, err));
out:
    if (rc != SD_OK) {
        out->len = start;
    }
    return rc;
}

sd_code kms__root_unwrap(const kms_rootkey *rk, const char *aad, const uint8_t *wrapped, size_t len,
                         sd_secret **out, sd_err *err)
{
    sd_code rc = SD_OK;
    sd_secret *pt = NULL;
    size_t n;

    *out = NULL;
    SD_ENSURE(len > CRYPTO_GCM_IV_LEN + CRYPTO_GCM_TAG_LEN, err, SD_E_INTERNAL,
              "wrapped key material is truncated");
    n = len - CRYPTO_GCM_IV_LEN - CRYPTO_GCM_TAG_LEN;
    SD_TRY(sd_secret_new(n, &pt, err));
    SD_TRY(crypto_aead_open(rk->key, wrapped, (const uint8_t *)aad, strlen(aad),
                            wrapped + CRYPTO_GCM_IV_LEN, n, wrapped + CRYPTO_GCM_IV_LEN + n,
                            sd_secret_data(pt), err));
    *out = sd_secret_take(&pt);
out:
    sd_secret_free(pt);
    return rc;
}
