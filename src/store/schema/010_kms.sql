-- KMS: customer master keys, their versions (material wrapped under the
-- root key, never plaintext), aliases and tags.  Scoped by account and
-- region.  Listing order is rowid (creation order).
CREATE TABLE kms_meta (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
CREATE TABLE kms_keys (
    key_id           TEXT PRIMARY KEY,
    account          TEXT NOT NULL,
    region           TEXT NOT NULL,
    description      TEXT NOT NULL DEFAULT '',
    usage            TEXT NOT NULL,
    spec             TEXT NOT NULL,
    origin           TEXT NOT NULL,
    protection       TEXT NOT NULL,
    state            TEXT NOT NULL,
    creator          TEXT NOT NULL,
    created          INTEGER NOT NULL,
    delete_at        INTEGER NOT NULL DEFAULT 0,
    rotation_seconds INTEGER NOT NULL DEFAULT 0,
    last_rotation    INTEGER NOT NULL DEFAULT 0,
    primary_version  TEXT NOT NULL DEFAULT '',
    material_expire  INTEGER NOT NULL DEFAULT 0,
    service          INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX kms_keys_owner ON kms_keys (account, region);
CREATE TABLE kms_versions (
    version_id TEXT PRIMARY KEY,
    key_id     TEXT NOT NULL REFERENCES kms_keys (key_id),
    created    INTEGER NOT NULL,
    wrapped    BLOB NOT NULL
);
CREATE INDEX kms_versions_key ON kms_versions (key_id);
CREATE TABLE kms_aliases (
    account TEXT NOT NULL,
    region  TEXT NOT NULL,
    alias   TEXT NOT NULL,
    key_id  TEXT NOT NULL REFERENCES kms_keys (key_id),
    PRIMARY KEY (account, region, alias)
);
CREATE INDEX kms_aliases_key ON kms_aliases (key_id);
CREATE TABLE kms_tags (
    key_id    TEXT NOT NULL REFERENCES kms_keys (key_id),
    tag_key   TEXT NOT NULL,
    tag_value TEXT NOT NULL,
    PRIMARY KEY (key_id, tag_key)
);
