# Parsers of outside bytes in common/.
sd_fuzz_target(b64 LIBS sd_common)
sd_fuzz_target(kv LIBS sd_common)
sd_fuzz_target(json LIBS sd_common)
