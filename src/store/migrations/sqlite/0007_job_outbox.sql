-- The jobs a commit triggered, before the job runner files them in `jobs`.
--
-- A submission writes one row here for each record and trigger: its jobs'
-- ids and integrations, and the payload once. That costs the submission a
-- fraction of what the job rows and their four indexes did (measured in
-- docs/benchmarks.md). The runner's claims move the rows into `jobs`, in its
-- own transactions; reads of the jobs move what is left first, so every
-- acknowledged job is visible to the API. The row and the record it belongs
-- to commit together, so the guarantee is the same: no record without its
-- jobs, no job without its record.
CREATE TABLE job_outbox (
  seq        INTEGER PRIMARY KEY,
  type       TEXT NOT NULL,             -- the trigger
  source_id  TEXT NOT NULL,             -- the response or event
  payload    TEXT NOT NULL,             -- the JSON snapshot, the same for each of its jobs
  jobs       TEXT NOT NULL,             -- "<job id> <integration id>\n" for each job
  job_count  INTEGER NOT NULL,
  due_ms     INTEGER NOT NULL,
  created_at TEXT NOT NULL
);
