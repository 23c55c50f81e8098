/* srv_int.h: what the server module's files share. */
#ifndef SD_SRV_INT_H
#define SD_SRV_INT_H

#include "kms/kms.h"
#include "server/srv.h"

/* Loads the configured root key and opens the KMS over DATA_DIR/meta.db;
 * create: make the root key (file or salt) when absent (the server's
 * first start), never for other commands.  SD_E_AUTH when the root key is
 * not the data directory's; SD_E_INVALID when the directory's key comes
 * from the other provider (nothing written). */
SD_MUST_USE sd_code srv__open_kms(const srv_config *c, bool create, kms_rootkey **root, kms **k,
                                  sd_err *err);

#include "iam/iam.h"

/* Opens iam (AccessKey secrets sealed under a key derived from root). */
SD_MUST_USE sd_code srv__open_iam(const srv_config *c, const kms_rootkey *root, iam **out,
                                  sd_err *err);
/* On an empty data directory, creates the root account and AccessKey,
 * prints them once and writes the CLI profile pointing at endpoint (with
 * the API certificate's pin tls_pin, NULL for none); called
 * once the server is up, so a start that fails shows and writes nothing. */
SD_MUST_USE sd_code srv__first_start(const srv_config *c, iam *accounts, const char *endpoint,
                                     const char *tls_pin, sd_err *err);

/* The API's certificate and key files (cert, key: 600 bytes each) and the
 * certificate's public-key pin when api_tls is on; with the default paths
 * a missing pair is made (self-signed, DATA_DIR/tls).  SD_E_INVALID: a
 * configured file is missing or unreadable, or the key does not match. */
SD_MUST_USE sd_code srv__api_tls(const srv_config *c, char *cert, char *key, char *pin,
                                 sd_err *err);

/* A thread that runs kms_tick every `seconds` (rotations, deletions). */
typedef struct srv_ticker srv_ticker;
SD_MUST_USE sd_code srv__ticker_start(kms *k, unsigned seconds, srv_ticker **out, sd_err *err);
void srv__ticker_stop(srv_ticker *t);

/* The block store, the NBD server (a socket per running instance in
 * DATA_DIR/nbd/, TCP with per-instance TLS PSKs) and ECS over them. */
typedef struct srv_dataplane srv_dataplane;
struct ecs;
SD_MUST_USE sd_code srv__dataplane_open(const srv_config *c, kms *k, iam *accounts,
                                        srv_dataplane **out, sd_err *err);
struct ecs *srv__dataplane_ecs(srv_dataplane *dp);
void srv__dataplane_close(srv_dataplane *dp);

/* Embedded defaults, then the config file, then flags (argv[0] is the
 * command word). */
SD_MUST_USE sd_code srv__configure(srv_config *c, int argc, char **argv, bool *help, sd_err *err);

/* Prints `sealdisk server --help` to stdout. */
void srv__usage(void);

#endif
