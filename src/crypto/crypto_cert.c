/* crypto_cert.c: the API's self-signed certificate and public-key pins.
 *
 * At its first start the server makes a certificate for local use: an EC
 * P-256 key, a self-signed x509 v3 certificate for localhost, 127.0.0.1
 * and ::1 (serverAuth, valid ten years), written as PEM.  The key file is
 * created 0600 and both files go through a temporary file and rename, so a
 * crash leaves either nothing or a whole file.  Clients trust it by its
 * pin, libcurl's form "sha256//" + base64(SHA-256(SubjectPublicKeyInfo)),
 * or by using the certificate itself as their CA file. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/sd_b64.h"
#include "crypto/crypto_int.h"

#define VALID_DAYS 3650L

/* Writes PEM through path.tmp (created with mode) and renames it to path. */
static sd_code write_pem(const char *path, mode_t mode, EVP_PKEY *key, X509 *cert, sd_err *err)
{
    sd_code rc = SD_OK;
    char tmp[600];
    int fd = -1;
    FILE *f = NULL;
    int ok;

    SD_ENSURE(snprintf(tmp, sizeof tmp, "%s.tmp", path) < (int)sizeof tmp, err, SD_E_INVALID,
              "path too long: %s", path);
    (void)unlink(tmp); /* a leftover of a crash; O_EXCL below */
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    SD_ENSURE(fd >= 0, err, SD_E_IO, "cannot create %s", tmp);
    f = fdopen(fd, "w");
    SD_ENSURE(f != NULL, err, SD_E_IO, "cannot write %s", tmp);
    fd = -1;
    ok = key != NULL ? PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL)
                     : PEM_write_X509(f, cert);
    SD_ENSURE(ok == 1 && fflush(f) == 0 && fsync(fileno(f)) == 0, err, SD_E_IO, "cannot write %s",
              tmp);
    ok = fclose(f);
    f = NULL;
    SD_ENSURE(ok == 0, err, SD_E_IO, "cannot write %s", tmp);
    SD_ENSURE(rename(tmp, path) == 0, err, SD_E_IO, "cannot replace %s", path);
out:
    if (f != NULL) {
        (void)fclose(f); /* failing anyway */
    }
    if (fd >= 0) {
        close(fd);
    }
    if (rc != SD_OK) {
        (void)unlink(tmp);
    }
    return rc;
}

static sd_code add_ext(X509 *cert, int nid, const char *value, sd_err *err)
{
    sd_code rc = SD_OK;
    X509V3_CTX v3;
    X509_EXTENSION *ext = NULL;

    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, cert, cert, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
    SD_ENSURE(ext != NULL, err, SD_E_INTERNAL, "cannot make the extension %s", value);
    SD_ENSURE_OSSL(X509_add_ext(cert, ext, -1), err, "cannot add the extension %s", value);
out:
    X509_EXTENSION_free(ext);
    return rc;
}

sd_code crypto_cert_self_signed(const char *cert_file, const char *key_file, sd_err *err)
{
    sd_code rc = SD_OK;
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    X509_NAME *name = NULL;
    uint8_t serial[16];
    BIGNUM *bn = NULL;

    key = EVP_EC_gen("P-256");
    SD_ENSURE(key != NULL, err, SD_E_INTERNAL, "cannot make an EC P-256 key");
    cert = X509_new();
    SD_ENSURE(cert != NULL, err, SD_E_NOMEM, "out of memory");
    SD_ENSURE_OSSL(X509_set_version(cert, 2), err, "X509_set_version failed");
    SD_TRY(crypto_rng_fill(serial, sizeof serial, err));
    serial[0] &= 0x7f; /* a positive serial number */
    bn = BN_bin2bn(serial, sizeof serial, NULL);
    SD_ENSURE(bn != NULL && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != NULL, err,
              SD_E_INTERNAL, "cannot set the serial number");
    SD_ENSURE(X509_gmtime_adj(X509_getm_notBefore(cert), -3600) != NULL &&
                  X509_gmtime_adj(X509_getm_notAfter(cert), VALID_DAYS * 86400) != NULL,
              err, SD_E_INTERNAL, "cannot set the validity");
    name = X509_get_subject_name(cert);
    SD_ENSURE_OSSL(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                              (const unsigned char *)"sealdisk", -1, -1, 0),
                   err, "cannot set the subject");
    SD_ENSURE_OSSL(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                              (const unsigned char *)"localhost", -1, -1, 0),
                   err, "cannot set the subject");
    SD_ENSURE_OSSL(X509_set_issuer_name(cert, name), err, "cannot set the issuer");
    SD_ENSURE_OSSL(X509_set_pubkey(cert, key), err, "cannot set the public key");
    SD_TRY(add_ext(cert, NID_basic_constraints, "critical,CA:FALSE", err));
    SD_TRY(add_ext(cert, NID_key_usage, "critical,digitalSignature", err));
    SD_TRY(add_ext(cert, NID_ext_key_usage, "serverAuth", err));
    SD_TRY(add_ext(cert, NID_subject_key_identifier, "hash", err));
    SD_TRY(add_ext(cert, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1", err));
    SD_ENSURE(X509_sign(cert, key, EVP_sha256()) > 0, err, SD_E_INTERNAL,
              "cannot sign the certificate");
    SD_TRY(write_pem(key_file, 0600, key, NULL, err));
    SD_TRY(write_pem(cert_file, 0644, NULL, cert, err));
out:
    ERR_clear_error();
    BN_free(bn);
    X509_free(cert);
    EVP_PKEY_free(key);
    return rc;
}

sd_code crypto_cert_pin(const char *cert_file, char out[CRYPTO_PIN_CAP], sd_err *err)
{
    sd_code rc = SD_OK;
    FILE *f = NULL;
    X509 *cert = NULL;
    unsigned char *der = NULL;
    int n;
    uint8_t digest[CRYPTO_SHA256_LEN];

    f = fopen(cert_file, "rbe");
    SD_ENSURE(f != NULL, err, SD_E_INVALID, "cannot read %s", cert_file);
    cert = PEM_read_X509(f, NULL, NULL, NULL);
    SD_ENSURE(cert != NULL, err, SD_E_INVALID, "%s holds no PEM certificate", cert_file);
    n = i2d_PUBKEY(X509_get0_pubkey(cert), &der);
    SD_ENSURE(n > 0, err, SD_E_INTERNAL, "cannot encode the public key of %s", cert_file);
    SD_TRY(crypto_sha256(der, (size_t)n, digest, err));
    memcpy(out, "sha256//", sizeof "sha256//");
    SD_TRY(sd_b64_encode(digest, sizeof digest, out + 8, CRYPTO_PIN_CAP - 8, err));
out:
    ERR_clear_error();
    OPENSSL_free(der);
    X509_free(cert);
    if (f != NULL) {
        (void)fclose(f); /* read only */
    }
    return rc;
}
