-- ECS custom images.  An image's data are a block-store snapshot of its
-- own, named after the image (made for it, so deleting the source does
-- not touch it); snapshot_id records where it came from.  Encryption is the snapshot's: an encrypted image
-- keeps its DK blob and CMK (R7).
CREATE TABLE ecs_images (
    image_id     TEXT PRIMARY KEY,
    account      TEXT NOT NULL,
    region       TEXT NOT NULL,
    name         TEXT NOT NULL,
    description  TEXT NOT NULL,
    snapshot_id  TEXT NOT NULL,
    size_gib     INTEGER NOT NULL,
    encrypted    INTEGER NOT NULL,
    kms_key_id   TEXT NOT NULL,
    dk_blob      BLOB,
    source_image_id TEXT NOT NULL,
    created      INTEGER NOT NULL
);
CREATE INDEX ecs_images_owner ON ecs_images (account, region);
