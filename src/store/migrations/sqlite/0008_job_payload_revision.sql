-- A response's job may carry no payload of its own: with revision > 0 and an
-- empty payload, its payload is that revision of the response (source_id),
-- which the store keeps (responses and response_revisions), rendered when the
-- job is delivered or read. A submission then writes its payload once, in the
-- response, instead of once more per outbox row (measured in
-- docs/benchmarks.md). 0: the payload column holds the snapshot (events,
-- replays, and the jobs made before this migration).
ALTER TABLE jobs ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
ALTER TABLE job_outbox ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
