-- An integration's latest delivery error ("<when> <what>"), until a delivery
-- succeeds; '' when none. Written with the attempt that ends so, so that every
-- node shows it and it outlives a restart (GET /v1/integrations/{id}).
ALTER TABLE integrations ADD COLUMN last_error TEXT NOT NULL DEFAULT '';
