/* crypto: every cryptographic primitive sealdisk uses, and the only module
 * that includes OpenSSL or libgcrypt (STYLE B1; libgcrypt only for XTS).
 *
 *   - AES-256-XTS over data units (4096-byte sectors for disks), tweak = the
 *     little-endian unit index (IEEE 1619 data unit sequence number);
 *   - AES-256-GCM seal/open with additional authenticated data;
 *   - HKDF-SHA256 (RFC 5869), scrypt, SHA-256, HMAC-SHA1/SHA256;
 *   - the system CSPRNG, as an sd_rng;
 *   - RSA-2048 key pairs and unwrapping for BYOK (OAEP-SHA256, OAEP-SHA1,
 *     PKCS#1 v1.5).
 * Keys are passed as sd_secret; plain arrays of key bytes exist only briefly
 * inside this module and are wiped on the way out.
 *
 * Thread model: the free functions are thread-safe.  A crypto_xts holds
 * cipher contexts and must be used by one thread at a time (make one per
 * worker; creating one costs a key schedule).  A crypto_rsa is immutable and
 * may be shared. */
#ifndef SD_CRYPTO_H
#define SD_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

#define CRYPTO_XTS_KEY_LEN 64 /* two AES-256 keys */
#define CRYPTO_SECTOR_SIZE 4096
#define CRYPTO_GCM_KEY_LEN 32
#define CRYPTO_GCM_IV_LEN  12
#define CRYPTO_GCM_TAG_LEN 16
#define CRYPTO_SHA256_LEN  32
#define CRYPTO_SHA1_LEN    20

/* ---- random ---------------------------------------------------------- */

/* The system CSPRNG (OpenSSL's DRBG seeded from getrandom). */
sd_rng crypto_rng_system(void);
SD_MUST_USE sd_code crypto_rng_fill(void *buf, size_t n, sd_err *err);

/* ---- AES-256-XTS ----------------------------------------------------- */

typedef struct crypto_xts crypto_xts;

/* Caller owns *out.  key is 64 bytes; SD_E_INVALID if the halves are equal
 * (IEEE 1619 forbids it and OpenSSL 3 refuses it). */
SD_MUST_USE sd_code crypto_xts_new(const sd_secret *key, crypto_xts **out, sd_err *err);
/* Encrypts len bytes (16 <= len, any length: ciphertext stealing) of one data
 * unit whose index is `unit`.  in and out may be the same buffer. */
SD_MUST_USE sd_code crypto_xts_encrypt(crypto_xts *x, uint64_t unit, const uint8_t *in,
                                       uint8_t *out, size_t len, sd_err *err);
SD_MUST_USE sd_code crypto_xts_decrypt(crypto_xts *x, uint64_t unit, const uint8_t *in,
                                       uint8_t *out, size_t len, sd_err *err);
/* Whole 4096-byte sectors: n sectors starting at sector index `first`. */
SD_MUST_USE sd_code crypto_xts_encrypt_sectors(crypto_xts *x, uint64_t first, const uint8_t *in,
                                               uint8_t *out, size_t n, sd_err *err);
SD_MUST_USE sd_code crypto_xts_decrypt_sectors(crypto_xts *x, uint64_t first, const uint8_t *in,
                                               uint8_t *out, size_t n, sd_err *err);
/* Wipes the key schedule and frees; accepts NULL. */
void crypto_xts_free(crypto_xts *x);

/* ---- AES-256-GCM ----------------------------------------------------- */

/* ct receives ptlen bytes, tag 16 bytes.  key is 32 bytes. */
SD_MUST_USE sd_code crypto_aead_seal(const sd_secret *key, const uint8_t iv[CRYPTO_GCM_IV_LEN],
                                     const uint8_t *aad, size_t aadlen, const uint8_t *pt,
                                     size_t ptlen, uint8_t *ct, uint8_t tag[CRYPTO_GCM_TAG_LEN],
                                     sd_err *err);
/* pt receives ctlen bytes.  SD_E_AUTH if the tag does not verify (wrong key,
 * tampered data or AAD); pt is then wiped. */
SD_MUST_USE sd_code crypto_aead_open(const sd_secret *key, const uint8_t iv[CRYPTO_GCM_IV_LEN],
                                     const uint8_t *aad, size_t aadlen, const uint8_t *ct,
                                     size_t ctlen, const uint8_t tag[CRYPTO_GCM_TAG_LEN],
                                     uint8_t *pt, sd_err *err);
