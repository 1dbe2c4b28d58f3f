-- Resumable uploads (tus 1.0.0 and the IETF resumable-upload draft share them). The row holds
-- the committed offset; the bytes live in object storage as one object per accepted chunk, so
-- any replica can resume an upload, and a chunk counts only once its row is committed.

CREATE TABLE uploads (
    id            UUID PRIMARY KEY,
    owner_id      UUID NOT NULL REFERENCES users (id),
    record_id     UUID NOT NULL REFERENCES records (id),
    photo_id      UUID NOT NULL,
    length        BIGINT,
    received      BIGINT NOT NULL DEFAULT 0 CHECK (received >= 0),
    metadata      TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    expires_at    TIMESTAMPTZ NOT NULL,
    completed_at  TIMESTAMPTZ,
    CHECK (length IS NULL OR received <= length)
);
CREATE INDEX uploads_expires_at ON uploads (expires_at);

-- Two replicas appending at the same offset cannot both win: the key is the chunk's start.
CREATE TABLE upload_chunks (
    upload_id     UUID NOT NULL REFERENCES uploads (id) ON DELETE CASCADE,
    start_offset  BIGINT NOT NULL,
    size          BIGINT NOT NULL CHECK (size > 0),
    object_key    TEXT NOT NULL,
    PRIMARY KEY (upload_id, start_offset)
);

-- Keys every replica shares, made once by whichever needs one first: `sync_cursor` seals the
-- cursors of `/mobile/v1/sync` so that a phone cannot forge or edit one.
CREATE TABLE server_keys (
    name  TEXT PRIMARY KEY,
    key   TEXT NOT NULL
);

-- The first answer to a POST sent with an Idempotency-Key, kept a day: a retry of the same
-- request gets that answer again instead of acting twice. `status` is NULL while the first
-- request runs.
CREATE TABLE idempotency_keys (
    user_id       UUID NOT NULL REFERENCES users (id),
    key           TEXT NOT NULL,
    fingerprint   TEXT NOT NULL,
    status        INTEGER,
    content_type  TEXT,
    body          BYTEA,
    created_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);

-- How far each user's phone clock runs from the server's (device minus server), as last
-- measured from a `Device-Time` header; a photo keeps the offset of its upload, and the
-- verification of its capture time corrects for it and says so.
CREATE TABLE device_clocks (
    user_id      UUID PRIMARY KEY REFERENCES users (id),
    offset_ms    BIGINT NOT NULL,
    measured_at  TIMESTAMPTZ NOT NULL
);
ALTER TABLE photos ADD COLUMN device_clock_offset_ms BIGINT;
