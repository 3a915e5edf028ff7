-- Accounts and authentication: users, refresh tokens, one-time codes.

CREATE TABLE users (
    id              uuid PRIMARY KEY,
    email           text UNIQUE,
    phone           text NOT NULL UNIQUE,
    password_hash   text,
    first_name      text NOT NULL CHECK (length(first_name) BETWEEN 1 AND 100),
    last_name       text NOT NULL CHECK (length(last_name) BETWEEN 1 AND 100),
    role            text NOT NULL DEFAULT 'membre' CHECK (role IN ('membre', 'admin')),
    is_active       boolean NOT NULL DEFAULT true,
    email_verified  boolean NOT NULL DEFAULT false,
    phone_verified  boolean NOT NULL DEFAULT false,
    profile_picture text,
    address         text,
    city            text,
    country         text,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    last_login      timestamptz,
    CHECK (email IS NULL OR email = lower(email))
);

CREATE INDEX users_name_idx ON users (lower(last_name), lower(first_name));

CREATE TABLE refresh_tokens (
    id          uuid PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family_id   uuid NOT NULL,
    token_hash  bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    device_id   uuid,
    issued_at   timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL CHECK (expires_at > issued_at),
    used_at     timestamptz,
    revoked_at  timestamptz
);

CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id);

CREATE TABLE one_time_codes (
    id          uuid PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose     text NOT NULL CHECK (purpose IN ('password_reset', 'verify_email', 'verify_phone')),
    code_hash   bytea NOT NULL CHECK (length(code_hash) = 32),
    attempts    integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    expires_at  timestamptz NOT NULL,
    consumed_at timestamptz,
    created_at  timestamptz NOT NULL
);

CREATE INDEX one_time_codes_user_purpose_idx ON one_time_codes (user_id, purpose);
