/* sd_profile: the client profile file (~/.sealdisk/profile), which the
 * server writes at its first start and the CLI reads.  Both sides use
 * this one unit, so the format lives in one place and the server does not
 * depend on the client.
 *
 * The file is an sd_kv file: endpoint, region, access_key_id,
 * access_key_secret, signature (v3 or v1), and for an https endpoint
 * tls_pin (the server key's "sha256//..." pin) and ca_file.
 * Thread model: a profile belongs to one thread; sd_profile_default_path
 * reads the environment (start-up only). */
#ifndef SD_PROFILE_H
#define SD_PROFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/sd_err.h"
#include "common/sd_secret.h"

typedef struct sd_profile {
    char endpoint[256]; /* host:port (HTTP), http://host:port or https://host:port */
    char tls_pin[64];   /* "sha256//base64": the server's public key must be this one */
    char ca_file[512];  /* PEM CAs the server's certificate must chain to */
    char region[64];
    char access_key_id[128];
    sd_secret *access_key_secret; /* owned */
    bool sign_v1;                 /* RPC v1 (HMAC-SHA1) instead of V3 */
} sd_profile;

/* The default profile path into out ($SEALDISK_PROFILE or
 * ~/.sealdisk/profile).  SD_E_INVALID when neither is set or it is too
 * long. */
SD_MUST_USE sd_code sd_profile_default_path(char *out, size_t cap, sd_err *err);
/* Reads the file at path over *p: each field the file names replaces p's
 * (p->access_key_secret is replaced, the old one freed).  SD_E_NOT_FOUND
 * when there is no file; SD_E_INVALID names a malformed field.  On failure
 * p may hold some of the file's fields. */
SD_MUST_USE sd_code sd_profile_read(const char *path, sd_profile *p, sd_err *err);
/* Writes a profile (0600 in a 0700 directory, created or replaced
 * atomically: a reader never sees half of it); the server's first start
 * uses it.  tls_pin may be NULL or "". */
SD_MUST_USE sd_code sd_profile_write(const char *path, const char *endpoint, const char *tls_pin,
                                     const char *region, const char *access_key_id,
                                     const sd_secret *secret, sd_err *err);
/* Frees the secret (wiped); accepts a profile without one. */
void sd_profile_clear(sd_profile *p);

#endif
