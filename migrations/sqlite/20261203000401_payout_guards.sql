-- Payouts that leave only to whom they belong: the phones a beneficiary confirmed by a code
-- sent to them, the payouts waiting for a second manager's approval, and the code purpose
-- that proves a payout phone (SQLite rebuilds one_time_codes to widen its CHECK).

CREATE TABLE payout_phones (
    user_id         BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    phone           TEXT NOT NULL,
    confirmed_at    TEXT NOT NULL,
    confirmed_by_id BLOB REFERENCES users (id),
    PRIMARY KEY (user_id, phone)
) STRICT;

CREATE TABLE payout_requests (
    id               BLOB PRIMARY KEY,
    passage_id       BLOB NOT NULL REFERENCES passages (id) ON DELETE CASCADE,
    tontine_id       BLOB NOT NULL REFERENCES tontines (id),
    payout_method    TEXT NOT NULL CHECK (payout_method IN ('especes', 'orange_money', 'wave', 'mtn_momo', 'free_money', 'moov_money', 'virement')),
    payout_phone     TEXT,
    payout_reference TEXT,
    amount           TEXT NOT NULL,
    reasons          TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('en_attente', 'approuve', 'rejete')),
    requested_by_id  BLOB NOT NULL REFERENCES users (id),
    requested_at     TEXT NOT NULL,
    decided_by_id    BLOB REFERENCES users (id),
    decided_at       TEXT,
    rejection_reason TEXT
) STRICT;

-- One payout waits for approval per passage at a time.
CREATE UNIQUE INDEX payout_requests_one_pending
    ON payout_requests (passage_id) WHERE status = 'en_attente';

CREATE TABLE one_time_codes_new (
    id          BLOB PRIMARY KEY CHECK (length(id) = 16),
    user_id     BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose     TEXT NOT NULL CHECK (purpose IN ('password_reset', 'verify_email', 'verify_phone', 'payout_phone')),
    code_hash   BLOB NOT NULL CHECK (length(code_hash) = 32),
    attempts    INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    expires_at  TEXT NOT NULL,
    consumed_at TEXT,
    created_at  TEXT NOT NULL
) STRICT;
INSERT INTO one_time_codes_new
    (id, user_id, purpose, code_hash, attempts, expires_at, consumed_at, created_at)
    SELECT id, user_id, purpose, code_hash, attempts, expires_at, consumed_at, created_at
    FROM one_time_codes;
DROP TABLE one_time_codes;
ALTER TABLE one_time_codes_new RENAME TO one_time_codes;
CREATE INDEX one_time_codes_user_purpose_idx ON one_time_codes (user_id, purpose);
