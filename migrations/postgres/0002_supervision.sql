-- Organisations, the task state machine, plans, reports and reviews, extensions, urges,
-- documents, login throttling and the hash-chained audit trail.

CREATE TABLE orgs (
    id              UUID PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL CHECK (kind IN ('supervision', 'agency')),
    region_code     TEXT NOT NULL,
    contacts        TEXT NOT NULL,
    active          BOOLEAN NOT NULL DEFAULT TRUE,
    created_at      TIMESTAMPTZ NOT NULL,
    deactivated_at  TIMESTAMPTZ
);

ALTER TABLE users ADD COLUMN org_id UUID REFERENCES orgs (id);
CREATE INDEX users_org ON users (org_id);

ALTER TABLE tasks ADD COLUMN group_id UUID REFERENCES orgs (id);
ALTER TABLE tasks ADD COLUMN agency_id UUID REFERENCES orgs (id);
ALTER TABLE tasks ADD COLUMN region_code TEXT;
ALTER TABLE tasks ADD COLUMN next_due_at TIMESTAMPTZ;
ALTER TABLE tasks ADD COLUMN acknowledged_at TIMESTAMPTZ;
ALTER TABLE tasks ADD COLUMN acknowledged_by UUID REFERENCES users (id);
ALTER TABLE tasks ADD COLUMN ended_at TIMESTAMPTZ;
ALTER TABLE tasks ADD COLUMN ended_by UUID REFERENCES users (id);
ALTER TABLE tasks ADD COLUMN end_reason TEXT;
ALTER TABLE tasks ADD COLUMN search_text TEXT NOT NULL DEFAULT '';
CREATE INDEX tasks_agency ON tasks (agency_id, id);
CREATE INDEX tasks_group ON tasks (group_id, id);
CREATE INDEX tasks_status ON tasks (status, id);
CREATE INDEX tasks_region ON tasks (region_code text_pattern_ops, id);
CREATE INDEX tasks_next_due ON tasks (next_due_at, id);
CREATE INDEX tasks_group_next_due ON tasks (group_id, next_due_at, id);
CREATE INDEX tasks_agency_next_due ON tasks (agency_id, next_due_at, id);

ALTER TABLE phases ADD COLUMN starts_at TIMESTAMPTZ;

CREATE TABLE documents (
    id            UUID PRIMARY KEY,
    sha256        TEXT NOT NULL,
    size_bytes    BIGINT NOT NULL,
    content_type  TEXT NOT NULL,
    file_name     TEXT NOT NULL,
    object_key    TEXT NOT NULL,
    org_id        UUID REFERENCES orgs (id),
    uploaded_by   UUID NOT NULL REFERENCES users (id),
    uploaded_at   TIMESTAMPTZ NOT NULL
);

CREATE TABLE attachments (
    document_id  UUID NOT NULL REFERENCES documents (id),
    task_id      UUID NOT NULL REFERENCES tasks (id),
    owner_kind   TEXT NOT NULL CHECK (owner_kind IN ('plan', 'record')),
    owner_id     UUID NOT NULL,
    PRIMARY KEY (owner_kind, owner_id, document_id)
);
CREATE INDEX attachments_document ON attachments (document_id);

CREATE TABLE plans (
    id                UUID PRIMARY KEY,
    task_id           UUID NOT NULL REFERENCES tasks (id),
    version           INTEGER NOT NULL,
    background        TEXT NOT NULL,
    phases            TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('submitted', 'approved', 'rejected')),
    submitted_by      UUID NOT NULL REFERENCES users (id),
    submitted_at      TIMESTAMPTZ NOT NULL,
    decided_by        UUID REFERENCES users (id),
    decided_at        TIMESTAMPTZ,
    decision_comment  TEXT,
    UNIQUE (task_id, version)
);

ALTER TABLE records ADD COLUMN findings TEXT;
ALTER TABLE records ADD COLUMN document_ids TEXT NOT NULL DEFAULT '[]';
ALTER TABLE records ADD COLUMN review_status TEXT;
ALTER TABLE records ADD COLUMN reviewed_by UUID REFERENCES users (id);
ALTER TABLE records ADD COLUMN reviewed_at TIMESTAMPTZ;
ALTER TABLE records ADD COLUMN review_comment TEXT;
ALTER TABLE records ADD COLUMN review_new_due_at TIMESTAMPTZ;
CREATE INDEX records_phase ON records (phase_id);

CREATE TABLE extensions (
    id               UUID PRIMARY KEY,
    task_id          UUID NOT NULL REFERENCES tasks (id),
    phase_id         UUID NOT NULL REFERENCES phases (id),
    reason           TEXT NOT NULL,
    proposed_due_at  TIMESTAMPTZ NOT NULL,
    previous_due_at  TIMESTAMPTZ NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('requested', 'granted', 'refused')),
    requested_by     UUID NOT NULL REFERENCES users (id),
    requested_at     TIMESTAMPTZ NOT NULL,
    decided_by       UUID REFERENCES users (id),
    decided_at       TIMESTAMPTZ,
    comment          TEXT
);
CREATE INDEX extensions_phase ON extensions (phase_id);
CREATE UNIQUE INDEX extensions_one_pending ON extensions (phase_id) WHERE status = 'requested';

CREATE TABLE urges (
    id          UUID PRIMARY KEY,
    task_id     UUID NOT NULL REFERENCES tasks (id),
    phase_id    UUID REFERENCES phases (id),
    message     TEXT NOT NULL,
    created_by  UUID NOT NULL REFERENCES users (id),
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX urges_task ON urges (task_id);

CREATE TABLE login_throttle (
    key              TEXT PRIMARY KEY,
    failures         INTEGER NOT NULL,
    last_failure_at  TIMESTAMPTZ NOT NULL,
    blocked_until    TIMESTAMPTZ
);

ALTER TABLE audit_events ALTER COLUMN summary TYPE TEXT USING summary::text;
ALTER TABLE audit_events ADD COLUMN actor_org_id UUID;
ALTER TABLE audit_events ADD COLUMN actor_role TEXT;
ALTER TABLE audit_events ADD COLUMN client_ip TEXT;
ALTER TABLE audit_events ADD COLUMN user_agent TEXT;
ALTER TABLE audit_events ADD COLUMN task_id UUID;
ALTER TABLE audit_events ADD COLUMN seq BIGINT UNIQUE;
ALTER TABLE audit_events ADD COLUMN hash TEXT;
CREATE INDEX audit_events_task ON audit_events (task_id, at) WHERE task_id IS NOT NULL;
CREATE INDEX audit_events_unsealed ON audit_events (at, id) WHERE seq IS NULL;

CREATE TABLE audit_chain_head (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    seq        BIGINT NOT NULL,
    hash       TEXT NOT NULL,
    sealed_at  TIMESTAMPTZ
);
INSERT INTO audit_chain_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
