-- Every long ECS operation runs as a background job (ecs_jobs.c): a disk
-- whose data are re-encrypted (CreateDisk from another lineage, R4, R5) is
-- listed at once with status Creating and its progress, and becomes
-- Available when its data are written; a failed or interrupted one is
-- deleted, never left Available.  ImportImage runs in the background as
-- CopyImage does (043): job_file names the raw file a qcow2 image is
-- converted into, so a restart can remove it.  An instance whose disks are
-- still being made is Pending (ecs_instances.status, no new column).
ALTER TABLE ecs_disks ADD COLUMN status TEXT NOT NULL DEFAULT 'Available';
ALTER TABLE ecs_disks ADD COLUMN progress INTEGER NOT NULL DEFAULT 100;
ALTER TABLE ecs_images ADD COLUMN job_file TEXT NOT NULL DEFAULT '';
