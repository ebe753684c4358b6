-- In SQLite this version indexes the job outbox by record. PostgreSQL has no
-- outbox (its jobs are filed as they commit, already indexed by source):
-- nothing to do here.
SELECT 1;
