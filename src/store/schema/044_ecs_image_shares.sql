-- Images shared with other accounts (ModifyImageSharePermission).  A
-- recipient may make disks from a shared image; an encrypted one is then
-- re-encrypted under the recipient's own key (R4), never the owner's.
CREATE TABLE ecs_image_shares (
    image_id TEXT NOT NULL REFERENCES ecs_images (image_id) ON DELETE CASCADE,
    account  TEXT NOT NULL,
    shared   INTEGER NOT NULL,
    PRIMARY KEY (image_id, account)
);
CREATE INDEX ecs_image_shares_account ON ecs_image_shares (account);
