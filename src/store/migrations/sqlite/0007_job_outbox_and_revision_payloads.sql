-- The jobs a commit triggered, before the job runner files them in `jobs`.
--
-- A submission writes one row here for each record and trigger: its jobs'
-- ids, integrations and due times, and the payload once. That costs the
-- submission a fraction of what the job rows and their four indexes did
-- (measured in docs/benchmarks.md). The runner's claims move the rows into
-- `jobs`, in its own transactions; reads of the jobs move what is left first,
-- so every acknowledged job is visible to the API. The row and the record it
-- belongs to commit together, so the guarantee is the same: no record
-- without its jobs, no job without its record.
--
-- The payload comes last: the queue's count reads job_count without the
-- overflow pages of a large payload.
CREATE TABLE job_outbox (
  seq        INTEGER PRIMARY KEY,
  job_count  INTEGER NOT NULL,
  type       TEXT NOT NULL,             -- the trigger
  source_id  TEXT NOT NULL,             -- the response or event
  jobs       TEXT NOT NULL,             -- "<job id> <integration id> <due_ms>\n" for each job
  created_at TEXT NOT NULL,
  revision   INTEGER NOT NULL,          -- as in jobs.revision
  payload    TEXT NOT NULL              -- the JSON snapshot, the same for each of its jobs ('' with a revision)
);

-- A response's job may carry no payload of its own: with revision > 0 and an
-- empty payload, its payload is that revision of the response (source_id),
-- which the store keeps (responses and response_revisions), rendered when the
-- job is delivered or read. A submission then writes its payload once, in the
-- response, instead of once more in the outbox. 0: the payload column holds
-- the snapshot (events, and the jobs made before this migration).
ALTER TABLE jobs ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
