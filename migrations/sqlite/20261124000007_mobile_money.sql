-- Mobile money: payments collected through a provider, payouts sent through one, and the
-- polling queue that confirms both with the provider's status API.

-- The provider that serves a mobile-money payment (orange, mtn, wave, cinetpay): set when the
-- payment is initiated through Kobiri, NULL for payments declared by hand. The idempotency key
-- sent to the provider is the payment id itself.
ALTER TABLE payments ADD COLUMN provider TEXT
    CHECK (provider IN ('orange', 'mtn', 'wave', 'cinetpay'));
-- Orange's notif_token: a callback must present it.
ALTER TABLE payments ADD COLUMN callback_secret TEXT;
-- The provider's hosted page where the payer approves, when it has one.
ALTER TABLE payments ADD COLUMN payment_url TEXT;
CREATE INDEX payments_operator_reference_idx ON payments (provider, operator_reference)
    WHERE provider IS NOT NULL;

-- A payout sent through a provider: its idempotency key (one per passage, never reused),
-- provider and status; the operator's reference goes to payout_reference.
ALTER TABLE passages ADD COLUMN payout_key BLOB;
ALTER TABLE passages ADD COLUMN payout_provider TEXT
    CHECK (payout_provider IN ('orange', 'mtn', 'wave', 'cinetpay'));
ALTER TABLE passages ADD COLUMN payout_status TEXT
    CHECK (payout_status IN ('en_cours', 'valide', 'echoue'));
ALTER TABLE passages ADD COLUMN payout_failure TEXT;
CREATE UNIQUE INDEX passages_payout_key_key ON passages (payout_key);

-- What still waits for the provider's word: a payment `en_cours` or a payout `en_cours`.
-- Kept apart from payments and passages so that claiming and rescheduling (bookkeeping) do
-- not touch synced rows. A row is deleted in the transaction that settles its subject.
CREATE TABLE mobile_money_polls (
    id           BLOB PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('payment', 'payout')),
    provider     TEXT NOT NULL CHECK (provider IN ('orange', 'mtn', 'wave', 'cinetpay')),
    started_at   TEXT NOT NULL,
    next_poll_at TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    locked_until TEXT
) STRICT;
CREATE INDEX mobile_money_polls_due_idx ON mobile_money_polls (next_poll_at);
