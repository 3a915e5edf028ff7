-- Tontines, members, contribution sessions, payments, passages, the audit log,
-- notifications and scheduled jobs.

CREATE TABLE tontines (
    id                 uuid PRIMARY KEY,
    name               text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description        text,
    code               text NOT NULL UNIQUE CHECK (code ~ '^[A-HJ-NP-Z2-9]{6,10}$'),
    type               text NOT NULL CHECK (type IN ('rotative', 'cumulative', 'mixte')),
    frequency          text NOT NULL CHECK (frequency IN ('quotidien', 'hebdomadaire', 'bimensuel', 'mensuel', 'trimestriel')),
    contribution_amount numeric(14, 2) NOT NULL CHECK (contribution_amount > 0),
    currency           text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    max_members        integer NOT NULL CHECK (max_members BETWEEN 3 AND 100),
    min_members        integer NOT NULL CHECK (min_members BETWEEN 2 AND 50),
    start_date         date NOT NULL,
    end_date           date,
    rules              text,
    penalty_amount     numeric(14, 2) NOT NULL DEFAULT 0 CHECK (penalty_amount >= 0),
    grace_period_days  integer NOT NULL DEFAULT 3 CHECK (grace_period_days BETWEEN 0 AND 30),
    is_active          boolean NOT NULL DEFAULT true,
    is_public          boolean NOT NULL DEFAULT false,
    payout_method      text CHECK (payout_method IN ('random', 'alphabetical', 'join_date')),
    payout_seed        bigint,
    created_by_id      uuid NOT NULL REFERENCES users (id),
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    CHECK (min_members <= max_members),
    CHECK (end_date IS NULL OR end_date >= start_date)
);

CREATE TABLE members (
    id                  uuid PRIMARY KEY,
    tontine_id          uuid NOT NULL REFERENCES tontines (id),
    user_id             uuid NOT NULL REFERENCES users (id),
    role                text NOT NULL CHECK (role IN ('membre', 'president', 'tresorier', 'collecteur')),
    order_position      integer CHECK (order_position >= 1),
    is_active           boolean NOT NULL DEFAULT true,
    joined_at           timestamptz NOT NULL,
    left_at             timestamptz,
    total_contributions numeric(14, 2) NOT NULL DEFAULT 0 CHECK (total_contributions >= 0),
    total_received      numeric(14, 2) NOT NULL DEFAULT 0 CHECK (total_received >= 0),
    missed_payments     integer NOT NULL DEFAULT 0 CHECK (missed_payments >= 0),
    UNIQUE (tontine_id, user_id)
);

CREATE INDEX members_user_idx ON members (user_id);

CREATE TABLE sessions (
    id               uuid PRIMARY KEY,
    tontine_id       uuid NOT NULL REFERENCES tontines (id),
    session_number   integer NOT NULL CHECK (session_number >= 1),
    scheduled_date   date NOT NULL,
    due_date         date NOT NULL,
    opened_at        timestamptz,
    closed_at        timestamptz,
    status           text NOT NULL CHECK (status IN ('programmee', 'en_cours', 'en_attente', 'terminee', 'annulee')),
    expected_amount  numeric(14, 2) NOT NULL DEFAULT 0 CHECK (expected_amount >= 0),
    collected_amount numeric(14, 2) NOT NULL DEFAULT 0 CHECK (collected_amount >= 0),
    beneficiary_id   uuid REFERENCES members (id),
    notes            text,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    UNIQUE (tontine_id, session_number),
    CHECK (due_date >= scheduled_date)
);

CREATE TABLE payments (
    id                      uuid PRIMARY KEY,
    tontine_id              uuid NOT NULL REFERENCES tontines (id),
    session_id              uuid NOT NULL REFERENCES sessions (id),
    member_id               uuid NOT NULL REFERENCES members (id),
    user_id                 uuid NOT NULL REFERENCES users (id),
    amount                  numeric(14, 2) NOT NULL CHECK (amount > 0),
    currency                text NOT NULL,
    method                  text NOT NULL CHECK (method IN ('especes', 'orange_money', 'mtn_momo', 'wave', 'free_money', 'moov_money', 'bank_transfer')),
    status                  text NOT NULL CHECK (status IN ('en_attente', 'en_cours', 'valide', 'echoue', 'annule', 'rembourse')),
    operator_reference      text,
    operator_transaction_id text,
    phone_number            text,
    proof_url               text,
    proof_description       text,
    validated_by_id         uuid REFERENCES users (id),
    validated_at            timestamptz,
    rejection_reason        text,
    penalty_amount          numeric(14, 2) NOT NULL DEFAULT 0 CHECK (penalty_amount >= 0),
    is_late                 boolean NOT NULL DEFAULT false,
    recorded_by_id          uuid NOT NULL REFERENCES users (id),
    device_id               uuid,
    receipt_code            text UNIQUE,
    notes                   text,
    initiated_at            timestamptz NOT NULL,
    completed_at            timestamptz,
    created_at              timestamptz NOT NULL,
    updated_at              timestamptz NOT NULL
);

