-- SignatureNonces of authenticated requests, each kept until its request's
-- timestamp leaves the accepted window (expires, Unix seconds), so a
-- captured request cannot be replayed after a restart, nor on another node
-- sharing the store.  The key starts with the AccessKeyId: one key's nonces
-- never collide with, evict or crowd out another's.  Rows past expires are
-- dead and purged lazily (iam_nonce.c).
CREATE TABLE iam_nonces (
    access_key_id TEXT NOT NULL,
    nonce         TEXT NOT NULL,
    expires       INTEGER NOT NULL,
    PRIMARY KEY (access_key_id, nonce)
);
CREATE INDEX iam_nonces_expires ON iam_nonces (expires);
