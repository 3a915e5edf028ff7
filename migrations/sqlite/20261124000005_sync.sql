-- Offline sync: enrolled devices, their exactly-once mutation log, the per-scope change feed,
-- the treasurer's review queue and integrity incidents. (PostgreSQL twin: same file name.)

CREATE TABLE devices (
    id            BLOB PRIMARY KEY,
    user_id       BLOB NOT NULL REFERENCES users (id),
    name          TEXT NOT NULL,
    platform      TEXT NOT NULL,
    -- The last mutation number applied (or refused for good) and the hash the next must link to.
    last_seq      INTEGER NOT NULL DEFAULT 0 CHECK (last_seq >= 0),
    last_hash     BLOB NOT NULL CHECK (length(last_hash) = 32),
    created_at    TEXT NOT NULL,
    last_seen_at  TEXT,
    revoked_at    TEXT
) STRICT;

CREATE INDEX devices_user_idx ON devices (user_id, created_at);

-- One row per mutation a device pushed: the answer to a retry is read from here.
CREATE TABLE device_mutations (
    device_id    BLOB NOT NULL REFERENCES devices (id),
    seq          INTEGER NOT NULL CHECK (seq >= 1),
    hash         BLOB NOT NULL CHECK (length(hash) = 32),
    kind         TEXT,
    -- As named by the mutation: not a foreign key, a rejected one may name no real tontine.
    tontine_id   BLOB,
    outcome      TEXT NOT NULL,
    received_at  TEXT NOT NULL,
    PRIMARY KEY (device_id, seq)
) STRICT;

-- The role a device last pulled a scope under: a change of role resets the scope.
CREATE TABLE device_scopes (
    device_id   BLOB NOT NULL REFERENCES devices (id),
    tontine_id  BLOB NOT NULL REFERENCES tontines (id),
    role        TEXT NOT NULL,
    PRIMARY KEY (device_id, tontine_id)
) STRICT;

-- Per scope (tontine): the last change number given out, and the oldest cursor still served.
CREATE TABLE sync_scopes (
    tontine_id  BLOB PRIMARY KEY,
    last_seq    INTEGER NOT NULL,
    min_seq     INTEGER NOT NULL DEFAULT 0
) STRICT;

-- The change feed, compacted: one row per entity, carrying the number of its last change.
CREATE TABLE sync_changes (
    tontine_id  BLOB NOT NULL,
    entity      TEXT NOT NULL CHECK (entity IN ('tontine', 'member', 'session', 'payment', 'passage')),
    entity_id   BLOB NOT NULL,
    change_seq  INTEGER NOT NULL,
    deleted     INTEGER NOT NULL DEFAULT 0,
    changed_at  TEXT NOT NULL,
    PRIMARY KEY (tontine_id, entity, entity_id)
) STRICT;

CREATE INDEX sync_changes_seq_idx ON sync_changes (tontine_id, change_seq);

