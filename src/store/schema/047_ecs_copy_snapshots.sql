-- A re-encrypting CopyImage owns a snapshot under the copy's key (R7):
-- its data (the new lineage) under a new snapshot id, in the copy's
-- region, which the copy reports as its SnapshotId.  image_id names the
-- image a snapshot was made for ('' for a user's own snapshot):
-- DeleteSnapshot refuses it while that image exists (SnapshotCreatedImage);
-- DeleteImage leaves it, for the user to delete.  The row is written with
-- the image's Available status, so a failed or interrupted copy has none.
ALTER TABLE ecs_snapshots ADD COLUMN image_id TEXT NOT NULL DEFAULT '';
