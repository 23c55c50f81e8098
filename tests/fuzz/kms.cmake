# Parsers of outside bytes in kms/: the EncryptionContext JSON and the blob.
sd_fuzz_target(kms_ctx LIBS sd_kms)
sd_fuzz_target(kms_blob LIBS sd_kms)
