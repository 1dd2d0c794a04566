-- Where the section and the page change inside a chunk: a list of {"at": offset in the chunk's text,
-- "heading_path": [...] and/or "page": n}, in order. A chunk often runs across a heading or a page
-- break, and its heading_path and page_start say only where it starts, so a citation of a sentence
-- further down named the section and page before it. NULL where nothing changes inside the chunk,
-- which is every chunk stored before this; those keep the chunk-level values.
ALTER TABLE chunks ADD COLUMN marks jsonb;
