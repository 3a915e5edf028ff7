-- Invitations: adding an existing account to a tontine asks that person first; they accept
-- (and become a member) or refuse. At most one invitation waits per tontine and person.
CREATE TABLE invitations (
    id             uuid PRIMARY KEY,
    tontine_id     uuid NOT NULL REFERENCES tontines (id) ON DELETE CASCADE,
    user_id        uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    invited_by     uuid NOT NULL REFERENCES users (id),
    role           text NOT NULL CHECK (role IN ('membre', 'president', 'tresorier', 'collecteur')),
    order_position integer CHECK (order_position >= 1),
    status         text NOT NULL CHECK (status IN ('en_attente', 'acceptee', 'refusee')),
    created_at     timestamptz NOT NULL,
    decided_at     timestamptz
);

CREATE UNIQUE INDEX invitations_pending_idx ON invitations (tontine_id, user_id)
    WHERE status = 'en_attente';
CREATE INDEX invitations_user_idx ON invitations (user_id, status);
