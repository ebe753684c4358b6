-- Forms, their versions, responses and response revisions.
CREATE TABLE forms (
  id          TEXT PRIMARY KEY,          -- UUIDv7
  version     INTEGER NOT NULL,
  definition  TEXT NOT NULL,             -- JSON: title, description, metadata, questions, rules
  created_at  TEXT NOT NULL,
  updated_at  TEXT NOT NULL,
  archived_at TEXT
);

CREATE TABLE form_versions (
  form_id     TEXT NOT NULL,
  version     INTEGER NOT NULL,
  definition  TEXT NOT NULL,
  created_at  TEXT NOT NULL,
  PRIMARY KEY (form_id, version)
);

CREATE TABLE responses (
  seq             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,  -- arrival order: the cursor
  id              TEXT NOT NULL UNIQUE,  -- UUIDv7
  form_id         TEXT NOT NULL,
  form_version    INTEGER NOT NULL,
  status          TEXT NOT NULL,         -- accepted | flagged
  answers         TEXT NOT NULL,         -- JSON object
  metadata        TEXT NOT NULL,         -- JSON object
  checks          TEXT NOT NULL,         -- JSON array of rule outcomes
  submitted_at    TEXT NOT NULL,
  received_at     TEXT NOT NULL,
  updated_at      TEXT NOT NULL,
  revision        INTEGER NOT NULL,
  app_id          TEXT,                  -- NULL when the admin submitted
  idempotency_key TEXT,
  request_hash    TEXT                   -- SHA-256 of the submitted body, for key reuse checks
);
CREATE INDEX responses_form_seq ON responses (form_id, seq);
-- Across every node: concurrent duplicates sent to two nodes store one response.
CREATE UNIQUE INDEX responses_idempotency ON responses (form_id, idempotency_key)
  WHERE idempotency_key IS NOT NULL;

CREATE TABLE response_revisions (
  response_id   TEXT NOT NULL,
  revision      INTEGER NOT NULL,
  form_version  INTEGER NOT NULL,
  status        TEXT NOT NULL,
  answers       TEXT NOT NULL,
  checks        TEXT NOT NULL,
  created_at    TEXT NOT NULL,
  PRIMARY KEY (response_id, revision)
);