-- One live payment per member and session.
CREATE UNIQUE INDEX payments_one_live_per_member_session
    ON payments (session_id, member_id) WHERE status NOT IN ('annule', 'echoue');
CREATE INDEX payments_tontine_idx ON payments (tontine_id, created_at);
CREATE INDEX payments_user_idx ON payments (user_id, created_at);

CREATE TABLE passages (
    id                  uuid PRIMARY KEY,
    tontine_id          uuid NOT NULL REFERENCES tontines (id),
    member_id           uuid NOT NULL REFERENCES members (id),
    session_id          uuid REFERENCES sessions (id),
    order_number        integer NOT NULL CHECK (order_number >= 1),
    scheduled_date      date,
    actual_date         date,
    status              text NOT NULL CHECK (status IN ('programme', 'en_cours', 'complete', 'reporte', 'annule')),
    expected_amount     numeric(14, 2) NOT NULL DEFAULT 0 CHECK (expected_amount >= 0),
    payout_amount       numeric(14, 2) CHECK (payout_amount >= 0),
    amount_received     numeric(14, 2) CHECK (amount_received >= 0),
    payout_method       text CHECK (payout_method IN ('especes', 'orange_money', 'wave', 'mtn_momo', 'free_money', 'moov_money', 'virement')),
    payout_reference    text,
    payout_phone        text,
    paid_at             timestamptz,
    confirmed_by_member boolean NOT NULL DEFAULT false,
    confirmed_at        timestamptz,
    notes               text,
    postpone_reason     text,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL
);

CREATE INDEX passages_tontine_idx ON passages (tontine_id, order_number);

CREATE TABLE audit_log (
    id          uuid PRIMARY KEY,
    tontine_id  uuid REFERENCES tontines (id),
    actor_id    uuid REFERENCES users (id),
    action      text NOT NULL,
    entity      text NOT NULL,
    entity_id   uuid NOT NULL,
    before      jsonb,
    after       jsonb,
    source      text NOT NULL CHECK (source IN ('api', 'sync', 'job', 'cli')),
    device_id   uuid,
    created_at  timestamptz NOT NULL
);

CREATE INDEX audit_log_tontine_idx ON audit_log (tontine_id, created_at);

CREATE TABLE notifications (
    id           uuid PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users (id),
    type         text NOT NULL,
    channel      text NOT NULL CHECK (channel IN ('sms', 'email', 'push', 'in_app')),
    status       text NOT NULL CHECK (status IN ('en_attente', 'envoyee', 'delivree', 'lue', 'echouee', 'annulee')),
    title        text NOT NULL,
    message      text NOT NULL,
    data         jsonb,
    tontine_id   uuid REFERENCES tontines (id),
    session_id   uuid REFERENCES sessions (id),
    payment_id   uuid REFERENCES payments (id),
    dedup_key    text UNIQUE,
    scheduled_at timestamptz,
    sent_at      timestamptz,
    delivered_at timestamptz,
    read_at      timestamptz,
    created_at   timestamptz NOT NULL
);

CREATE INDEX notifications_user_idx ON notifications (user_id, created_at);

CREATE TABLE notification_preferences (
    user_id  uuid NOT NULL REFERENCES users (id),
    type     text NOT NULL,
    channel  text NOT NULL CHECK (channel IN ('sms', 'email', 'push', 'in_app')),
    enabled  boolean NOT NULL,
    PRIMARY KEY (user_id, type, channel)
);

-- Messages for channels other than in-app, sent by the outbox worker.
CREATE TABLE outbox (
    id              uuid PRIMARY KEY,
    notification_id uuid REFERENCES notifications (id),
    channel         text NOT NULL CHECK (channel IN ('sms', 'email', 'push')),
    recipient       text NOT NULL,
    payload         jsonb NOT NULL,
    status          text NOT NULL DEFAULT 'en_attente' CHECK (status IN ('en_attente', 'envoyee', 'delivree', 'echouee')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    created_at      timestamptz NOT NULL
);

CREATE INDEX outbox_due_idx ON outbox (next_attempt_at) WHERE status = 'en_attente';

-- Scheduled work, claimed with FOR UPDATE SKIP LOCKED; dedup_key makes each job unique.
CREATE TABLE jobs (
    id           uuid PRIMARY KEY,
    kind         text NOT NULL,
    dedup_key    text NOT NULL UNIQUE,
    payload      jsonb NOT NULL,
    run_at       timestamptz NOT NULL,
    status       text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'done', 'failed')),
    attempts     integer NOT NULL DEFAULT 0,
    locked_until timestamptz,
    last_error   text,
    created_at   timestamptz NOT NULL,
    finished_at  timestamptz
);

CREATE INDEX jobs_due_idx ON jobs (run_at) WHERE status IN ('pending', 'running');
