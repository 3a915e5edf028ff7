-- Accounts and authentication: users, refresh tokens, one-time codes.
-- Ids are 16-byte UUID blobs, times RFC 3339 text in UTC, booleans 0/1.

CREATE TABLE users (
    id              BLOB PRIMARY KEY CHECK (length(id) = 16),
    email           TEXT UNIQUE,
    phone           TEXT NOT NULL UNIQUE,
    password_hash   TEXT,
    first_name      TEXT NOT NULL CHECK (length(first_name) BETWEEN 1 AND 100),
    last_name       TEXT NOT NULL CHECK (length(last_name) BETWEEN 1 AND 100),
    role            TEXT NOT NULL DEFAULT 'membre' CHECK (role IN ('membre', 'admin')),
    is_active       INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    email_verified  INTEGER NOT NULL DEFAULT 0 CHECK (email_verified IN (0, 1)),
    phone_verified  INTEGER NOT NULL DEFAULT 0 CHECK (phone_verified IN (0, 1)),
    profile_picture TEXT,
    address         TEXT,
    city            TEXT,
    country         TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    last_login      TEXT,
    CHECK (email IS NULL OR email = lower(email))
) STRICT;

CREATE INDEX users_name_idx ON users (lower(last_name), lower(first_name));

CREATE TABLE refresh_tokens (
    id          BLOB PRIMARY KEY CHECK (length(id) = 16),
    user_id     BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family_id   BLOB NOT NULL,
    token_hash  BLOB NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    device_id   BLOB,
    issued_at   TEXT NOT NULL,
    expires_at  TEXT NOT NULL CHECK (expires_at > issued_at),
    used_at     TEXT,
    revoked_at  TEXT
) STRICT;

CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id);

CREATE TABLE one_time_codes (
    id          BLOB PRIMARY KEY CHECK (length(id) = 16),
    user_id     BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose     TEXT NOT NULL CHECK (purpose IN ('password_reset', 'verify_email', 'verify_phone')),
    code_hash   BLOB NOT NULL CHECK (length(code_hash) = 32),
    attempts    INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    expires_at  TEXT NOT NULL,
    consumed_at TEXT,
    created_at  TEXT NOT NULL
) STRICT;

CREATE INDEX one_time_codes_user_purpose_idx ON one_time_codes (user_id, purpose);
