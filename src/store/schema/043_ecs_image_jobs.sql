-- A re-encrypting CopyImage runs in the background: the image is listed
-- at once with status Creating and its progress, and becomes Available
-- when its data are sealed.  job_disk names the temporary block-store
-- disk the copy writes, so a restart can remove it and mark the image
-- CreateFailed instead of leaving it half made.
ALTER TABLE ecs_images ADD COLUMN status TEXT NOT NULL DEFAULT 'Available';
ALTER TABLE ecs_images ADD COLUMN progress INTEGER NOT NULL DEFAULT 100;
ALTER TABLE ecs_images ADD COLUMN job_disk TEXT NOT NULL DEFAULT '';
