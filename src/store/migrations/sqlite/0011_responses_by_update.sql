-- A live stream resuming after a restart, or after more than its ring holds,
-- reads back the responses stored or corrected since (GET /v1/stream).
CREATE INDEX responses_by_update ON responses (updated_at);
