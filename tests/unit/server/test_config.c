/* test_config.c: the server's configuration: defaults, file, flags, the
 * order in which they win, and every refusal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "server/srv.h"

static char path[64];

static void write_conf(const char *text)
{
    int fd;
    snprintf(path, sizeof path, "/tmp/sd-conf-XXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static void config_defaults_are_the_embedded_ones(void **state)
{
    srv_config c;

    (void)state;
    srv_config_defaults(&c);
    assert_string_equal(c.listen_addr, "127.0.0.1");
    assert_int_equal(c.listen_port, 8080);
    assert_string_equal(c.region, "cn-hangzhou");
    assert_string_equal(c.root_key, "file");
    assert_string_equal(c.passphrase_env, "SEALDISK_ROOT_PASSPHRASE");
    assert_int_equal(c.passphrase_fd, -1);
    assert_true(c.data_dir[0] == '/');
    assert_true(c.user_rate == 1000 && c.user_burst == 2000);
}

static void config_file_then_flags_win(void **state)
{
    srv_config c;
    const char *cfg = NULL;
    bool help = true;
    char *argv[] = {(char[]){"server"}, (char[]){"--region"}, (char[]){"cn-shanghai"},
                    (char[]){"--listen=0.0.0.0:9000"}, NULL};

    (void)state;
    write_conf("listen = 127.0.0.2:7000\nregion = eu-central-1\nroot_key = passphrase\n"
               "http_threads = 8\nuser_rate_limit = 50\nuser_rate_burst = 0\n"
               "replay_cache_entries = 4096\n");
    srv_config_defaults(&c);
    assert_int_equal(srv_config_load(&c, path, NULL), SD_OK);
    assert_string_equal(c.listen_addr, "127.0.0.2");
    assert_int_equal(c.listen_port, 7000);
    assert_int_equal(c.http_threads, 8);
    assert_true(c.user_rate == 50 && c.user_burst == 0);
    assert_string_equal(c.root_key, "passphrase");
    assert_int_equal(srv_config_flags(&c, 4, argv, &cfg, &help, NULL), SD_OK);
    assert_false(help);
    assert_null(cfg);
    assert_string_equal(c.region, "cn-shanghai");
    assert_string_equal(c.listen_addr, "0.0.0.0");
    assert_int_equal(c.listen_port, 9000);
    unlink(path);
}

static void config_nbd_limits_default_to_the_nbd_servers_and_are_read(void **state)
{
    srv_config c;
    char *argv[] = {(char[]){"server"}, (char[]){"--nbd-preauth-per-address=2"}, NULL};
    const char *cfg = NULL;
    bool help = true;

    (void)state;
    srv_config_defaults(&c);
    /* 0: nbds_opts' own defaults, documented once in docs/configuration.md */
    assert_int_equal(c.nbd_handshake_timeout, 0);
    assert_int_equal(c.nbd_tls_timeout, 0);
    assert_int_equal(c.nbd_payload_timeout, 0);
    assert_int_equal(c.nbd_preauth_conns, 0);
    assert_int_equal(c.nbd_preauth_per_address, 0);
    write_conf("nbd_handshake_timeout = 20\nnbd_tls_timeout = 3\nnbd_payload_timeout = 60\n"
               "nbd_preauth_conns = 32\nnbd_preauth_per_address = 8\n");
    assert_int_equal(srv_config_load(&c, path, NULL), SD_OK);
    assert_int_equal(c.nbd_handshake_timeout, 20);
    assert_int_equal(c.nbd_tls_timeout, 3);
    assert_int_equal(c.nbd_payload_timeout, 60);
    assert_int_equal(c.nbd_preauth_conns, 32);
    assert_int_equal(c.nbd_preauth_per_address, 8);
    assert_int_equal(srv_config_flags(&c, 2, argv, &cfg, &help, NULL), SD_OK);
    assert_int_equal(c.nbd_preauth_per_address, 2);
    unlink(path);
}

