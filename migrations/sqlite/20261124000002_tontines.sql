-- SQLite encoding: ids are 16-byte UUID blobs, money is decimal TEXT (never REAL), times are
-- RFC 3339 TEXT in UTC, dates 'YYYY-MM-DD' TEXT, booleans 0/1.
-- Tontines, members, contribution sessions, payments, passages, the audit log,
-- notifications and scheduled jobs.

CREATE TABLE tontines (
    id                 BLOB PRIMARY KEY,
    name               TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description        TEXT,
    code               TEXT NOT NULL UNIQUE CHECK (length(code) BETWEEN 6 AND 10 AND code NOT GLOB '*[^A-HJ-NP-Z2-9]*'),
    type               TEXT NOT NULL CHECK (type IN ('rotative', 'cumulative', 'mixte')),
    frequency          TEXT NOT NULL CHECK (frequency IN ('quotidien', 'hebdomadaire', 'bimensuel', 'mensuel', 'trimestriel')),
    contribution_amount TEXT NOT NULL,
    currency           TEXT NOT NULL CHECK (length(currency) = 3 AND currency NOT GLOB '*[^A-Z]*'),
    max_members        INTEGER NOT NULL CHECK (max_members BETWEEN 3 AND 100),
    min_members        INTEGER NOT NULL CHECK (min_members BETWEEN 2 AND 50),
    start_date         TEXT NOT NULL,
    end_date           TEXT,
    rules              TEXT,
    penalty_amount     TEXT NOT NULL DEFAULT '0',
    grace_period_days  INTEGER NOT NULL DEFAULT 3 CHECK (grace_period_days BETWEEN 0 AND 30),
    is_active          INTEGER NOT NULL DEFAULT 1,
    is_public          INTEGER NOT NULL DEFAULT 0,
    payout_method      TEXT CHECK (payout_method IN ('random', 'alphabetical', 'join_date')),
    payout_seed        INTEGER,
    created_by_id      BLOB NOT NULL REFERENCES users (id),
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    CHECK (min_members <= max_members),
    CHECK (end_date IS NULL OR end_date >= start_date)
) STRICT;

CREATE TABLE members (
    id                  BLOB PRIMARY KEY,
    tontine_id          BLOB NOT NULL REFERENCES tontines (id),
    user_id             BLOB NOT NULL REFERENCES users (id),
    role                TEXT NOT NULL CHECK (role IN ('membre', 'president', 'tresorier', 'collecteur')),
    order_position      INTEGER CHECK (order_position >= 1),
    is_active           INTEGER NOT NULL DEFAULT 1,
    joined_at           TEXT NOT NULL,
    left_at             TEXT,
    total_contributions TEXT NOT NULL DEFAULT '0',
    total_received      TEXT NOT NULL DEFAULT '0',
    missed_payments     INTEGER NOT NULL DEFAULT 0 CHECK (missed_payments >= 0),
    UNIQUE (tontine_id, user_id)
) STRICT;

CREATE INDEX members_user_idx ON members (user_id);

CREATE TABLE sessions (
    id               BLOB PRIMARY KEY,
    tontine_id       BLOB NOT NULL REFERENCES tontines (id),
    session_number   INTEGER NOT NULL CHECK (session_number >= 1),
    scheduled_date   TEXT NOT NULL,
    due_date         TEXT NOT NULL,
    opened_at        TEXT,
    closed_at        TEXT,
    status           TEXT NOT NULL CHECK (status IN ('programmee', 'en_cours', 'en_attente', 'terminee', 'annulee')),
    expected_amount  TEXT NOT NULL DEFAULT '0',
    collected_amount TEXT NOT NULL DEFAULT '0',
    beneficiary_id   BLOB REFERENCES members (id),
    notes            TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    UNIQUE (tontine_id, session_number),
    CHECK (due_date >= scheduled_date)
) STRICT;

CREATE TABLE payments (
    id                      BLOB PRIMARY KEY,
    tontine_id              BLOB NOT NULL REFERENCES tontines (id),
    session_id              BLOB NOT NULL REFERENCES sessions (id),
    member_id               BLOB NOT NULL REFERENCES members (id),
    user_id                 BLOB NOT NULL REFERENCES users (id),
    amount                  TEXT NOT NULL,
    currency                TEXT NOT NULL,
    method                  TEXT NOT NULL CHECK (method IN ('especes', 'orange_money', 'mtn_momo', 'wave', 'free_money', 'moov_money', 'bank_transfer')),
    status                  TEXT NOT NULL CHECK (status IN ('en_attente', 'en_cours', 'valide', 'echoue', 'annule', 'rembourse')),
    operator_reference      TEXT,
    operator_transaction_id TEXT,
    phone_number            TEXT,
    proof_url               TEXT,
    proof_description       TEXT,
    validated_by_id         BLOB REFERENCES users (id),
    validated_at            TEXT,
    rejection_reason        TEXT,
    penalty_amount          TEXT NOT NULL DEFAULT '0',
    is_late                 INTEGER NOT NULL DEFAULT 0,
    recorded_by_id          BLOB NOT NULL REFERENCES users (id),
    device_id               BLOB,
    receipt_code            TEXT UNIQUE,
    notes                   TEXT,
    initiated_at            TEXT NOT NULL,
    completed_at            TEXT,
    created_at              TEXT NOT NULL,
    updated_at              TEXT NOT NULL
) STRICT;

