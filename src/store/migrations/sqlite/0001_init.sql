-- Foundation: settings and client applications.
CREATE TABLE settings (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE apps (
  id          TEXT PRIMARY KEY,          -- UUIDv7
  name        TEXT NOT NULL,
  token_hash  BLOB,                      -- SHA-256 of the token; NULL once deleted
  created_at  TEXT NOT NULL,
  deleted_at  TEXT
) WITHOUT ROWID;

CREATE UNIQUE INDEX apps_token_hash ON apps (token_hash) WHERE token_hash IS NOT NULL;