static void config_file_refuses_unknown_keys_and_bad_values(void **state)
{
    static const char *const bad[] = {
        "colour = blue\n",
        "listen = 127.0.0.1\n",
        "listen = 127.0.0.1:70000\n",
        "root_key = hsm\n",
        "http_threads = 0\n",
        "http_threads = -3\n",
        "passphrase_fd = x\n",
        "region = \n",
        "region = CN_Hangzhou\n",
        "regions = cn-shanghai,\n",
        "regions = cn-shanghai,,eu-west-1\n",
        "regions = cn shanghai\n",
        "regions = a,b,c,d,e,f,g,h,i\n",
        "regions = -x\n",
        "zones = cn-hangzhou-h,\n",
        "zones = Cn-Hangzhou-H\n",
        "nbd_handshake_timeout = 0\n",
        "nbd_handshake_timeout = 3601\n",
        "nbd_tls_timeout = -1\n",
        "nbd_payload_timeout = 30s\n",
        "nbd_preauth_conns = 0\n",
        "nbd_preauth_per_address = 4097\n",
        "api_tls = yes\n",
        "api_tls = \n",
        "api_insecure_http = on\n",
        "api_tls_cert = \n",
        "user_rate_limit = -1\n",
        "user_rate_burst = lots\n",
        "nbd_socket_mode = 0666\n",
        "nbd_socket_mode = 0640\n",
        "nbd_socket_owner = no-such-user-here\n",
        "nbd_socket_group = no-such-group-here\n",
        "nbd_socket_owner = 99999999999\n",
    };
    srv_config c;

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sd_err err = SD_ERR_INIT;
        write_conf(bad[i]);
        srv_config_defaults(&c);
        assert_int_equal(srv_config_load(&c, path, &err), SD_E_INVALID);
        assert_true(err.msg[0] != '\0');
        unlink(path);
    }
    assert_int_equal(srv_config_load(&c, "/nonexistent/sealdisk.conf", NULL), SD_E_NOT_FOUND);
}

/* HTTPS is the default; plain HTTP off loopback needs a second key. */
static void config_api_tls_keys(void **state)
{
    srv_config c;

    (void)state;
    srv_config_defaults(&c);
    assert_true(c.api_tls);
    assert_false(c.api_insecure_http);
    assert_string_equal(c.api_tls_cert, "");
    assert_string_equal(c.api_tls_key, "");
    write_conf("api_tls = off\napi_insecure_http = true\napi_tls_cert = /etc/a.crt\n"
               "api_tls_key = /etc/a.key\n");
    assert_int_equal(srv_config_load(&c, path, NULL), SD_OK);
    unlink(path);
    assert_false(c.api_tls);
    assert_true(c.api_insecure_http);
    assert_string_equal(c.api_tls_cert, "/etc/a.crt");
    assert_string_equal(c.api_tls_key, "/etc/a.key");
    write_conf("api_tls = on\napi_insecure_http = false\n");
    assert_int_equal(srv_config_load(&c, path, NULL), SD_OK);
    unlink(path);
    assert_true(c.api_tls);
    assert_false(c.api_insecure_http);
}

static void config_block_backend_keys(void **state)
{
    srv_config c;

    (void)state;
    srv_config_defaults(&c);
    assert_false(c.block_rados);
    assert_string_equal(c.rados_conf, "/etc/ceph/ceph.conf");
    assert_string_equal(c.rados_pool, "sealdisk");
    assert_string_equal(c.rados_id, "admin");
    write_conf("block_backend = rados\nrados_conf = /c/ceph.conf\nrados_pool = p\n"
               "rados_id = sd\n");
    assert_int_equal(srv_config_load(&c, path, NULL), SD_OK);
    unlink(path);
    assert_true(c.block_rados);
    assert_string_equal(c.rados_conf, "/c/ceph.conf");
    assert_string_equal(c.rados_pool, "p");
    assert_string_equal(c.rados_id, "sd");
    write_conf("block_backend = local\n");
    assert_int_equal(srv_config_load(&c, path, NULL), SD_OK);
    unlink(path);
    assert_false(c.block_rados);
    /* the twin: no third backend */
    write_conf("block_backend = ceph\n");
    assert_int_equal(srv_config_load(&c, path, NULL), SD_E_INVALID);
    unlink(path);
    assert_false(c.block_rados);
}

