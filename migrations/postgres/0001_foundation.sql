-- Users, sessions, sites, tasks with phases, records, photos (the row is the job), audit events.

CREATE TABLE users (
    id            UUID PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'supervisor', 'inspector', 'agency')),
    password_hash TEXT NOT NULL,
    active        BOOLEAN NOT NULL DEFAULT TRUE,
    created_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE sessions (
    id          UUID PRIMARY KEY,
    user_id     UUID NOT NULL REFERENCES users (id),
    token_hash  TEXT NOT NULL UNIQUE,
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    revoked_at  TIMESTAMPTZ
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE sites (
    id          UUID PRIMARY KEY,
    name        TEXT NOT NULL,
    address     TEXT,
    input_lat   DOUBLE PRECISION NOT NULL,
    input_lon   DOUBLE PRECISION NOT NULL,
    datum       TEXT NOT NULL CHECK (datum IN ('wgs84', 'gcj02', 'bd09')),
    lat         DOUBLE PRECISION NOT NULL,
    lon         DOUBLE PRECISION NOT NULL,
    radius_m    DOUBLE PRECISION NOT NULL CHECK (radius_m > 0),
    timezone    TEXT NOT NULL,
    created_by  UUID NOT NULL REFERENCES users (id),
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE tasks (
    id           UUID PRIMARY KEY,
    title        TEXT NOT NULL,
    description  TEXT,
    site_id      UUID NOT NULL REFERENCES sites (id),
    due_at       TIMESTAMPTZ NOT NULL,
    status       TEXT NOT NULL,
    created_by   UUID NOT NULL REFERENCES users (id),
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX tasks_created ON tasks (created_at, id);

CREATE TABLE phases (
    id          UUID PRIMARY KEY,
    task_id     UUID NOT NULL REFERENCES tasks (id),
    seq         INTEGER NOT NULL,
    title       TEXT NOT NULL,
    due_at      TIMESTAMPTZ NOT NULL,
    status      TEXT NOT NULL,
    UNIQUE (task_id, seq)
);
CREATE INDEX phases_open_due ON phases (due_at) WHERE status <> 'accepted';

CREATE TABLE records (
    id                 UUID PRIMARY KEY,
    task_id            UUID NOT NULL REFERENCES tasks (id),
    phase_id           UUID REFERENCES phases (id),
    kind               TEXT NOT NULL CHECK (kind IN ('inspection', 'rectification')),
    note               TEXT NOT NULL,
    device_time        TIMESTAMPTZ NOT NULL,
    device_lat         DOUBLE PRECISION,
    device_lon         DOUBLE PRECISION,
    device_accuracy_m  DOUBLE PRECISION,
    created_by         UUID NOT NULL REFERENCES users (id),
    received_at        TIMESTAMPTZ NOT NULL
);
CREATE INDEX records_task ON records (task_id);

CREATE TABLE photos (
    id                UUID PRIMARY KEY,
    record_id         UUID NOT NULL REFERENCES records (id),
    sha256            TEXT NOT NULL,
    size_bytes        BIGINT NOT NULL,
    content_type      TEXT NOT NULL,
    original_key      TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('received', 'processing', 'done', 'failed')),
    attempts          INTEGER NOT NULL DEFAULT 0,
    lease_owner       TEXT,
    lease_expires_at  TIMESTAMPTZ,
    next_attempt_at   TIMESTAMPTZ NOT NULL,
    last_error        TEXT,
    width             INTEGER,
    height            INTEGER,
    exif              JSONB,
    verification      JSONB,
    verdict           TEXT,
    thumb_small_key   TEXT,
    thumb_large_key   TEXT,
    received_at       TIMESTAMPTZ NOT NULL,
    processed_at      TIMESTAMPTZ
);
CREATE INDEX photos_record ON photos (record_id);
CREATE INDEX photos_sha256 ON photos (sha256);
CREATE INDEX photos_queue ON photos (next_attempt_at) WHERE status IN ('received', 'processing');

CREATE TABLE audit_events (
    id           UUID PRIMARY KEY,
    at           TIMESTAMPTZ NOT NULL,
    actor_id     UUID,
    action       TEXT NOT NULL,
    entity_kind  TEXT NOT NULL,
    entity_id    UUID NOT NULL,
    summary      JSONB NOT NULL
);
CREATE INDEX audit_events_entity ON audit_events (entity_kind, entity_id);
