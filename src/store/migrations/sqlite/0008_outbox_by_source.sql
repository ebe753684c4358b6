-- A repeated submission answers with the jobs of its record, some of which
-- may still wait in the outbox: this index finds them without scanning a
-- backlog of a million rows.
CREATE INDEX job_outbox_by_source ON job_outbox (source_id);
