-- Events: behaviour events sent by apps, their types (JSON Schemas for data),
-- the events that were rejected, and each app's policy for unknown types.

ALTER TABLE apps ADD COLUMN unknown_event_types TEXT NOT NULL DEFAULT 'accept';

-- seq is the arrival order; ts the event's own time in nanoseconds since the
-- Unix epoch (UTC). Reads are ordered by (ts, seq); each index ends with them.
-- The INCLUDE columns let a second filter (name; app within a category) be
-- checked on index entries by an index-only scan, without reading the rows
-- it rejects (on 2M events, a rare name in a category: 200 ms -> 9 ms).
CREATE TABLE events (
  seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id           TEXT NOT NULL,            -- UUIDv7, generated at arrival
  app_id       TEXT NOT NULL,
  session_id   TEXT NOT NULL,            -- lower-case canonical UUID
  category     TEXT NOT NULL,
  name         TEXT NOT NULL,
  ts           BIGINT NOT NULL,
  data         TEXT NOT NULL,            -- JSON object
  received_at  BIGINT NOT NULL           -- nanoseconds since the epoch
);
CREATE INDEX events_by_session ON events (session_id, ts, seq);
CREATE INDEX events_by_time ON events (ts, seq) INCLUDE (name);
CREATE INDEX events_by_category ON events (category, ts, seq) INCLUDE (name, app_id);
CREATE INDEX events_by_app ON events (app_id, ts, seq) INCLUDE (name);

CREATE TABLE event_types (
  category    TEXT NOT NULL,
  name        TEXT NOT NULL,
  schema      TEXT NOT NULL,             -- JSON Schema for the event's data
  created_at  TEXT NOT NULL,
  updated_at  TEXT NOT NULL,
  PRIMARY KEY (category, name)
);

-- Installed on first start; editable and removable like any other type.
INSERT INTO event_types (category, name, schema, created_at, updated_at)
SELECT t.category, t.name, t.schema, n.now, n.now
FROM (VALUES
  ('page interaction', 'pageview',
   '{"type":"object","properties":{"host":{"type":"string"},"path":{"type":"string"}},"required":["host","path"]}'),
  ('page interaction', 'cta click',
   '{"type":"object","properties":{"host":{"type":"string"},"path":{"type":"string"},"element":{"type":"string"}},"required":["host","path","element"]}'),
  ('form interaction', 'submit',
   '{"type":"object","properties":{"host":{"type":"string"},"path":{"type":"string"},"form":{"type":"object","properties":{"first_name":{"type":"string"},"last_name":{"type":"string"}},"required":["first_name","last_name"]}},"required":["host","path","form"]}')
) AS t (category, name, schema),
(SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS now) AS n;

-- Rejected events, kept for monitoring; bounded by a retention cap (oldest first).
-- The store gives seq itself (max + 1, under a lock: contiguous, as the cap's
-- trim needs), with OVERRIDING SYSTEM VALUE.
CREATE TABLE event_rejections (
  seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  app_id       TEXT NOT NULL,
  received_at  BIGINT NOT NULL,          -- nanoseconds since the epoch
  reason       TEXT NOT NULL,            -- the main reason, as counted in /metrics
  errors       TEXT NOT NULL,            -- JSON array of {"field","message"}
  payload      TEXT NOT NULL,            -- the raw event, capped in size
  truncated    BOOLEAN NOT NULL DEFAULT false
);
CREATE INDEX event_rejections_by_time ON event_rejections (received_at);
CREATE INDEX event_rejections_by_app ON event_rejections (app_id);
