-- The web console's background exports and circulars.

-- An export is a job row, like a photo or an SMS: leased to one runner at a time, retried a few
-- times, its file written to object storage under `object_key`.
CREATE TABLE exports (
    id                UUID PRIMARY KEY,
    requested_by      UUID NOT NULL REFERENCES users (id),
    kind              TEXT NOT NULL CHECK (kind IN ('statistics', 'tasks')),
    format            TEXT NOT NULL CHECK (format IN ('csv', 'xlsx')),
    params            TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    progress          INTEGER NOT NULL DEFAULT 0,
    rows_written      BIGINT NOT NULL DEFAULT 0,
    object_key        TEXT,
    size_bytes        BIGINT,
    error             TEXT,
    attempts          INTEGER NOT NULL DEFAULT 0,
    lease_owner       TEXT,
    lease_expires_at  TIMESTAMPTZ,
    created_at        TIMESTAMPTZ NOT NULL,
    finished_at       TIMESTAMPTZ
);
CREATE INDEX exports_queue ON exports (created_at) WHERE status IN ('queued', 'running');
CREATE INDEX exports_requester ON exports (requested_by, created_at);

-- A circular (通报): a notice from a supervision group to chosen organisations.
CREATE TABLE circulars (
    id          UUID PRIMARY KEY,
    group_id    UUID REFERENCES orgs (id),
    author_id   UUID NOT NULL REFERENCES users (id),
    title       TEXT NOT NULL,
    body        TEXT NOT NULL,
    task_id     UUID REFERENCES tasks (id),
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX circulars_group ON circulars (group_id, created_at);

CREATE TABLE circular_recipients (
    circular_id  UUID NOT NULL REFERENCES circulars (id),
    org_id       UUID NOT NULL REFERENCES orgs (id),
    PRIMARY KEY (circular_id, org_id)
);
CREATE INDEX circular_recipients_org ON circular_recipients (org_id, circular_id);

-- The file name a phone gave a photo (tus `filename` metadata or the PUT's
-- Content-Disposition), shown to reviewers as text.
ALTER TABLE photos ADD COLUMN file_name TEXT;
