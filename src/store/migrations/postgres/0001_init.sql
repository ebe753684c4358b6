-- Foundation: settings and client applications (PostgreSQL dialect of the
-- same version in ../sqlite; every version exists in both).
CREATE TABLE settings (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

CREATE TABLE apps (
  id          TEXT PRIMARY KEY,          -- UUIDv7
  name        TEXT NOT NULL,
  token_hash  TEXT,                      -- SHA-256 of the token (hex); NULL once deleted
  created_at  TEXT NOT NULL,
  deleted_at  TEXT
);

CREATE UNIQUE INDEX apps_token_hash ON apps (token_hash) WHERE token_hash IS NOT NULL;
