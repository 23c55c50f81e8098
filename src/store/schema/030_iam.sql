-- IAM: accounts and their AccessKeys.  An AccessKeySecret is never stored
-- in plaintext: `sealed` is IV (12) || AES-256-GCM ciphertext || tag (16)
-- under the IAM wrapping key, with the AccessKeyId as AAD.  iam_meta holds
-- the wrapping-key check value (a sealed constant).
CREATE TABLE iam_meta (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
CREATE TABLE iam_accounts (
    account_id TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created    INTEGER NOT NULL
);
CREATE TABLE iam_keys (
    access_key_id TEXT PRIMARY KEY,
    account_id    TEXT NOT NULL REFERENCES iam_accounts (account_id),
    active        INTEGER NOT NULL,
    created       INTEGER NOT NULL,
    sealed        BLOB NOT NULL
);
CREATE INDEX iam_keys_account ON iam_keys (account_id);
