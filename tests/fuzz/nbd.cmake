# Parsers of outside bytes in nbd/: the handshake (options) and the request
# stream, both over an in-memory export through a socketpair.
sd_fuzz_target(nbd_handshake LIBS sd_nbd Threads::Threads)
sd_fuzz_target(nbd_requests LIBS sd_nbd Threads::Threads)
