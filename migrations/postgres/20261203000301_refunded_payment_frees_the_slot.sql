-- A refunded payment (`rembourse`: a validated payment taken back by a reviewed correction)
-- no longer holds its member's slot for the session: the compensating entry, or a new
-- payment, takes it. Core's `PaymentStatus::counts_toward_uniqueness` says the same.
DROP INDEX payments_one_live_per_member_session;
CREATE UNIQUE INDEX payments_one_live_per_member_session
    ON payments (session_id, member_id)
    WHERE status NOT IN ('annule', 'echoue', 'rembourse') AND NOT flagged;
