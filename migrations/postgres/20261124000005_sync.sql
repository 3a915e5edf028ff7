-- Offline sync: enrolled devices, their exactly-once mutation log, the per-scope change feed,
-- the treasurer's review queue and integrity incidents.

CREATE TABLE devices (
    id            uuid PRIMARY KEY,
    user_id       uuid NOT NULL REFERENCES users (id),
    name          text NOT NULL,
    platform      text NOT NULL,
    -- The last mutation number applied (or refused for good) and the hash the next must link to.
    last_seq      bigint NOT NULL DEFAULT 0 CHECK (last_seq >= 0),
    last_hash     bytea NOT NULL CHECK (length(last_hash) = 32),
    created_at    timestamptz NOT NULL,
    last_seen_at  timestamptz,
    revoked_at    timestamptz
);

CREATE INDEX devices_user_idx ON devices (user_id, created_at);

-- One row per mutation a device pushed: the answer to a retry is read from here.
CREATE TABLE device_mutations (
    device_id    uuid NOT NULL REFERENCES devices (id),
    seq          bigint NOT NULL CHECK (seq >= 1),
    hash         bytea NOT NULL CHECK (length(hash) = 32),
    kind         text,
    -- As named by the mutation: not a foreign key, a rejected one may name no real tontine.
    tontine_id   uuid,
    outcome      text NOT NULL,
    received_at  timestamptz NOT NULL,
    PRIMARY KEY (device_id, seq)
);

-- The role a device last pulled a scope under: a change of role resets the scope.
CREATE TABLE device_scopes (
    device_id   uuid NOT NULL REFERENCES devices (id),
    tontine_id  uuid NOT NULL REFERENCES tontines (id),
    role        text NOT NULL,
    PRIMARY KEY (device_id, tontine_id)
);

-- Per scope (tontine): the last change number given out, and the oldest cursor still served.
CREATE TABLE sync_scopes (
    tontine_id  uuid PRIMARY KEY,
    last_seq    bigint NOT NULL,
    min_seq     bigint NOT NULL DEFAULT 0
);

-- The change feed, compacted: one row per entity, carrying the number of its last change.
CREATE TABLE sync_changes (
    tontine_id  uuid NOT NULL,
    entity      text NOT NULL CHECK (entity IN ('tontine', 'member', 'session', 'payment', 'passage')),
    entity_id   uuid NOT NULL,
    change_seq  bigint NOT NULL,
    deleted     boolean NOT NULL DEFAULT false,
    changed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tontine_id, entity, entity_id)
);

CREATE INDEX sync_changes_seq_idx ON sync_changes (tontine_id, change_seq);

-- Every write to a synced table numbers a change in its scope. The scope's counter row is
-- locked until commit, so within a scope changes commit in the order of their numbers and a
-- cursor never skips one.
CREATE FUNCTION sync_record_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    scope uuid;
    row_id uuid;
    seq bigint;
BEGIN
    IF TG_OP = 'DELETE' THEN
        row_id := OLD.id;
        IF TG_TABLE_NAME = 'tontines' THEN scope := OLD.id; ELSE scope := OLD.tontine_id; END IF;
    ELSE
        row_id := NEW.id;
        IF TG_TABLE_NAME = 'tontines' THEN scope := NEW.id; ELSE scope := NEW.tontine_id; END IF;
    END IF;
    INSERT INTO sync_scopes (tontine_id, last_seq) VALUES (scope, 1)
        ON CONFLICT (tontine_id) DO UPDATE SET last_seq = sync_scopes.last_seq + 1
        RETURNING last_seq INTO seq;
    INSERT INTO sync_changes (tontine_id, entity, entity_id, change_seq, deleted, changed_at)
        VALUES (scope, TG_ARGV[0], row_id, seq, TG_OP = 'DELETE', now())
        ON CONFLICT (tontine_id, entity, entity_id) DO UPDATE
        SET change_seq = EXCLUDED.change_seq, deleted = EXCLUDED.deleted,
            changed_at = EXCLUDED.changed_at;
    RETURN NULL;