/* The general GCM form for known-answer tests: any IV and tag length. */
SD_MUST_USE sd_code crypto_aead_seal_ex(const uint8_t *key, size_t keylen, const uint8_t *iv,
                                        size_t ivlen, const uint8_t *aad, size_t aadlen,
                                        const uint8_t *pt, size_t ptlen, uint8_t *ct, uint8_t *tag,
                                        size_t taglen, sd_err *err);
SD_MUST_USE sd_code crypto_aead_open_ex(const uint8_t *key, size_t keylen, const uint8_t *iv,
                                        size_t ivlen, const uint8_t *aad, size_t aadlen,
                                        const uint8_t *ct, size_t ctlen, const uint8_t *tag,
                                        size_t taglen, uint8_t *pt, sd_err *err);

/* ---- KDFs and hashes ------------------------------------------------- */

/* HKDF-SHA256 extract-and-expand (RFC 5869) into out[0..outlen). */
SD_MUST_USE sd_code crypto_hkdf_sha256(const uint8_t *ikm, size_t ikmlen, const uint8_t *salt,
                                       size_t saltlen, const uint8_t *info, size_t infolen,
                                       uint8_t *out, size_t outlen, sd_err *err);
/* scrypt (RFC 7914) into out[0..outlen). */
SD_MUST_USE sd_code crypto_scrypt(const uint8_t *pass, size_t passlen, const uint8_t *salt,
                                  size_t saltlen, uint64_t n, uint32_t r, uint32_t p, uint8_t *out,
                                  size_t outlen, sd_err *err);
SD_MUST_USE sd_code crypto_sha256(const uint8_t *in, size_t n, uint8_t out[CRYPTO_SHA256_LEN],
                                  sd_err *err);

typedef enum crypto_hmac_alg {
    CRYPTO_HMAC_SHA1,
    CRYPTO_HMAC_SHA256,
} crypto_hmac_alg;

/* out receives 20 (SHA1) or 32 (SHA256) bytes; *outlen says which. */
SD_MUST_USE sd_code crypto_hmac(crypto_hmac_alg alg, const uint8_t *key, size_t keylen,
                                const uint8_t *msg, size_t msglen, uint8_t out[CRYPTO_SHA256_LEN],
                                size_t *outlen, sd_err *err);

/* ---- TLS sessions (the NBD server's STARTTLS) --------------------------- */

/* A server-side TLS configuration (x509 or PSK) shared by every
 * connection; and one TLS session over a socket.  A PSK context's table of
 * identities may change while it serves (crypto_tls_ctx_psk_add/remove,
 * under its own lock); everything else is fixed once made. */
typedef struct crypto_tls_ctx crypto_tls_ctx;
typedef struct crypto_tls crypto_tls;

/* Caller owns *out.  A server context with an x509 certificate chain and
 * its private key (PEM files); TLS 1.2 and 1.3.  SD_E_INVALID: unreadable
 * or mismatched files. */
SD_MUST_USE sd_code crypto_tls_ctx_x509(const char *cert_file, const char *key_file,
                                        crypto_tls_ctx **out, sd_err *err);
/* Caller owns *out.  A server context with pre-shared keys from a file in
 * GnuTLS psktool format (one "identity:hexkey" line per client; the format
 * qemu's tls-creds-psk and libnbd's tls-psk-file read).  The keys live in
 * sd_secrets.  TLS 1.3 PSK with (EC)DHE, as GnuTLS clients do it, and TLS
 * 1.2 PSK suites.  psk_file NULL: the table starts empty (identities come
 * from crypto_tls_ctx_psk_add).  SD_E_INVALID: bad or empty file. */
SD_MUST_USE sd_code crypto_tls_ctx_psk(const char *psk_file, crypto_tls_ctx **out, sd_err *err);
/* Adds identity (1..128 bytes) with a copy of key (1..64 bytes) to a PSK
 * context; new handshakes accept it at once.  Thread-safe.
 * SD_E_INVALID: not a PSK context, bad sizes; SD_E_CONFLICT: identity
 * taken. */
SD_MUST_USE sd_code crypto_tls_ctx_psk_add(crypto_tls_ctx *c, const char *identity,
                                           const sd_secret *key, sd_err *err);
/* Forgets identity (its key is wiped); later handshakes with it fail,
 * sessions already made are untouched.  Unknown identities are ignored.
 * Thread-safe. */
void crypto_tls_ctx_psk_remove(crypto_tls_ctx *c, const char *identity);
/* Wipes the keys and frees; accepts NULL. */
void crypto_tls_ctx_free(crypto_tls_ctx *c);