-- Every write to a synced table numbers a change in its scope (one writer connection
-- serialises them, so changes commit in the order of their numbers).
CREATE TRIGGER tontines_sync_insert AFTER INSERT ON tontines BEGIN
    INSERT INTO sync_scopes (tontine_id, last_seq) VALUES (NEW.id, 1)
        ON CONFLICT (tontine_id) DO UPDATE SET last_seq = last_seq + 1;
    INSERT INTO sync_changes (tontine_id, entity, entity_id, change_seq, deleted, changed_at)
        VALUES (NEW.id, 'tontine', NEW.id,
                (SELECT last_seq FROM sync_scopes WHERE tontine_id = NEW.id), 0,
                strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        ON CONFLICT (tontine_id, entity, entity_id) DO UPDATE
        SET change_seq = excluded.change_seq, deleted = excluded.deleted,
            changed_at = excluded.changed_at;
END;

CREATE TRIGGER tontines_sync_update AFTER UPDATE ON tontines BEGIN
    INSERT INTO sync_scopes (tontine_id, last_seq) VALUES (NEW.id, 1)
        ON CONFLICT (tontine_id) DO UPDATE SET last_seq = last_seq + 1;
    INSERT INTO sync_changes (tontine_id, entity, entity_id, change_seq, deleted, changed_at)
        VALUES (NEW.id, 'tontine', NEW.id,
                (SELECT last_seq FROM sync_scopes WHERE tontine_id = NEW.id), 0,
                strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        ON CONFLICT (tontine_id, entity, entity_id) DO UPDATE
        SET change_seq = excluded.change_seq, deleted = excluded.deleted,
            changed_at = excluded.changed_at;
END;

CREATE TRIGGER tontines_sync_delete AFTER DELETE ON tontines BEGIN
    INSERT INTO sync_scopes (tontine_id, last_seq) VALUES (OLD.id, 1)
        ON CONFLICT (tontine_id) DO UPDATE SET last_seq = last_seq + 1;
    INSERT INTO sync_changes (tontine_id, entity, entity_id, change_seq, deleted, changed_at)
        VALUES (OLD.id, 'tontine', OLD.id,
                (SELECT last_seq FROM sync_scopes WHERE tontine_id = OLD.id), 1,
                strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        ON CONFLICT (tontine_id, entity, entity_id) DO UPDATE
        SET change_seq = excluded.change_seq, deleted = excluded.deleted,
            changed_at = excluded.changed_at;
END;

CREATE TRIGGER members_sync_insert AFTER INSERT ON members BEGIN
    INSERT INTO sync_scopes (tontine_id, last_seq) VALUES (NEW.tontine_id, 1)
        ON CONFLICT (tontine_id) DO UPDATE SET last_seq = last_seq + 1;
    INSERT INTO sync_changes (tontine_id, entity, entity_id, change_seq, deleted, changed_at)
        VALUES (NEW.tontine_id, 'member', NEW.id,
                (SELECT last_seq FROM sync_scopes WHERE tontine_id = NEW.tontine_id), 0,
                strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        ON CONFLICT (tontine_id, entity, entity_id) DO UPDATE
        SET change_seq = excluded.change_seq, deleted = excluded.deleted,
            changed_at = excluded.changed_at;
END;

CREATE TRIGGER members_sync_update AFTER UPDATE ON members BEGIN
    INSERT INTO sync_scopes (tontine_id, last_seq) VALUES (NEW.tontine_id, 1)
        ON CONFLICT (tontine_id) DO UPDATE SET last_seq = last_seq + 1;
    INSERT INTO sync_changes (tontine_id, entity, entity_id, change_seq, deleted, changed_at)
        VALUES (NEW.tontine_id, 'member', NEW.id,
                (SELECT last_seq FROM sync_scopes WHERE tontine_id = NEW.tontine_id), 0,
                strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        ON CONFLICT (tontine_id, entity, entity_id) DO UPDATE
        SET change_seq = excluded.change_seq, deleted = excluded.deleted,
            changed_at = excluded.changed_at;
END;

CREATE TRIGGER members_sync_delete AFTER DELETE ON members BEGIN
    INSERT INTO sync_scopes (tontine_id, last_seq) VALUES (OLD.tontine_id, 1)
        ON CONFLICT (tontine_id) DO UPDATE SET last_seq = last_seq + 1;
    INSERT INTO sync_changes (tontine_id, entity, entity_id, change_seq, deleted, changed_at)
        VALUES (OLD.tontine_id, 'member', OLD.id,
                (SELECT last_seq FROM sync_scopes WHERE tontine_id = OLD.tontine_id), 1,
                strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        ON CONFLICT (tontine_id, entity, entity_id) DO UPDATE
        SET change_seq = excluded.change_seq, deleted = excluded.deleted,
            changed_at = excluded.changed_at;
END;

CREATE TRIGGER sessions_sync_insert AFTER INSERT ON sessions BEGIN
    INSERT INTO sync_scopes (tontine_id, last_seq) VALUES (NEW.tontine_id, 1)
        ON CONFLICT (tontine_id) DO UPDATE SET last_seq = last_seq + 1;
    INSERT INTO sync_changes (tontine_id, entity, entity_id, change_seq, deleted, changed_at)
        VALUES (NEW.tontine_id, 'session', NEW.id,
                (SELECT last_seq FROM sync_scopes WHERE tontine_id = NEW.tontine_id), 0,
                strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        ON CONFLICT (tontine_id, entity, entity_id) DO UPDATE
        SET change_seq = excluded.change_seq, deleted = excluded.deleted,
            changed_at = excluded.changed_at;
END;

CREATE TRIGGER sessions_sync_update AFTER UPDATE ON sessions BEGIN
    INSERT INTO sync_scopes (tontine_id, last_seq) VALUES (NEW.tontine_id, 1)
        ON CONFLICT (tontine_id) DO UPDATE SET last_seq = last_seq + 1;
    INSERT INTO sync_changes (tontine_id, entity, entity_id, change_seq, deleted, changed_at)
        VALUES (NEW.tontine_id, 'session', NEW.id,
                (SELECT last_seq FROM sync_scopes WHERE tontine_id = NEW.tontine_id), 0,
                strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        ON CONFLICT (tontine_id, entity, entity_id) DO UPDATE
        SET change_seq = excluded.change_seq, deleted = excluded.deleted,
            changed_at = excluded.changed_at;
END;

CREATE TRIGGER sessions_sync_delete AFTER DELETE ON sessions BEGIN
    INSERT INTO sync_scopes (tontine_id, last_seq) VALUES (OLD.tontine_id, 1)
        ON CONFLICT (tontine_id) DO UPDATE SET last_seq = last_seq + 1;
    INSERT INTO sync_changes (tontine_id, entity, entity_id, change_seq, deleted, changed_at)
        VALUES (OLD.tontine_id, 'session', OLD.id,
                (SELECT last_seq FROM sync_scopes WHERE tontine_id = OLD.tontine_id), 1,
                strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        ON CONFLICT (tontine_id, entity, entity_id) DO UPDATE
        SET change_seq = excluded.change_seq, deleted = excluded.deleted,
            changed_at = excluded.changed_at;
END;

CREATE TRIGGER payments_sync_insert AFTER INSERT ON payments BEGIN
    INSERT INTO sync_scopes (tontine_id, last_seq) VALUES (NEW.tontine_id, 1)
        ON CONFLICT (tontine_id) DO UPDATE SET last_seq = last_seq + 1;
    INSERT INTO sync_changes (tontine_id, entity, entity_id, change_seq, deleted, changed_at)
        VALUES (NEW.tontine_id, 'payment', NEW.id,
                (SELECT last_seq FROM sync_scopes WHERE tontine_id = NEW.tontine_id), 0,
                strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        ON CONFLICT (tontine_id, entity, entity_id) DO UPDATE
        SET change_seq = excluded.change_seq, deleted = excluded.deleted,
            changed_at = excluded.changed_at;
END;

CREATE TRIGGER payments_sync_update AFTER UPDATE ON payments BEGIN
    INSERT INTO sync_scopes (tontine_id, last_seq) VALUES (NEW.tontine_id, 1)
        ON CONFLICT (tontine_id) DO UPDATE SET last_seq = last_seq + 1;
    INSERT INTO sync_changes (tontine_id, entity, entity_id, change_seq, deleted, changed_at)
        VALUES (NEW.tontine_id, 'payment', NEW.id,
                (SELECT last_seq FROM sync_scopes WHERE tontine_id = NEW.tontine_id), 0,
                strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        ON CONFLICT (tontine_id, entity, entity_id) DO UPDATE
        SET change_seq = excluded.change_seq, deleted = excluded.deleted,
            changed_at = excluded.changed_at;
END;

CREATE TRIGGER payments_sync_delete AFTER DELETE ON payments BEGIN
    INSERT INTO sync_scopes (tontine_id, last_seq) VALUES (OLD.tontine_id, 1)
        ON CONFLICT (tontine_id) DO UPDATE SET last_seq = last_seq + 1;
    INSERT INTO sync_changes (tontine_id, entity, entity_id, change_seq, deleted, changed_at)
        VALUES (OLD.tontine_id, 'payment', OLD.id,
                (SELECT last_seq FROM sync_scopes WHERE tontine_id = OLD.tontine_id), 1,
                strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        ON CONFLICT (tontine_id, entity, entity_id) DO UPDATE
        SET change_seq = excluded.change_seq, deleted = excluded.deleted,
            changed_at = excluded.changed_at;
END;

CREATE TRIGGER passages_sync_insert AFTER INSERT ON passages BEGIN
    INSERT INTO sync_scopes (tontine_id, last_seq) VALUES (NEW.tontine_id, 1)
        ON CONFLICT (tontine_id) DO UPDATE SET last_seq = last_seq + 1;
    INSERT INTO sync_changes (tontine_id, entity, entity_id, change_seq, deleted, changed_at)
        VALUES (NEW.tontine_id, 'passage', NEW.id,
                (SELECT last_seq FROM sync_scopes WHERE tontine_id = NEW.tontine_id), 0,
                strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        ON CONFLICT (tontine_id, entity, entity_id) DO UPDATE
        SET change_seq = excluded.change_seq, deleted = excluded.deleted,
            changed_at = excluded.changed_at;
END;

CREATE TRIGGER passages_sync_update AFTER UPDATE ON passages BEGIN
    INSERT INTO sync_scopes (tontine_id, last_seq) VALUES (NEW.tontine_id, 1)
        ON CONFLICT (tontine_id) DO UPDATE SET last_seq = last_seq + 1;
    INSERT INTO sync_changes (tontine_id, entity, entity_id, change_seq, deleted, changed_at)
        VALUES (NEW.tontine_id, 'passage', NEW.id,
                (SELECT last_seq FROM sync_scopes WHERE tontine_id = NEW.tontine_id), 0,
                strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        ON CONFLICT (tontine_id, entity, entity_id) DO UPDATE
        SET change_seq = excluded.change_seq, deleted = excluded.deleted,
            changed_at = excluded.changed_at;
END;

CREATE TRIGGER passages_sync_delete AFTER DELETE ON passages BEGIN
    INSERT INTO sync_scopes (tontine_id, last_seq) VALUES (OLD.tontine_id, 1)
        ON CONFLICT (tontine_id) DO UPDATE SET last_seq = last_seq + 1;
    INSERT INTO sync_changes (tontine_id, entity, entity_id, change_seq, deleted, changed_at)
        VALUES (OLD.tontine_id, 'passage', OLD.id,
                (SELECT last_seq FROM sync_scopes WHERE tontine_id = OLD.tontine_id), 1,
                strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        ON CONFLICT (tontine_id, entity, entity_id) DO UPDATE
        SET change_seq = excluded.change_seq, deleted = excluded.deleted,
            changed_at = excluded.changed_at;
END;

-- Rows written before this migration enter the feed once.
INSERT INTO sync_changes (tontine_id, entity, entity_id, change_seq, changed_at)
    SELECT id, 'tontine', id, 0, created_at FROM tontines
    UNION ALL SELECT tontine_id, 'member', id, 0, joined_at FROM members
    UNION ALL SELECT tontine_id, 'session', id, 0, created_at FROM sessions
    UNION ALL SELECT tontine_id, 'payment', id, 0, created_at FROM payments
    UNION ALL SELECT tontine_id, 'passage', id, 0, created_at FROM passages;
INSERT INTO sync_scopes (tontine_id, last_seq) SELECT id, 0 FROM tontines;

-- Cash that arrived by sync and needs a treasurer: kept, never dropped. A flagged payment
-- does not count against the one-live-payment rule until the flag is resolved.
ALTER TABLE payments ADD COLUMN flagged INTEGER NOT NULL DEFAULT 0;
ALTER TABLE payments ADD COLUMN corrects_id BLOB REFERENCES payments (id);
DROP INDEX payments_one_live_per_member_session;
CREATE UNIQUE INDEX payments_one_live_per_member_session
    ON payments (session_id, member_id) WHERE status NOT IN ('annule', 'echoue') AND flagged = 0;

CREATE TABLE sync_flags (
    id              BLOB PRIMARY KEY,
    tontine_id      BLOB NOT NULL REFERENCES tontines (id),
    payment_id      BLOB REFERENCES payments (id),
    device_id       BLOB NOT NULL REFERENCES devices (id),
    seq             INTEGER NOT NULL,
    code            TEXT NOT NULL,
    reason          TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'ouvert' CHECK (status IN ('ouvert', 'resolu')),
    resolution      TEXT CHECK (resolution IN ('accepte', 'rejete')),
    resolution_note TEXT,
    resolved_by_id  BLOB REFERENCES users (id),
    resolved_at     TEXT,
    created_at      TEXT NOT NULL
) STRICT;

CREATE INDEX sync_flags_tontine_idx ON sync_flags (tontine_id, status, created_at);

-- A gap or a broken hash chain in a device's log: visible to the tontine's managers.
CREATE TABLE integrity_incidents (
    id            BLOB PRIMARY KEY,
    -- As named by the offending mutation, when it names one (not a foreign key).
    tontine_id    BLOB,
    device_id     BLOB NOT NULL REFERENCES devices (id),
    user_id       BLOB NOT NULL REFERENCES users (id),
    kind          TEXT NOT NULL CHECK (kind IN ('sequence_gap', 'broken_chain', 'sequence_reused')),
    expected_seq  INTEGER NOT NULL,
    received_seq  INTEGER NOT NULL,
    detail        TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    UNIQUE (device_id, kind, expected_seq, received_seq)
) STRICT;

CREATE INDEX integrity_incidents_tontine_idx ON integrity_incidents (tontine_id, created_at);
