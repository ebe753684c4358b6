-- In SQLite this version moves the event indexes into tables written in
-- bulk. PostgreSQL keeps ordinary indexes (created with the events table in
-- 0003): nothing to do here.
SELECT 1;
