-- ClientToken idempotency for instances: the token's request fingerprint,
-- so a reused token with other parameters is refused (disks already keep
-- theirs in ecs_disks.request_hash).
ALTER TABLE ecs_instances ADD COLUMN request_hash TEXT;
CREATE UNIQUE INDEX ecs_instances_token ON ecs_instances (account, client_token)
    WHERE client_token IS NOT NULL;
