-- A session's payments, flagged ones included: what a sync batch reads to find a member's
-- second payment for a session, and what a session's totals and listings read. The partial
-- unique index on (session_id, member_id) leaves out flagged and failed payments, so it could
-- not answer these and each read scanned the tontine's payments.
CREATE INDEX payments_session_idx ON payments (session_id, member_id);
