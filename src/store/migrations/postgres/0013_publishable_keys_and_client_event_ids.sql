-- Issue 22. An app's publishable key (shown by the API: it is not a secret),
-- the origins a page may send from, the forms the key may submit responses
-- to (each list space-separated), and the key's token bucket.
ALTER TABLE apps ADD COLUMN publishable_key TEXT;
ALTER TABLE apps ADD COLUMN allowed_origins TEXT NOT NULL DEFAULT '';
ALTER TABLE apps ADD COLUMN forms TEXT NOT NULL DEFAULT '';
ALTER TABLE apps ADD COLUMN events_per_second BIGINT NOT NULL DEFAULT 1000;
ALTER TABLE apps ADD COLUMN burst BIGINT NOT NULL DEFAULT 2000;
UPDATE apps SET publishable_key = 'dpk_' || replace(gen_random_uuid()::text, '-', '') WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX apps_publishable_key ON apps (publishable_key) WHERE publishable_key IS NOT NULL;

-- The ids clients gave their events, per app, for as long as the events are
-- kept: an event whose id is here is acknowledged again, not stored again.
-- Concurrent writers of one id (several nodes) meet on the primary key.
CREATE TABLE event_client_ids (
  app_id  TEXT NOT NULL,
  id      TEXT NOT NULL,             -- lower-case canonical UUID
  PRIMARY KEY (app_id, id)
);
