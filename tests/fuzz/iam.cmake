# Parsers of outside bytes in iam/: the query/form parser and the signature
# canonicaliser (v1 and V3).
sd_fuzz_target(iam_query LIBS sd_iam)
sd_fuzz_target(iam_canon LIBS sd_iam)
