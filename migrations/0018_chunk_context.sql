-- What a chunk's text cannot be read without, kept apart from the text (which stays exactly the
-- extracted text between char_start and char_end, for citations and highlights): for a chunk that
-- starts inside a Markdown table past its header, the header and delimiter rows. It is embedded
-- above the text and shown to the answering model; keyword search indexes the text alone.
-- content_sha256 is the hash of what is embedded (context, a line break, then the text), so it stays
-- the embedding cache key; for a chunk without context, which is every chunk stored before this,
-- that is the hash of the text as before.
ALTER TABLE chunks ADD COLUMN context text;
