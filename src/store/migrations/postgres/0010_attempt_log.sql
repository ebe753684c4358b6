-- The lines a script action wrote with ctx.log during an attempt, one per
-- line ('' when none).
ALTER TABLE job_attempts ADD COLUMN log TEXT NOT NULL DEFAULT '';