-- One live payment per member and session.
CREATE UNIQUE INDEX payments_one_live_per_member_session
    ON payments (session_id, member_id) WHERE status NOT IN ('annule', 'echoue');
CREATE INDEX payments_tontine_idx ON payments (tontine_id, created_at);
CREATE INDEX payments_user_idx ON payments (user_id, created_at);

CREATE TABLE passages (
    id                  BLOB PRIMARY KEY,
    tontine_id          BLOB NOT NULL REFERENCES tontines (id),
    member_id           BLOB NOT NULL REFERENCES members (id),
    session_id          BLOB REFERENCES sessions (id),
    order_number        INTEGER NOT NULL CHECK (order_number >= 1),
    scheduled_date      TEXT,
    actual_date         TEXT,
    status              TEXT NOT NULL CHECK (status IN ('programme', 'en_cours', 'complete', 'reporte', 'annule')),
    expected_amount     TEXT NOT NULL DEFAULT '0',
    payout_amount       TEXT,
    amount_received     TEXT,
    payout_method       TEXT CHECK (payout_method IN ('especes', 'orange_money', 'wave', 'mtn_momo', 'free_money', 'moov_money', 'virement')),
    payout_reference    TEXT,
    payout_phone        TEXT,
    paid_at             TEXT,
    confirmed_by_member INTEGER NOT NULL DEFAULT 0,
    confirmed_at        TEXT,
    notes               TEXT,
    postpone_reason     TEXT,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
) STRICT;

CREATE INDEX passages_tontine_idx ON passages (tontine_id, order_number);

CREATE TABLE audit_log (
    id          BLOB PRIMARY KEY,
    tontine_id  BLOB REFERENCES tontines (id),
    actor_id    BLOB REFERENCES users (id),
    action      TEXT NOT NULL,
    entity      TEXT NOT NULL,
    entity_id   BLOB NOT NULL,
    before      TEXT,
    after       TEXT,
    source      TEXT NOT NULL CHECK (source IN ('api', 'sync', 'job', 'cli')),
    device_id   BLOB,
    created_at  TEXT NOT NULL
) STRICT;

CREATE INDEX audit_log_tontine_idx ON audit_log (tontine_id, created_at);

CREATE TABLE notifications (
    id           BLOB PRIMARY KEY,
    user_id      BLOB NOT NULL REFERENCES users (id),
    type         TEXT NOT NULL,
    channel      TEXT NOT NULL CHECK (channel IN ('sms', 'email', 'push', 'in_app')),
    status       TEXT NOT NULL CHECK (status IN ('en_attente', 'envoyee', 'delivree', 'lue', 'echouee', 'annulee')),
    title        TEXT NOT NULL,
    message      TEXT NOT NULL,
    data         TEXT,
    tontine_id   BLOB REFERENCES tontines (id),
    session_id   BLOB REFERENCES sessions (id),
    payment_id   BLOB REFERENCES payments (id),
    dedup_key    TEXT UNIQUE,
    scheduled_at TEXT,
    sent_at      TEXT,
    delivered_at TEXT,
    read_at      TEXT,
    created_at   TEXT NOT NULL
) STRICT;

CREATE INDEX notifications_user_idx ON notifications (user_id, created_at);

CREATE TABLE notification_preferences (
    user_id  BLOB NOT NULL REFERENCES users (id),
    type     TEXT NOT NULL,
    channel  TEXT NOT NULL CHECK (channel IN ('sms', 'email', 'push', 'in_app')),
    enabled  INTEGER NOT NULL,
    PRIMARY KEY (user_id, type, channel)
) STRICT;

-- Messages for channels other than in-app, sent by the outbox worker.
CREATE TABLE outbox (
    id              BLOB PRIMARY KEY,
    notification_id BLOB REFERENCES notifications (id),
    channel         TEXT NOT NULL CHECK (channel IN ('sms', 'email', 'push')),
    recipient       TEXT NOT NULL,
    payload         TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'en_attente' CHECK (status IN ('en_attente', 'envoyee', 'delivree', 'echouee')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    created_at      TEXT NOT NULL
) STRICT;

CREATE INDEX outbox_due_idx ON outbox (next_attempt_at) WHERE status = 'en_attente';

-- Scheduled work, claimed with FOR UPDATE SKIP LOCKED; dedup_key makes each job unique.
CREATE TABLE jobs (
    id           BLOB PRIMARY KEY,
    kind         TEXT NOT NULL,
    dedup_key    TEXT NOT NULL UNIQUE,
    payload      TEXT NOT NULL,
    run_at       TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'done', 'failed')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    locked_until TEXT,
    last_error   TEXT,
    created_at   TEXT NOT NULL,
    finished_at  TEXT
) STRICT;

CREATE INDEX jobs_due_idx ON jobs (run_at) WHERE status IN ('pending', 'running');
