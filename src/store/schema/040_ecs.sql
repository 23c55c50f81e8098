-- ECS: disks, snapshots, instances and per-region account settings.
-- A disk's data live in the block store under its disk_id; an encrypted
-- disk (and its snapshots) keep only the ciphertext blob of their data key
-- (dk_blob), never the key.  lineage names the data key's lineage: a
-- snapshot and the disks cloned from it share it (and the DK).
CREATE TABLE ecs_settings (
    account     TEXT NOT NULL,
    region      TEXT NOT NULL,
    encrypt_default INTEGER NOT NULL DEFAULT 0,
    default_key TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (account, region)
);
CREATE TABLE ecs_disks (
    disk_id      TEXT PRIMARY KEY,
    account      TEXT NOT NULL,
    region       TEXT NOT NULL,
    zone         TEXT NOT NULL,
    name         TEXT NOT NULL,
    description  TEXT NOT NULL,
    category     TEXT NOT NULL,
    type         TEXT NOT NULL,
    size_gib     INTEGER NOT NULL,
    encrypted    INTEGER NOT NULL,
    kms_key_id   TEXT NOT NULL,
    dk_blob      BLOB,
    source_snapshot_id TEXT NOT NULL,
    image_id     TEXT NOT NULL,
    instance_id  TEXT NOT NULL,
    device       TEXT NOT NULL,
    delete_with_instance INTEGER NOT NULL,
    created      INTEGER NOT NULL,
    attached     INTEGER NOT NULL,
    detached     INTEGER NOT NULL,
    client_token TEXT,
    request_hash TEXT
);
CREATE INDEX ecs_disks_owner ON ecs_disks (account, region);
CREATE UNIQUE INDEX ecs_disks_token ON ecs_disks (account, client_token)
    WHERE client_token IS NOT NULL;
CREATE TABLE ecs_snapshots (
    snapshot_id  TEXT PRIMARY KEY,
    account      TEXT NOT NULL,
    region       TEXT NOT NULL,
    name         TEXT NOT NULL,
    description  TEXT NOT NULL,
    source_disk_id   TEXT NOT NULL,
    source_disk_size INTEGER NOT NULL,
    source_disk_type TEXT NOT NULL,
    encrypted    INTEGER NOT NULL,
    kms_key_id   TEXT NOT NULL,
    dk_blob      BLOB,
    created      INTEGER NOT NULL
);
CREATE INDEX ecs_snapshots_owner ON ecs_snapshots (account, region);
CREATE TABLE ecs_instances (
    instance_id  TEXT PRIMARY KEY,
    account      TEXT NOT NULL,
    region       TEXT NOT NULL,
    zone         TEXT NOT NULL,
    name         TEXT NOT NULL,
    description  TEXT NOT NULL,
    instance_type TEXT NOT NULL,
    image_id     TEXT NOT NULL,
    status       TEXT NOT NULL,
    created      INTEGER NOT NULL,
    started      INTEGER NOT NULL,
    client_token TEXT
);
CREATE INDEX ecs_instances_owner ON ecs_instances (account, region);
