-- The event indexes become tables written in bulk (see
-- src/store/sqlite/deferred_event_index.h): a commit no longer rewrites one
-- index page per event. Each table's key ends with the event's seq, so it
-- serves the reply's (ts, seq) order; name rides along where a filter on it
-- is common, so it is checked without reading the event.

CREATE TABLE event_idx_session (
  session_seq  INTEGER NOT NULL,
  ts           INTEGER NOT NULL,
  seq          INTEGER NOT NULL,
  PRIMARY KEY (session_seq, ts, seq)
) WITHOUT ROWID;

CREATE TABLE event_idx_time (
  ts    INTEGER NOT NULL,
  seq   INTEGER NOT NULL,
  name  TEXT NOT NULL,
  PRIMARY KEY (ts, seq)
) WITHOUT ROWID;

CREATE TABLE event_idx_category (
  category  TEXT NOT NULL,
  ts        INTEGER NOT NULL,
  seq       INTEGER NOT NULL,
  name      TEXT NOT NULL,
  PRIMARY KEY (category, ts, seq)
) WITHOUT ROWID;

CREATE TABLE event_idx_app (
  app_id  TEXT NOT NULL,
  ts      INTEGER NOT NULL,
  seq     INTEGER NOT NULL,
  PRIMARY KEY (app_id, ts, seq)
) WITHOUT ROWID;

-- Every event with seq <= indexed_through has its entries in the tables
-- above; later ones are re-read into memory at start-up.
CREATE TABLE event_index_state (
  id               INTEGER PRIMARY KEY CHECK (id = 1),
  indexed_through  INTEGER NOT NULL
);

INSERT INTO event_idx_session SELECT session_seq, ts, seq FROM events ORDER BY 1, 2, 3;
INSERT INTO event_idx_time SELECT ts, seq, name FROM events ORDER BY 1, 2;
INSERT INTO event_idx_category SELECT category, ts, seq, name FROM events ORDER BY 1, 2, 3;
INSERT INTO event_idx_app SELECT app_id, ts, seq FROM events ORDER BY 1, 2, 3;
INSERT INTO event_index_state (id, indexed_through) SELECT 1, coalesce(max(seq), 0) FROM events;

DROP INDEX events_by_session;
DROP INDEX events_by_time;
DROP INDEX events_by_category;
DROP INDEX events_by_app;
