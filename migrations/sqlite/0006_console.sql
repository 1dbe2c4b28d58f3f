-- The web console's background exports and circulars.

-- An export is a job row, like a photo or an SMS: leased to one runner at a time, retried a few
-- times, its file written to object storage under `object_key`.
CREATE TABLE exports (
    id                BLOB PRIMARY KEY,
    requested_by      BLOB NOT NULL REFERENCES users (id),
    kind              TEXT NOT NULL CHECK (kind IN ('statistics', 'tasks')),
    format            TEXT NOT NULL CHECK (format IN ('csv', 'xlsx')),
    params            TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    progress          INTEGER NOT NULL DEFAULT 0,
    rows_written      INTEGER NOT NULL DEFAULT 0,
    object_key        TEXT,
    size_bytes        INTEGER,
    error             TEXT,
    attempts          INTEGER NOT NULL DEFAULT 0,
    lease_owner       TEXT,
    lease_expires_at  TEXT,
    created_at        TEXT NOT NULL,
    finished_at       TEXT
);
CREATE INDEX exports_queue ON exports (created_at) WHERE status IN ('queued', 'running');
CREATE INDEX exports_requester ON exports (requested_by, created_at);

-- A circular (通报): a notice from a supervision group to chosen organisations.
CREATE TABLE circulars (
    id          BLOB PRIMARY KEY,
    group_id    BLOB REFERENCES orgs (id),
    author_id   BLOB NOT NULL REFERENCES users (id),
    title       TEXT NOT NULL,
    body        TEXT NOT NULL,
    task_id     BLOB REFERENCES tasks (id),
    created_at  TEXT NOT NULL
);
CREATE INDEX circulars_group ON circulars (group_id, created_at);

CREATE TABLE circular_recipients (
    circular_id  BLOB NOT NULL REFERENCES circulars (id),
    org_id       BLOB NOT NULL REFERENCES orgs (id),
    PRIMARY KEY (circular_id, org_id)
);
CREATE INDEX circular_recipients_org ON circular_recipients (org_id, circular_id);

-- The file name a phone gave a photo (tus `filename` metadata or the PUT's
-- Content-Disposition), shown to reviewers as text.
ALTER TABLE photos ADD COLUMN file_name TEXT;
