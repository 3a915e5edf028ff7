-- The outbox worker's bookkeeping, and device push tokens.
--
-- A row is claimed by setting `locked_until` (a lease) while it stays `en_attente`; a worker
-- that dies leaves the lease to expire and another worker takes the row again. `envoyee`: the
-- provider accepted the message (`provider_message_id` when it gives one). `echouee` is the
-- dead letter: a permanent refusal, a dead recipient, or `OUTBOX_MAX_ATTEMPTS` transient
-- failures; `last_error` says which, and the row is never retried by the worker.
ALTER TABLE outbox ADD COLUMN provider_message_id TEXT;
ALTER TABLE outbox ADD COLUMN last_error TEXT;
ALTER TABLE outbox ADD COLUMN locked_until TEXT;
ALTER TABLE outbox ADD COLUMN sent_at TEXT;
ALTER TABLE outbox ADD COLUMN finished_at TEXT;

-- Dead letters, for operators.
CREATE INDEX outbox_dead_idx ON outbox (finished_at) WHERE status = 'echouee';

-- One FCM registration token per enrolled device; a token belongs to one device.
CREATE TABLE push_tokens (
    id          BLOB PRIMARY KEY,
    user_id     BLOB NOT NULL REFERENCES users (id),
    device_id   BLOB NOT NULL UNIQUE REFERENCES devices (id),
    token       TEXT NOT NULL UNIQUE,
    platform    TEXT NOT NULL CHECK (platform IN ('android', 'ios', 'web')),
    created_at  TEXT NOT NULL
) STRICT;

CREATE INDEX push_tokens_user_idx ON push_tokens (user_id);
