-- In PostgreSQL this version adds integration_pace, which holds integrations'
-- limits and back-off for every node together. One process runs a SQLite
-- database's jobs and holds the limits itself: nothing to do here.
SELECT 1;
