# Parsers of outside bytes in server/ and cli/: the server's configuration
# file and the CLI's profile, each through its real loading code.
sd_fuzz_target(srv_config LIBS sd_server)
sd_fuzz_target(cli_profile LIBS sd_cli)
