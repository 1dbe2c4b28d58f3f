-- Users, sessions, sites, tasks with phases, records, photos (the row is the job), audit events.

CREATE TABLE users (
    id            BLOB PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'supervisor', 'inspector', 'agency')),
    password_hash TEXT NOT NULL,
    active        INTEGER NOT NULL DEFAULT 1,
    created_at    TEXT NOT NULL
);

CREATE TABLE sessions (
    id          BLOB PRIMARY KEY,
    user_id     BLOB NOT NULL REFERENCES users (id),
    token_hash  TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    revoked_at  TEXT
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE sites (
    id          BLOB PRIMARY KEY,
    name        TEXT NOT NULL,
    address     TEXT,
    input_lat   REAL NOT NULL,
    input_lon   REAL NOT NULL,
    datum       TEXT NOT NULL CHECK (datum IN ('wgs84', 'gcj02', 'bd09')),
    lat         REAL NOT NULL,
    lon         REAL NOT NULL,
    radius_m    REAL NOT NULL CHECK (radius_m > 0),
    timezone    TEXT NOT NULL,
    created_by  BLOB NOT NULL REFERENCES users (id),
    created_at  TEXT NOT NULL
);

CREATE TABLE tasks (
    id           BLOB PRIMARY KEY,
    title        TEXT NOT NULL,
    description  TEXT,
    site_id      BLOB NOT NULL REFERENCES sites (id),
    due_at       TEXT NOT NULL,
    status       TEXT NOT NULL,
    created_by   BLOB NOT NULL REFERENCES users (id),
    created_at   TEXT NOT NULL
);
CREATE INDEX tasks_created ON tasks (created_at, id);

CREATE TABLE phases (
    id          BLOB PRIMARY KEY,
    task_id     BLOB NOT NULL REFERENCES tasks (id),
    seq         INTEGER NOT NULL,
    title       TEXT NOT NULL,
    due_at      TEXT NOT NULL,
    status      TEXT NOT NULL,
    UNIQUE (task_id, seq)
);
CREATE INDEX phases_open_due ON phases (due_at) WHERE status <> 'accepted';

CREATE TABLE records (
    id                 BLOB PRIMARY KEY,
    task_id            BLOB NOT NULL REFERENCES tasks (id),
    phase_id           BLOB REFERENCES phases (id),
    kind               TEXT NOT NULL CHECK (kind IN ('inspection', 'rectification')),
    note               TEXT NOT NULL,
    device_time        TEXT NOT NULL,
    device_lat         REAL,
    device_lon         REAL,
    device_accuracy_m  REAL,
    created_by         BLOB NOT NULL REFERENCES users (id),
    received_at        TEXT NOT NULL
);
CREATE INDEX records_task ON records (task_id);

CREATE TABLE photos (
    id                BLOB PRIMARY KEY,
    record_id         BLOB NOT NULL REFERENCES records (id),
    sha256            TEXT NOT NULL,
    size_bytes        INTEGER NOT NULL,
    content_type      TEXT NOT NULL,
    original_key      TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('received', 'processing', 'done', 'failed')),
    attempts          INTEGER NOT NULL DEFAULT 0,
    lease_owner       TEXT,
    lease_expires_at  TEXT,
    next_attempt_at   TEXT NOT NULL,
    last_error        TEXT,
    width             INTEGER,
    height            INTEGER,
    exif              TEXT,
    verification      TEXT,
    verdict           TEXT,
    thumb_small_key   TEXT,
    thumb_large_key   TEXT,
    received_at       TEXT NOT NULL,
    processed_at      TEXT
);
CREATE INDEX photos_record ON photos (record_id);
CREATE INDEX photos_sha256 ON photos (sha256);
CREATE INDEX photos_queue ON photos (next_attempt_at) WHERE status IN ('received', 'processing');

CREATE TABLE audit_events (
    id           BLOB PRIMARY KEY,
    at           TEXT NOT NULL,
    actor_id     BLOB,
    action       TEXT NOT NULL,
    entity_kind  TEXT NOT NULL,
    entity_id    BLOB NOT NULL,
    summary      TEXT NOT NULL
);
CREATE INDEX audit_events_entity ON audit_events (entity_kind, entity_id);
