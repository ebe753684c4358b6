-- Each integration's limits and back-off, held by the database so that every
-- node claiming its jobs holds them together (PostgresStore::claim_jobs). A
-- claim locks the row of an integration it takes jobs of, so nodes take
-- turns with it.
CREATE TABLE integration_pace (
  integration_id  TEXT PRIMARY KEY,
  max_per_second  INTEGER NOT NULL DEFAULT 0,  -- from the definition's config; 0: no limit
  max_in_flight   INTEGER NOT NULL DEFAULT 0,  -- jobs running at once, every node together; 0: no limit
  next_turn_us    BIGINT NOT NULL DEFAULT 0,   -- the next free turn at max_per_second (us since the epoch)
  paused_until_ms BIGINT NOT NULL DEFAULT 0,   -- no job is claimed before then (the receiver's back-off)
  failures        INTEGER NOT NULL DEFAULT 0,  -- the receiver's failures in a row (ReceiverBackOff)
  pauses          INTEGER NOT NULL DEFAULT 0   -- its pauses since it last answered
);
INSERT INTO integration_pace (integration_id, max_per_second, max_in_flight)
  SELECT id, coalesce((definition::jsonb #>> '{config,max_per_second}')::int, 0),
         coalesce((definition::jsonb #>> '{config,max_in_flight}')::int, 0)
  FROM integrations
  WHERE definition::jsonb -> 'config' ?| ARRAY['max_per_second', 'max_in_flight'];

-- A paced integration's due jobs, and its jobs running, without a walk of the queue.
CREATE INDEX jobs_due_by_integration ON jobs (integration_id, due_ms)
  WHERE status IN ('pending', 'failed', 'running', 'awaiting_callback');