/* Caller owns *out.  Runs the server side of a TLS handshake on the
 * connected socket fd (which stays the caller's; it is made non-blocking)
 * within timeout_ms.  SD_E_AUTH: the handshake failed (unknown PSK
 * identity, bad key, no common suite); SD_E_IO: the peer went away.
 * The process must ignore SIGPIPE (OpenSSL writes with write(2)). */
SD_MUST_USE sd_code crypto_tls_accept(const crypto_tls_ctx *c, int fd, int timeout_ms,
                                      crypto_tls **out, sd_err *err);
/* The PSK identity the peer authenticated with (borrowed, valid while t
 * lives), or NULL for a certificate session. */
const char *crypto_tls_psk_identity(const crypto_tls *t);
/* Reads 1..n bytes into buf; *got = 0 at the peer's orderly end.  Waits at
 * most the session's timeout (crypto_tls_set_timeout) for data. */
SD_MUST_USE sd_code crypto_tls_read(crypto_tls *t, void *buf, size_t n, size_t *got, sd_err *err);
/* Writes all n bytes. */
SD_MUST_USE sd_code crypto_tls_write(crypto_tls *t, const void *buf, size_t n, sd_err *err);
/* How long crypto_tls_read waits for data: milliseconds, -1 = forever. */
void crypto_tls_set_timeout(crypto_tls *t, int timeout_ms);
/* Sends close_notify, best effort and without waiting. */
void crypto_tls_close(crypto_tls *t);
/* Frees the session (not the fd); accepts NULL.
 * Thread model: one reader and any number of writers may use a session at
 * once (calls are serialised inside); close and free need exclusive use. */
void crypto_tls_free(crypto_tls *t);

/* ---- the API's certificate -------------------------------------------- */

/* "sha256//" + 44 base64 characters + NUL. */
#define CRYPTO_PIN_CAP 53

/* Writes a fresh EC P-256 key (key_file, 0600) and a self-signed
 * certificate for localhost, 127.0.0.1 and ::1 (cert_file, PEM, valid ten
 * years), each through a temporary file and rename.  SD_E_IO: cannot
 * write. */
SD_MUST_USE sd_code crypto_cert_self_signed(const char *cert_file, const char *key_file,
                                            sd_err *err);
/* The pin of the first certificate's public key in cert_file, as libcurl's
 * CURLOPT_PINNEDPUBLICKEY takes it: "sha256//" + base64 of the SHA-256 of
 * its DER SubjectPublicKeyInfo.  SD_E_INVALID: no PEM certificate. */
SD_MUST_USE sd_code crypto_cert_pin(const char *cert_file, char out[CRYPTO_PIN_CAP], sd_err *err);

/* ---- RSA (BYOK wrapping keys) ---------------------------------------- */

typedef enum crypto_rsa_pad {
    CRYPTO_RSA_OAEP_SHA256,
    CRYPTO_RSA_OAEP_SHA1,
    CRYPTO_RSA_PKCS1_V15,
} crypto_rsa_pad;

typedef struct crypto_rsa crypto_rsa;

/* Caller owns *out: a fresh key pair of `bits` bits (2048 for BYOK). */
SD_MUST_USE sd_code crypto_rsa_generate(unsigned bits, crypto_rsa **out, sd_err *err);
/* Caller owns *out: the key pair from a PKCS#8 DER private key. */
SD_MUST_USE sd_code crypto_rsa_from_private_der(const uint8_t *der, size_t n, crypto_rsa **out,
                                                sd_err *err);
/* Caller owns *out: the PKCS#8 DER private key, in locked memory. */
SD_MUST_USE sd_code crypto_rsa_private_der(const crypto_rsa *k, sd_secret **out, sd_err *err);
/* Appends the DER SubjectPublicKeyInfo to out. */
SD_MUST_USE sd_code crypto_rsa_public_der(const crypto_rsa *k, sd_buf *out, sd_err *err);
/* Caller owns *out: the unwrapped bytes.  SD_E_AUTH when the ciphertext does
 * not decrypt under this key and padding (PKCS#1 v1.5 uses implicit
 * rejection, so a wrong ciphertext usually yields random bytes instead:
 * callers check the length and, on re-import, the content). */
SD_MUST_USE sd_code crypto_rsa_unwrap(const crypto_rsa *k, crypto_rsa_pad pad, const uint8_t *ct,
                                      size_t ctlen, sd_secret **out, sd_err *err);
void crypto_rsa_free(crypto_rsa *k);

#endif
