-- Feeds: providers Daisy pulls from, a record of every pull, and what was
-- pulled. Nothing pulled is deleted while its provider exists: a plan or item
-- that leaves its feed stays with the last values seen. Deleting a provider
-- deletes what it brought.

CREATE TABLE providers (
  id            TEXT PRIMARY KEY,          -- UUIDv7
  name          TEXT NOT NULL UNIQUE,
  definition    TEXT NOT NULL,             -- JSON: url, format, interval_s, options...
  created_at    TEXT NOT NULL,
  updated_at    TEXT NOT NULL,
  -- Pull state, carried across restarts.
  etag          TEXT NOT NULL DEFAULT '',
  last_modified TEXT NOT NULL DEFAULT '',
  cursor        TEXT NOT NULL DEFAULT '',  -- json/daisy formats: where the next pull starts
  last_sync_at  TEXT NOT NULL DEFAULT ''   -- the last successful pull
);

CREATE TABLE provider_syncs (
  seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  provider_id  TEXT NOT NULL,
  started_at   TEXT NOT NULL,
  duration_ms  BIGINT NOT NULL,
  http_status  BIGINT NOT NULL,            -- 0 when no response came
  seen         BIGINT  NOT NULL,
  new          BIGINT  NOT NULL,
  changed      BIGINT  NOT NULL,
  skipped      BIGINT  NOT NULL,
  error        TEXT NOT NULL,              -- empty on success
  trigger      TEXT NOT NULL               -- schedule | manual | fresh
);
CREATE INDEX provider_syncs_by_provider ON provider_syncs (provider_id, seq);

-- fever-xml plans, keyed as the provider keys them (a plan id alone is not
-- unique). A plan is searchable once its base plan is in online_base_plans.
CREATE TABLE plans (
  provider_id   TEXT NOT NULL,
  base_plan_id  TEXT NOT NULL,
  plan_id       TEXT NOT NULL,
  id            TEXT NOT NULL,             -- stable UUID derived from the key
  title         TEXT NOT NULL,
  sell_mode     TEXT NOT NULL,
  starts_local  TEXT NOT NULL,             -- YYYY-MM-DDTHH:MM:SS, the provider's time zone
  ends_local    TEXT NOT NULL,
  min_price     TEXT NOT NULL,             -- decimal text, as the feed wrote it
  max_price     TEXT NOT NULL,
  attributes    TEXT NOT NULL,             -- JSON: the base plan's and plan's attributes, zone count
  first_seen_at TEXT NOT NULL,
  updated_at    TEXT NOT NULL,
  PRIMARY KEY (provider_id, base_plan_id, plan_id)
);

-- Base plans seen with sell_mode="online" in any pull, whether or not a plan
-- of theirs could be stored then: their plans are searchable for good.
CREATE TABLE online_base_plans (
  provider_id   TEXT NOT NULL,
  base_plan_id  TEXT NOT NULL,
  first_seen_at TEXT NOT NULL,
  PRIMARY KEY (provider_id, base_plan_id)
);

-- Items of json and daisy providers, by the provider's own id.
CREATE TABLE items (
  provider_id   TEXT NOT NULL,
  item_id       TEXT COLLATE "C" NOT NULL,  -- listed in byte order, as SQLite orders it
  data          TEXT NOT NULL,             -- the item as the provider sent it (JSON)
  first_seen_at TEXT NOT NULL,
  updated_at    TEXT NOT NULL,
  PRIMARY KEY (provider_id, item_id)
);
