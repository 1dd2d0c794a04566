-- vector leg (no filters); params: ["[0.1]",40,"00000000-0000-4000-8000-00000000000c"]
SELECT cv.chunk_id, (1 - (cv.embedding::vector(1536) <=> $1::vector(1536)))::float8 AS score
FROM chunk_vectors cv
JOIN chunks c ON c.id = cv.chunk_id
JOIN documents d ON d.id = c.document_id
WHERE cv.index_version_id = '00000000-0000-4000-8000-0000000000a1'
  AND c.collection_id = $3
  AND d.status = 'ready'
ORDER BY cv.embedding::vector(1536) <=> $1::vector(1536)
LIMIT $2;

-- vector leg (document and metadata filters); params: ["[0.1]",40,"00000000-0000-4000-8000-00000000000c",["00000000-0000-4000-8000-0000000000d1"],"{\"lang\":\"en\"}"]
SELECT cv.chunk_id, (1 - (cv.embedding::vector(1536) <=> $1::vector(1536)))::float8 AS score
FROM chunk_vectors cv
JOIN chunks c ON c.id = cv.chunk_id
JOIN documents d ON d.id = c.document_id
WHERE cv.index_version_id = '00000000-0000-4000-8000-0000000000a1'
  AND c.collection_id = $3
  AND d.status = 'ready'
  AND c.document_id = ANY($4::uuid[])
  AND d.metadata @> $5::jsonb
ORDER BY cv.embedding::vector(1536) <=> $1::vector(1536)
LIMIT $2;

-- keyword leg (no filters); params: ["q",40,"00000000-0000-4000-8000-00000000000c"]
SELECT c.id AS chunk_id, ts_rank_cd(c.tsv, q.query)::float8 AS score
FROM websearch_to_tsquery('english', $1) AS q(query)
JOIN chunks c ON c.tsv @@ q.query
JOIN documents d ON d.id = c.document_id
WHERE c.collection_id = $3
  AND d.status = 'ready'
ORDER BY score DESC, c.id
LIMIT $2;

-- keyword leg (document and metadata filters); params: ["q",40,"00000000-0000-4000-8000-00000000000c",["00000000-0000-4000-8000-0000000000d1"],"{\"lang\":\"en\"}"]
SELECT c.id AS chunk_id, ts_rank_cd(c.tsv, q.query)::float8 AS score
FROM websearch_to_tsquery('english', $1) AS q(query)
JOIN chunks c ON c.tsv @@ q.query
JOIN documents d ON d.id = c.document_id
WHERE c.collection_id = $3
  AND d.status = 'ready'
  AND c.document_id = ANY($4::uuid[])
  AND d.metadata @> $5::jsonb
ORDER BY score DESC, c.id
LIMIT $2;