static void config_sets_the_instance_sockets_mode_and_owner(void **state)
{
    srv_config c;

    (void)state;
    srv_config_defaults(&c);
    assert_int_equal(c.nbd_socket_mode, 0600);
    assert_int_equal(c.nbd_socket_uid, -1);
    assert_int_equal(c.nbd_socket_gid, -1);
    write_conf("nbd_socket_mode = 0660\nnbd_socket_owner = root\nnbd_socket_group = 4242\n");
    assert_int_equal(srv_config_load(&c, path, NULL), SD_OK);
    unlink(path);
    assert_int_equal(c.nbd_socket_mode, 0660);
    assert_int_equal(c.nbd_socket_uid, 0);
    assert_int_equal(c.nbd_socket_gid, 4242);
}

static void config_regions_list_the_default_first_once(void **state)
{
    srv_config c;
    const char *r[SRV_REGIONS_MAX + 1];

    (void)state;
    srv_config_defaults(&c);
    assert_int_equal(srv_config_regions(&c, r), 1);
    assert_string_equal(r[0], "cn-hangzhou");
    write_conf("region = cn-shanghai\nregions = eu-central-1,cn-shanghai,ap-southeast-1\n");
    assert_int_equal(srv_config_load(&c, path, NULL), SD_OK);
    unlink(path);
    assert_int_equal(srv_config_regions(&c, r), 3);
    assert_string_equal(r[0], "cn-shanghai");
    assert_string_equal(r[1], "eu-central-1");
    assert_string_equal(r[2], "ap-southeast-1");
    write_conf("zones = cn-shanghai-b,ap-southeast-1a\n");
    assert_int_equal(srv_config_load(&c, path, NULL), SD_OK);
    unlink(path);
    assert_int_equal(c.nzones, 2);
    assert_string_equal(c.zones[1], "ap-southeast-1a");
}

static void config_flags_refuse_unknown_options_and_missing_values(void **state)
{
    srv_config c;
    const char *cfg = NULL;
    bool help = false;
    char *unknown[] = {(char[]){"server"}, (char[]){"--colour"}, (char[]){"blue"}, NULL};
    char *missing[] = {(char[]){"server"}, (char[]){"--region"}, NULL};
    char *passphrase[] = {(char[]){"server"}, (char[]){"--passphrase"}, (char[]){"hunter2"}, NULL};
    char *helpv[] = {(char[]){"server"}, (char[]){"--config"}, (char[]){"/x.conf"},
                     (char[]){"--help"}, NULL};

    (void)state;
    srv_config_defaults(&c);
    assert_int_equal(srv_config_flags(&c, 3, unknown, &cfg, &help, NULL), SD_E_INVALID);
    assert_int_equal(srv_config_flags(&c, 2, missing, &cfg, &help, NULL), SD_E_INVALID);
    /* secrets are never taken from argv: there is no such flag */
    assert_int_equal(srv_config_flags(&c, 3, passphrase, &cfg, &help, NULL), SD_E_INVALID);
    assert_int_equal(srv_config_flags(&c, 4, helpv, &cfg, &help, NULL), SD_OK);
    assert_true(help);
    assert_string_equal(cfg, "/x.conf");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(config_defaults_are_the_embedded_ones),
        cmocka_unit_test(config_file_then_flags_win),
        cmocka_unit_test(config_nbd_limits_default_to_the_nbd_servers_and_are_read),
        cmocka_unit_test(config_file_refuses_unknown_keys_and_bad_values),
        cmocka_unit_test(config_api_tls_keys),
        cmocka_unit_test(config_block_backend_keys),
        cmocka_unit_test(config_flags_refuse_unknown_options_and_missing_values),
        cmocka_unit_test(config_sets_the_instance_sockets_mode_and_owner),
        cmocka_unit_test(config_regions_list_the_default_first_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