END $$;

CREATE TRIGGER tontines_sync AFTER INSERT OR UPDATE OR DELETE ON tontines
    FOR EACH ROW EXECUTE FUNCTION sync_record_change('tontine');
CREATE TRIGGER members_sync AFTER INSERT OR UPDATE OR DELETE ON members
    FOR EACH ROW EXECUTE FUNCTION sync_record_change('member');
CREATE TRIGGER sessions_sync AFTER INSERT OR UPDATE OR DELETE ON sessions
    FOR EACH ROW EXECUTE FUNCTION sync_record_change('session');
CREATE TRIGGER payments_sync AFTER INSERT OR UPDATE OR DELETE ON payments
    FOR EACH ROW EXECUTE FUNCTION sync_record_change('payment');
CREATE TRIGGER passages_sync AFTER INSERT OR UPDATE OR DELETE ON passages
    FOR EACH ROW EXECUTE FUNCTION sync_record_change('passage');

-- Rows written before this migration enter the feed once.
INSERT INTO sync_changes (tontine_id, entity, entity_id, change_seq)
    SELECT id, 'tontine', id, 0 FROM tontines
    UNION ALL SELECT tontine_id, 'member', id, 0 FROM members
    UNION ALL SELECT tontine_id, 'session', id, 0 FROM sessions
    UNION ALL SELECT tontine_id, 'payment', id, 0 FROM payments
    UNION ALL SELECT tontine_id, 'passage', id, 0 FROM passages;
INSERT INTO sync_scopes (tontine_id, last_seq) SELECT id, 0 FROM tontines;

-- Cash that arrived by sync and needs a treasurer: kept, never dropped. A flagged payment
-- does not count against the one-live-payment rule until the flag is resolved.
ALTER TABLE payments ADD COLUMN flagged boolean NOT NULL DEFAULT false;
ALTER TABLE payments ADD COLUMN corrects_id uuid REFERENCES payments (id);
DROP INDEX payments_one_live_per_member_session;
CREATE UNIQUE INDEX payments_one_live_per_member_session
    ON payments (session_id, member_id) WHERE status NOT IN ('annule', 'echoue') AND NOT flagged;

CREATE TABLE sync_flags (
    id              uuid PRIMARY KEY,
    tontine_id      uuid NOT NULL REFERENCES tontines (id),
    payment_id      uuid REFERENCES payments (id),
    device_id       uuid NOT NULL REFERENCES devices (id),
    seq             bigint NOT NULL,
    code            text NOT NULL,
    reason          text NOT NULL,
    status          text NOT NULL DEFAULT 'ouvert' CHECK (status IN ('ouvert', 'resolu')),
    resolution      text CHECK (resolution IN ('accepte', 'rejete')),
    resolution_note text,
    resolved_by_id  uuid REFERENCES users (id),
    resolved_at     timestamptz,
    created_at      timestamptz NOT NULL
);

CREATE INDEX sync_flags_tontine_idx ON sync_flags (tontine_id, status, created_at);

-- A gap or a broken hash chain in a device's log: visible to the tontine's managers.
CREATE TABLE integrity_incidents (
    id            uuid PRIMARY KEY,
    -- As named by the offending mutation, when it names one (not a foreign key).
    tontine_id    uuid,
    device_id     uuid NOT NULL REFERENCES devices (id),
    user_id       uuid NOT NULL REFERENCES users (id),
    kind          text NOT NULL CHECK (kind IN ('sequence_gap', 'broken_chain', 'sequence_reused')),
    expected_seq  bigint NOT NULL,
    received_seq  bigint NOT NULL,
    detail        text NOT NULL,
    created_at    timestamptz NOT NULL,
    UNIQUE (device_id, kind, expected_seq, received_seq)
);

CREATE INDEX integrity_incidents_tontine_idx ON integrity_incidents (tontine_id, created_at);
