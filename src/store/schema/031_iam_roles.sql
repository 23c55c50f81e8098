-- RAM roles of an account.  Today only the ECS disk-encryption service
-- role matters (AliyunECSDiskEncryptDefaultRole): while it exists, ECS may
-- use the account's customer CMKs for disks (DESIGN R10).
CREATE TABLE iam_roles (
    account_id  TEXT NOT NULL REFERENCES iam_accounts (account_id),
    role_name   TEXT NOT NULL,
    role_id     TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL,
    policy      TEXT NOT NULL,
    created     INTEGER NOT NULL,
    PRIMARY KEY (account_id, role_name)
);
