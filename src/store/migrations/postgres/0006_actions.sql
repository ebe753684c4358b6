-- Actions: integrations attached to a form or an app, and the jobs that
-- deliver what they trigger (an outbox: a job is written in the same
-- transaction as the response or event that caused it).

CREATE TABLE integrations (
  id              TEXT PRIMARY KEY,          -- UUIDv7
  source_id       TEXT NOT NULL,             -- the form or app it is attached to
  definition      TEXT NOT NULL,             -- JSON (IntegrationDefinition::to_json)
  -- Webhook signing secrets (whsec_...). They sign every request, so they are
  -- kept as they are, not hashed; the previous one is also used until
  -- previous_until (a rotation's 24 hours).
  secret          TEXT NOT NULL DEFAULT '',
  previous_secret TEXT NOT NULL DEFAULT '',
  previous_until  TEXT NOT NULL DEFAULT '',
  disabled_reason TEXT NOT NULL DEFAULT '',  -- why Daisy disabled it (e.g. 410 Gone)
  created_at      TEXT NOT NULL,
  updated_at      TEXT NOT NULL
);
CREATE INDEX integrations_by_source ON integrations (source_id);

-- status: pending | running | awaiting_callback | succeeded | failed | dead | cancelled.
-- due_ms is when the job is next taken: for pending and failed ones, when the
-- next attempt may start; for running and awaiting_callback ones, when their
-- lease (or callback wait) ends, after which they are taken up again.
CREATE TABLE jobs (
  seq             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id              TEXT NOT NULL UNIQUE,      -- UUIDv7; the webhook-id of every attempt
  integration_id  TEXT NOT NULL,
  source_id       TEXT NOT NULL,             -- the response or event
  type            TEXT NOT NULL,             -- response.created | response.updated | event.created
  payload         TEXT NOT NULL,             -- JSON snapshot taken when the job was made
  status          TEXT NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0,
  due_ms          BIGINT NOT NULL,
  last_error      TEXT NOT NULL DEFAULT '',
  output          TEXT NOT NULL DEFAULT '',  -- JSON a redis job's callback reported ('' when none)
  -- SHA-256 (hex) of the token a redis job's microservice calls back with,
  -- while the job is awaiting_callback.
  callback_token_hash TEXT NOT NULL DEFAULT '',
  -- The node whose runner claimed it last (see PostgresOptions::node_id).
  leased_by       TEXT NOT NULL DEFAULT '',
  created_at      TEXT NOT NULL,
  updated_at      TEXT NOT NULL
);
CREATE INDEX jobs_due ON jobs (due_ms)
  WHERE status IN ('pending', 'failed', 'running', 'awaiting_callback');
CREATE INDEX jobs_by_integration ON jobs (integration_id, seq);
CREATE INDEX jobs_by_source ON jobs (source_id, seq);
CREATE INDEX jobs_by_status ON jobs (status, seq);

CREATE TABLE job_attempts (
  job_seq      BIGINT NOT NULL,
  number       INTEGER NOT NULL,             -- 1, 2, ...
  started_at   TEXT NOT NULL,
  duration_ms  BIGINT NOT NULL,
  outcome      TEXT NOT NULL,                -- succeeded | failed | timeout | refused | callback ...
  http_status  INTEGER NOT NULL DEFAULT 0,   -- 0: no HTTP response
  error        TEXT NOT NULL DEFAULT '',     -- an excerpt
  PRIMARY KEY (job_seq, number)
);
