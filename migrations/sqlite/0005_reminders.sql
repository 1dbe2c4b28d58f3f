-- Reminders: the outbox of SMS about due and overdue phases and manual urges. A reminder is
-- one event (unique by `dedup_key`: phase, kind, step and due date, or the urge), so a
-- second scheduler or a retried scan creates nothing; each of its messages is one SMS to one
-- person and is the job: it carries its own state, attempts, lease and back-off.

ALTER TABLE users ADD COLUMN mobile TEXT;

CREATE TABLE reminders (
    id          BLOB PRIMARY KEY,
    task_id     BLOB NOT NULL REFERENCES tasks (id),
    phase_id    BLOB REFERENCES phases (id),
    kind        TEXT NOT NULL CHECK (kind IN ('due_soon', 'overdue', 'escalation', 'urge')),
    step        INTEGER NOT NULL,
    due_at      TEXT,
    urge_id     BLOB REFERENCES urges (id),
    dedup_key   TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL
);
CREATE INDEX reminders_task ON reminders (task_id, created_at);
CREATE INDEX reminders_phase ON reminders (phase_id, due_at);

-- Messages are written only together with their reminder, in its transaction, and never
-- deleted; `task_id` and `org_id` are copies (of the reminder's task, of the recipient's
-- organisation) for listing and the daily cap. None of the three has a foreign key: a burst
-- of tens of thousands of messages would otherwise run three key checks per row (the
-- reminder-scan benchmark took 2.0 s instead of well under one).
CREATE TABLE reminder_messages (
    id                   BLOB PRIMARY KEY,
    reminder_id          BLOB NOT NULL,
    task_id              BLOB NOT NULL,
    org_id               BLOB,
    recipient_name       TEXT NOT NULL,
    mobile               TEXT NOT NULL,
    timezone             TEXT NOT NULL,
    kind                 TEXT NOT NULL,
    params               TEXT NOT NULL,
    body                 TEXT NOT NULL,
    status               TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'delivered', 'failed', 'unreachable', 'cancelled')),
    attempts             INTEGER NOT NULL DEFAULT 0,
    next_attempt_at      TEXT NOT NULL,
    lease_owner          TEXT,
    lease_expires_at     TEXT,
    last_error           TEXT,
    provider             TEXT,
    provider_message_id  TEXT,
    sent_at              TEXT,
    delivered_at         TEXT,
    receipt              TEXT,
    created_at           TEXT NOT NULL
);
CREATE INDEX reminder_messages_queue ON reminder_messages (next_attempt_at) WHERE status IN ('queued', 'sending');
CREATE INDEX reminder_messages_task ON reminder_messages (task_id);
CREATE INDEX reminder_messages_provider_id ON reminder_messages (provider, provider_message_id)
    WHERE provider_message_id IS NOT NULL;

-- SMS sent per organisation and site-local day, counted up only while under the cap, in the
-- same transaction that claims the message: several senders cannot overshoot it.
CREATE TABLE sms_daily_usage (
    org_id  BLOB NOT NULL,
    day     TEXT NOT NULL,
    sent    INTEGER NOT NULL,
    PRIMARY KEY (org_id, day)
);
