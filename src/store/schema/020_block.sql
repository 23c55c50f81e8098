-- Block store: the layer chains of disks and snapshots.  A layer's bytes are
-- the backend objects "<id>.data" and "<id>.map"; these rows only say how
-- layers stack.  A layer's reference count is the number of rows that name
-- it (disks whose top it is, snapshots, child layers); it is counted, not
-- stored, so it cannot drift.  Frozen layers never change again.
CREATE TABLE blk_layers (
    id     TEXT PRIMARY KEY,
    parent TEXT REFERENCES blk_layers (id),
    size   INTEGER NOT NULL,
    frozen INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX blk_layers_parent ON blk_layers (parent);
CREATE TABLE blk_disks (
    name      TEXT PRIMARY KEY,
    top       TEXT NOT NULL REFERENCES blk_layers (id),
    size      INTEGER NOT NULL,
    encrypted INTEGER NOT NULL
);
CREATE INDEX blk_disks_top ON blk_disks (top);
CREATE TABLE blk_snapshots (
    name      TEXT PRIMARY KEY,
    layer     TEXT NOT NULL REFERENCES blk_layers (id),
    size      INTEGER NOT NULL,
    encrypted INTEGER NOT NULL
);
CREATE INDEX blk_snapshots_layer ON blk_snapshots (layer);
