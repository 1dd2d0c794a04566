-- The embedding cache (0005) becomes per team, and loses what deleted content left in it.
-- Keyed by text hash and model alone it was shared by every team: a team could tell whether a text
-- had been embedded by anyone (a hit makes no provider call, which its usage shows), and a deleted
-- document's vectors stayed forever. Now the key starts with the same hash, model and requested
-- dimension, and adds the team billed for the call; a hit tells a team only what it embedded itself.
-- Deleting a document or collection, and a replacement's swap, delete the vectors of the text that
-- left whose team holds that text in no surviving chunk (services/ingestion embed/embedding-cache.ts).
-- Rows from before name no team, so they go: the next build or upload of their text embeds it again.
TRUNCATE embedding_cache;
ALTER TABLE embedding_cache ADD COLUMN team_id text NOT NULL;
ALTER TABLE embedding_cache DROP CONSTRAINT embedding_cache_pkey;
-- The hash leads: a lookup names all four, and the clean-up after a delete looks rows up by hash.
ALTER TABLE embedding_cache ADD PRIMARY KEY (content_sha256, embedding_model, requested_dimensions, team_id);
-- The clean-up asks, per hash, whether a surviving chunk still holds the text: without this, every
-- document delete would read every chunk.
CREATE INDEX chunks_content_sha_idx ON chunks (content_sha256);
