-- Payouts that leave only to whom they belong: the phones a beneficiary confirmed by a code
-- sent to them, the payouts waiting for a second manager's approval, and the code purpose
-- that proves a payout phone.

CREATE TABLE payout_phones (
    user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    phone           text NOT NULL,
    confirmed_at    timestamptz NOT NULL,
    confirmed_by_id uuid REFERENCES users (id),
    PRIMARY KEY (user_id, phone)
);

CREATE TABLE payout_requests (
    id               uuid PRIMARY KEY,
    passage_id       uuid NOT NULL REFERENCES passages (id) ON DELETE CASCADE,
    tontine_id       uuid NOT NULL REFERENCES tontines (id),
    payout_method    text NOT NULL CHECK (payout_method IN ('especes', 'orange_money', 'wave', 'mtn_momo', 'free_money', 'moov_money', 'virement')),
    payout_phone     text,
    payout_reference text,
    amount           numeric(14, 2) NOT NULL CHECK (amount > 0),
    reasons          text NOT NULL,
    status           text NOT NULL CHECK (status IN ('en_attente', 'approuve', 'rejete')),
    requested_by_id  uuid NOT NULL REFERENCES users (id),
    requested_at     timestamptz NOT NULL,
    decided_by_id    uuid REFERENCES users (id),
    decided_at       timestamptz,
    rejection_reason text
);

-- One payout waits for approval per passage at a time.
CREATE UNIQUE INDEX payout_requests_one_pending
    ON payout_requests (passage_id) WHERE status = 'en_attente';

ALTER TABLE one_time_codes DROP CONSTRAINT one_time_codes_purpose_check;
ALTER TABLE one_time_codes ADD CONSTRAINT one_time_codes_purpose_check
    CHECK (purpose IN ('password_reset', 'verify_email', 'verify_phone', 'payout_phone'));
