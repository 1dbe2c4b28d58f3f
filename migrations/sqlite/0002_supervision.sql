-- Organisations, the task state machine, plans, reports and reviews, extensions, urges,
-- documents, login throttling and the hash-chained audit trail.

CREATE TABLE orgs (
    id              BLOB PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL CHECK (kind IN ('supervision', 'agency')),
    region_code     TEXT NOT NULL,
    contacts        TEXT NOT NULL,
    active          INTEGER NOT NULL DEFAULT 1,
    created_at      TEXT NOT NULL,
    deactivated_at  TEXT
);

ALTER TABLE users ADD COLUMN org_id BLOB REFERENCES orgs (id);
CREATE INDEX users_org ON users (org_id);

ALTER TABLE tasks ADD COLUMN group_id BLOB REFERENCES orgs (id);
ALTER TABLE tasks ADD COLUMN agency_id BLOB REFERENCES orgs (id);
ALTER TABLE tasks ADD COLUMN region_code TEXT;
ALTER TABLE tasks ADD COLUMN next_due_at TEXT;
ALTER TABLE tasks ADD COLUMN acknowledged_at TEXT;
ALTER TABLE tasks ADD COLUMN acknowledged_by BLOB REFERENCES users (id);
ALTER TABLE tasks ADD COLUMN ended_at TEXT;
ALTER TABLE tasks ADD COLUMN ended_by BLOB REFERENCES users (id);
ALTER TABLE tasks ADD COLUMN end_reason TEXT;
ALTER TABLE tasks ADD COLUMN search_text TEXT NOT NULL DEFAULT '';
CREATE INDEX tasks_agency ON tasks (agency_id, id);
CREATE INDEX tasks_group ON tasks (group_id, id);
CREATE INDEX tasks_status ON tasks (status, id);
CREATE INDEX tasks_region ON tasks (region_code, id);
CREATE INDEX tasks_next_due ON tasks (next_due_at, id);
CREATE INDEX tasks_group_next_due ON tasks (group_id, next_due_at, id);
CREATE INDEX tasks_agency_next_due ON tasks (agency_id, next_due_at, id);

ALTER TABLE phases ADD COLUMN starts_at TEXT;

CREATE TABLE documents (
    id            BLOB PRIMARY KEY,
    sha256        TEXT NOT NULL,
    size_bytes    INTEGER NOT NULL,
    content_type  TEXT NOT NULL,
    file_name     TEXT NOT NULL,
    object_key    TEXT NOT NULL,
    org_id        BLOB REFERENCES orgs (id),
    uploaded_by   BLOB NOT NULL REFERENCES users (id),
    uploaded_at   TEXT NOT NULL
);

CREATE TABLE attachments (
    document_id  BLOB NOT NULL REFERENCES documents (id),
    task_id      BLOB NOT NULL REFERENCES tasks (id),
    owner_kind   TEXT NOT NULL CHECK (owner_kind IN ('plan', 'record')),
    owner_id     BLOB NOT NULL,
    PRIMARY KEY (owner_kind, owner_id, document_id)
);
CREATE INDEX attachments_document ON attachments (document_id);

CREATE TABLE plans (
    id                BLOB PRIMARY KEY,
    task_id           BLOB NOT NULL REFERENCES tasks (id),
    version           INTEGER NOT NULL,
    background        TEXT NOT NULL,
    phases            TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('submitted', 'approved', 'rejected')),
    submitted_by      BLOB NOT NULL REFERENCES users (id),
    submitted_at      TEXT NOT NULL,
    decided_by        BLOB REFERENCES users (id),
    decided_at        TEXT,
    decision_comment  TEXT,
    UNIQUE (task_id, version)
);

ALTER TABLE records ADD COLUMN findings TEXT;
ALTER TABLE records ADD COLUMN document_ids TEXT NOT NULL DEFAULT '[]';
ALTER TABLE records ADD COLUMN review_status TEXT;
ALTER TABLE records ADD COLUMN reviewed_by BLOB REFERENCES users (id);
ALTER TABLE records ADD COLUMN reviewed_at TEXT;
ALTER TABLE records ADD COLUMN review_comment TEXT;
ALTER TABLE records ADD COLUMN review_new_due_at TEXT;
CREATE INDEX records_phase ON records (phase_id);

CREATE TABLE extensions (
    id               BLOB PRIMARY KEY,
    task_id          BLOB NOT NULL REFERENCES tasks (id),
    phase_id         BLOB NOT NULL REFERENCES phases (id),
    reason           TEXT NOT NULL,
    proposed_due_at  TEXT NOT NULL,
    previous_due_at  TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('requested', 'granted', 'refused')),
    requested_by     BLOB NOT NULL REFERENCES users (id),
    requested_at     TEXT NOT NULL,
    decided_by       BLOB REFERENCES users (id),
    decided_at       TEXT,
    comment          TEXT
);
CREATE INDEX extensions_phase ON extensions (phase_id);
CREATE UNIQUE INDEX extensions_one_pending ON extensions (phase_id) WHERE status = 'requested';

CREATE TABLE urges (
    id          BLOB PRIMARY KEY,
    task_id     BLOB NOT NULL REFERENCES tasks (id),
    phase_id    BLOB REFERENCES phases (id),
    message     TEXT NOT NULL,
    created_by  BLOB NOT NULL REFERENCES users (id),
    created_at  TEXT NOT NULL
);
CREATE INDEX urges_task ON urges (task_id);

CREATE TABLE login_throttle (
    key              TEXT PRIMARY KEY,
    failures         INTEGER NOT NULL,
    last_failure_at  TEXT NOT NULL,
    blocked_until    TEXT
);

ALTER TABLE audit_events ADD COLUMN actor_org_id BLOB;
ALTER TABLE audit_events ADD COLUMN actor_role TEXT;
ALTER TABLE audit_events ADD COLUMN client_ip TEXT;
ALTER TABLE audit_events ADD COLUMN user_agent TEXT;
ALTER TABLE audit_events ADD COLUMN task_id BLOB;
ALTER TABLE audit_events ADD COLUMN seq INTEGER;
CREATE UNIQUE INDEX audit_events_seq ON audit_events (seq);
ALTER TABLE audit_events ADD COLUMN hash TEXT;
CREATE INDEX audit_events_task ON audit_events (task_id, at) WHERE task_id IS NOT NULL;
CREATE INDEX audit_events_unsealed ON audit_events (at, id) WHERE seq IS NULL;

CREATE TABLE audit_chain_head (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    seq        INTEGER NOT NULL,
    hash       TEXT NOT NULL,
    sealed_at  TEXT
);
INSERT INTO audit_chain_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
