-- KMS BYOK: the RSA wrapping key and import token of an EXTERNAL key
-- (private key stored only wrapped under the root key), and a check value
-- of the first imported material so a re-import must bring the same bytes.
CREATE TABLE kms_imports (
    key_id    TEXT PRIMARY KEY REFERENCES kms_keys (key_id),
    token     TEXT NOT NULL,
    algorithm TEXT NOT NULL,
    expires   INTEGER NOT NULL,
    wrapped   BLOB NOT NULL
);
CREATE TABLE kms_material_check (
    key_id TEXT PRIMARY KEY REFERENCES kms_keys (key_id),
    kcv    BLOB NOT NULL
);
