-- In SQLite this version adds an outbox that the single writer files into
-- `jobs`. In PostgreSQL the jobs are written to `jobs` directly: several
-- nodes claim them with FOR UPDATE SKIP LOCKED.
--
-- A response's job may carry no payload of its own: with revision > 0 and an
-- empty payload, its payload is that revision of the response (source_id),
-- rendered when the job is delivered or read. 0: the payload column holds the
-- snapshot (events).
ALTER TABLE jobs ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;

-- Several nodes share this database. Each keeps some state in memory (app
-- tokens, forms, event types, integrations, providers, the search index) and
-- polls these versions to notice changes made through the others. Triggers
-- bump them, so no write path can forget to.
CREATE TABLE change_versions (
  kind     TEXT PRIMARY KEY,   -- apps | forms | event_types | integrations | providers | pulls:<provider id>
  version  BIGINT NOT NULL
);

CREATE FUNCTION daisy_bump_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO change_versions (kind, version) VALUES (TG_ARGV[0], 1)
    ON CONFLICT (kind) DO UPDATE SET version = change_versions.version + 1;
  RETURN NULL;
END $$;

CREATE TRIGGER apps_changed AFTER INSERT OR UPDATE OR DELETE ON apps
  FOR EACH STATEMENT EXECUTE FUNCTION daisy_bump_change('apps');
CREATE TRIGGER forms_changed AFTER INSERT OR UPDATE OR DELETE ON forms
  FOR EACH STATEMENT EXECUTE FUNCTION daisy_bump_change('forms');
CREATE TRIGGER event_types_changed AFTER INSERT OR UPDATE OR DELETE ON event_types
  FOR EACH STATEMENT EXECUTE FUNCTION daisy_bump_change('event_types');
CREATE TRIGGER integrations_changed AFTER INSERT OR UPDATE OR DELETE ON integrations
  FOR EACH STATEMENT EXECUTE FUNCTION daisy_bump_change('integrations');
-- Not the pull state (etag, cursor, last sync): pulls have their own
-- version per provider, below, so that one pull neither makes every node
-- reload every provider nor waits for another provider's pull to commit.
CREATE TRIGGER providers_changed AFTER INSERT OR DELETE OR UPDATE OF name, definition, updated_at ON providers
  FOR EACH STATEMENT EXECUTE FUNCTION daisy_bump_change('providers');

-- One version per provider for what its pulls stored (one sync row per pull).
CREATE FUNCTION daisy_bump_pull() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO change_versions (kind, version) VALUES ('pulls:' || NEW.provider_id, 1)
    ON CONFLICT (kind) DO UPDATE SET version = change_versions.version + 1;
  RETURN NULL;
END $$;
CREATE TRIGGER provider_syncs_added AFTER INSERT ON provider_syncs
  FOR EACH ROW EXECUTE FUNCTION daisy_bump_pull();

-- Named leases between nodes (for example: which node pulls a provider).
CREATE TABLE leases (
  name      TEXT PRIMARY KEY,
  holder    TEXT NOT NULL,
  until_ms  BIGINT NOT NULL
);
