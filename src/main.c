/* main.c: `sealdisk <command> ...` argv dispatch, and nothing else.
 *
 * Each command is one row of the table below, implemented by the module
 * that owns it; main.c only glues modules together where a command needs
 * more than one of them. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "common/common.h"
#include "server/srv.h"

typedef int (*cmd_fn)(int argc, char **argv);

typedef struct cmd {
    const char *name;
    cmd_fn fn;
    const char *help;
} cmd;

static int cmd_version(int argc, char **argv);
static int cmd_help(int argc, char **argv);

static const cmd commands[] = {
    {"server", srv_main, "run the KMS and ECS APIs and the NBD data plane"},
    {"account", srv_account_main, "create an account and its AccessKey (on the server's host)"},
    {"kms", cli_product_main, "call a KMS action: sealdisk kms <Action> --Param value ..."},
    {"ecs", cli_product_main, "call an ECS action: sealdisk ecs <Action> --Param value ..."},
    {"ram", cli_product_main, "call a RAM action (the ECS service role)"},
    {"verify-encryption", cli_verify_main,
     "check encryption at rest: disable an instance's CMKs, restart it (R16)"},
    {"audit", srv_audit_main, "print the KMS audit log (on the server's host)"},
    {"gc", srv_gc_main, "remove (--dry-run: list) orphan block objects; not while a server runs"},
    {"nbd-serve", srv_nbd_main, "serve one disk of a local block store over NBD (developers)"},
    {"version", cmd_version, "print the version"},
    {"help", cmd_help, "list the commands"},
    /* the spellings every first-time user tries; not listed by help */
    {"--help", cmd_help, NULL},
    {"-h", cmd_help, NULL},
    {"--version", cmd_version, NULL},
};

static int cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("sealdisk %s\n", SD_VERSION);
    return 0;
}

static int cmd_help(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("usage: sealdisk <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (commands[i].help != NULL) {
            printf("  %-18s %s\n", commands[i].name, commands[i].help);
        }
    }
    printf("\n'sealdisk kms --help' lists the KMS actions (likewise ecs, ram), and\n"
           "'sealdisk kms <Action> --help' an action's parameters.\n");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        sd_ignore((sd_code)cmd_help(argc, argv)); /* usage goes out, exit says misuse */
        return 2;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(argv[1], commands[i].name) == 0) {
            return commands[i].fn(argc - 1, argv + 1);
        }
    }
    (void)fprintf(stderr, "sealdisk: unknown command '%s' (try 'sealdisk help')\n", argv[1]);
    return 2;
}
