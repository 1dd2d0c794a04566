-- vector leg (no filters); params: ["[0.1]",40,"00000000-0000-4000-8000-00000000000c"]
SELECT cv.chunk_id, (1 - (cv.embedding::vector(1536) <=> $1::vector(1536)))::float8 AS score
FROM chunk_vectors cv
JOIN chunks c ON c.id = cv.chunk_id
JOIN documents d ON d.id = c.document_id
WHERE cv.index_version_id = '00000000-0000-4000-8000-0000000000a1'
  AND c.collection_id = $3
  AND d.status = 'ready' AND d.replaces_document_id IS NULL
ORDER BY cv.embedding::vector(1536) <=> $1::vector(1536)
LIMIT $2;

-- vector leg (document and metadata filters); params: ["[0.1]",40,"00000000-0000-4000-8000-00000000000c",["00000000-0000-4000-8000-0000000000d1"],"{\"lang\":\"en\"}","{\"lang\":[\"en\"]}"]
SELECT cv.chunk_id, (1 - (cv.embedding::vector(1536) <=> $1::vector(1536)))::float8 AS score
FROM chunk_vectors cv
JOIN chunks c ON c.id = cv.chunk_id
JOIN documents d ON d.id = c.document_id
WHERE cv.index_version_id = '00000000-0000-4000-8000-0000000000a1'
  AND c.collection_id = $3
  AND d.status = 'ready' AND d.replaces_document_id IS NULL
  AND c.document_id = ANY($4::uuid[])
  AND (d.metadata @> $5::jsonb OR d.metadata @> $6::jsonb)
ORDER BY cv.embedding::vector(1536) <=> $1::vector(1536)
LIMIT $2;

-- vector leg of a version whose graph is still filling (graph + exact pending tail); params: ["[0.1]",40,"00000000-0000-4000-8000-00000000000c"]
SELECT chunk_id, score FROM (
(SELECT cv.chunk_id, (1 - (cv.embedding::vector(1536) <=> $1::vector(1536)))::float8 AS score
FROM chunk_vectors cv
JOIN chunks c ON c.id = cv.chunk_id
JOIN documents d ON d.id = c.document_id
WHERE cv.index_version_id = '00000000-0000-4000-8000-0000000000a1' AND NOT cv.graph_pending
  AND c.collection_id = $3
  AND d.status = 'ready' AND d.replaces_document_id IS NULL
ORDER BY cv.embedding::vector(1536) <=> $1::vector(1536)
LIMIT $2)
UNION ALL
(SELECT cv.chunk_id, (1 - (cv.embedding::vector(1536) <=> $1::vector(1536)))::float8 AS score
FROM chunk_vectors cv
JOIN chunks c ON c.id = cv.chunk_id
JOIN documents d ON d.id = c.document_id
WHERE cv.index_version_id = '00000000-0000-4000-8000-0000000000a1' AND cv.graph_pending
  AND c.collection_id = $3
  AND d.status = 'ready' AND d.replaces_document_id IS NULL
ORDER BY score DESC, cv.chunk_id
LIMIT $2)
) v
ORDER BY score DESC, chunk_id
LIMIT $2;

-- BM25 keyword leg (no filters); params: ["00000000-0000-4000-8000-00000000000c",["port","zephyr","tide"],[1,1,1],["moor"],0.9,0.4,40,32,"zephyr","port","00000000-0000-4000-8000-00000000000c"]
WITH s AS (
  SELECT doc_count::float8 AS n, total_length::float8 / GREATEST(doc_count, 1) AS avgdl
  FROM bm25_collection_stats WHERE collection_id = $1
), q AS (
  SELECT a.term, sum(a.qtf)::float8 AS qtf FROM (
    SELECT u.term, u.qtf FROM unnest($2::text[], $3::float8[]) AS u(term, qtf)
    UNION ALL
    SELECT x.term, 1 FROM unnest($4::text[]) AS pr(prefix)
    CROSS JOIN LATERAL (
      SELECT t.term FROM bm25_terms t
      WHERE t.collection_id = $1 AND t.term >= pr.prefix AND t.term < pr.prefix || chr(1114111)
      ORDER BY t.df DESC, t.term LIMIT $8
    ) x
  ) a GROUP BY a.term
), w AS (
  SELECT t.term, q.qtf * ln(1 + (s.n - t.df + 0.5) / (t.df + 0.5)) AS weight, s.avgdl
  FROM q JOIN bm25_terms t ON t.collection_id = $1 AND t.term = q.term CROSS JOIN s
), scored AS (
  SELECT p.chunk_id, sum(w.weight * p.tf * ($5::float8 + 1) / (p.tf + $5::float8 * (1 - $6::float8 + $6::float8 * p.doc_length / w.avgdl))) AS score
  FROM w CROSS JOIN LATERAL (
    SELECT p.chunk_id, p.tf, p.doc_length FROM bm25_postings p
    WHERE p.collection_id = $1 AND p.term = w.term
    ORDER BY p.tf DESC, p.doc_length
    LIMIT ALL
  ) p
  WHERE true
  AND p.chunk_id IN (SELECT p0.chunk_id FROM bm25_postings p0
    JOIN bm25_postings p1 ON p1.collection_id = $1 AND p1.term = $9 AND p1.chunk_id = p0.chunk_id
    WHERE p0.collection_id = $1 AND p0.term = $10
      AND EXISTS (SELECT 1 FROM unnest(p0.positions) AS x(pos) WHERE x.pos + 1 = ANY(p1.positions)))
  GROUP BY p.chunk_id
)
SELECT sc.chunk_id, sc.score::float8 AS score
FROM scored sc
JOIN chunks c ON c.id = sc.chunk_id
JOIN documents d ON d.id = c.document_id
WHERE c.collection_id = $11
  AND c.index_version_id IS NULL
  AND d.status = 'ready' AND d.replaces_document_id IS NULL
ORDER BY sc.score DESC, sc.chunk_id
LIMIT $7;

-- BM25 keyword leg (document and metadata filters); params: ["00000000-0000-4000-8000-00000000000c",["tide"],[1],[],0.9,0.4,40,32,"00000000-0000-4000-8000-00000000000c",["00000000-0000-4000-8000-0000000000d1"],"{\"lang\":\"en\"}","{\"lang\":[\"en\"]}"]
WITH s AS (
  SELECT doc_count::float8 AS n, total_length::float8 / GREATEST(doc_count, 1) AS avgdl
  FROM bm25_collection_stats WHERE collection_id = $1
), q AS (
  SELECT a.term, sum(a.qtf)::float8 AS qtf FROM (
    SELECT u.term, u.qtf FROM unnest($2::text[], $3::float8[]) AS u(term, qtf)
    UNION ALL
    SELECT x.term, 1 FROM unnest($4::text[]) AS pr(prefix)
    CROSS JOIN LATERAL (
      SELECT t.term FROM bm25_terms t
      WHERE t.collection_id = $1 AND t.term >= pr.prefix AND t.term < pr.prefix || chr(1114111)
      ORDER BY t.df DESC, t.term LIMIT $8
    ) x
  ) a GROUP BY a.term
), w AS (
  SELECT t.term, q.qtf * ln(1 + (s.n - t.df + 0.5) / (t.df + 0.5)) AS weight, s.avgdl
  FROM q JOIN bm25_terms t ON t.collection_id = $1 AND t.term = q.term CROSS JOIN s
), scored AS (
  SELECT p.chunk_id, sum(w.weight * p.tf * ($5::float8 + 1) / (p.tf + $5::float8 * (1 - $6::float8 + $6::float8 * p.doc_length / w.avgdl))) AS score
  FROM w CROSS JOIN LATERAL (
    SELECT p.chunk_id, p.tf, p.doc_length FROM bm25_postings p
    WHERE p.collection_id = $1 AND p.term = w.term
    ORDER BY p.tf DESC, p.doc_length
    LIMIT 1000
  ) p
  WHERE true
  
  GROUP BY p.chunk_id
)
SELECT sc.chunk_id, sc.score::float8 AS score
FROM scored sc
JOIN chunks c ON c.id = sc.chunk_id
JOIN documents d ON d.id = c.document_id
WHERE c.collection_id = $9
  AND c.index_version_id IS NULL
  AND d.status = 'ready' AND d.replaces_document_id IS NULL
  AND c.document_id = ANY($10::uuid[])
  AND (d.metadata @> $11::jsonb OR d.metadata @> $12::jsonb)
ORDER BY sc.score DESC, sc.chunk_id
LIMIT $7;

-- BM25 keyword leg of a hybrid search, pinned to the chunk set of the version the vector leg reads; params: ["00000000-0000-4000-8000-00000000000c",["tide"],[1],[],0.9,0.4,40,32,"00000000-0000-4000-8000-00000000000c","00000000-0000-4000-8000-0000000000a1"]
WITH s AS (
  SELECT doc_count::float8 AS n, total_length::float8 / GREATEST(doc_count, 1) AS avgdl
  FROM bm25_collection_stats WHERE collection_id = $1
), q AS (
  SELECT a.term, sum(a.qtf)::float8 AS qtf FROM (
    SELECT u.term, u.qtf FROM unnest($2::text[], $3::float8[]) AS u(term, qtf)
    UNION ALL
    SELECT x.term, 1 FROM unnest($4::text[]) AS pr(prefix)
    CROSS JOIN LATERAL (
      SELECT t.term FROM bm25_terms t
      WHERE t.collection_id = $1 AND t.term >= pr.prefix AND t.term < pr.prefix || chr(1114111)
      ORDER BY t.df DESC, t.term LIMIT $8
    ) x
  ) a GROUP BY a.term
), w AS (
  SELECT t.term, q.qtf * ln(1 + (s.n - t.df + 0.5) / (t.df + 0.5)) AS weight, s.avgdl
  FROM q JOIN bm25_terms t ON t.collection_id = $1 AND t.term = q.term CROSS JOIN s
), scored AS (
  SELECT p.chunk_id, sum(w.weight * p.tf * ($5::float8 + 1) / (p.tf + $5::float8 * (1 - $6::float8 + $6::float8 * p.doc_length / w.avgdl))) AS score
  FROM w CROSS JOIN LATERAL (
    SELECT p.chunk_id, p.tf, p.doc_length FROM bm25_postings p
    WHERE p.collection_id = $1 AND p.term = w.term
    ORDER BY p.tf DESC, p.doc_length
    LIMIT 1000
  ) p
  WHERE true
  
  GROUP BY p.chunk_id
)
SELECT sc.chunk_id, sc.score::float8 AS score
FROM scored sc
JOIN chunks c ON c.id = sc.chunk_id
JOIN documents d ON d.id = c.document_id
WHERE c.collection_id = $9
  AND c.index_version_id IS NOT DISTINCT FROM (SELECT vc.index_version_id FROM chunk_vectors vv JOIN chunks vc ON vc.id = vv.chunk_id WHERE vv.index_version_id = $10::uuid LIMIT 1)
  AND d.status = 'ready' AND d.replaces_document_id IS NULL
ORDER BY sc.score DESC, sc.chunk_id
LIMIT $7;

-- exact vector leg (few chunks match the filters or the caller's access groups); params: ["[0.1]",40,"00000000-0000-4000-8000-00000000000c","00000000-0000-4000-8000-0000000000a1",["00000000-0000-4000-8000-0000000000d1"],"{\"lang\":\"en\"}","{\"lang\":[\"en\"]}",["hr"]]
WITH scoped AS MATERIALIZED (
  SELECT c.id FROM chunks c JOIN documents d ON d.id = c.document_id
  WHERE c.collection_id = $3
  AND c.index_version_id IS NOT DISTINCT FROM (SELECT vc.index_version_id FROM chunk_vectors vv JOIN chunks vc ON vc.id = vv.chunk_id WHERE vv.index_version_id = $4::uuid LIMIT 1)
  AND d.status = 'ready' AND d.replaces_document_id IS NULL
  AND c.document_id = ANY($5::uuid[])
  AND (d.metadata @> $6::jsonb OR d.metadata @> $7::jsonb)
  AND (d.access_groups = '{}' OR d.access_groups && $8::text[])
)
SELECT cv.chunk_id, (1 - (cv.embedding::vector(1536) <=> $1::vector(1536)))::float8 AS score
FROM scoped s
JOIN chunk_vectors cv ON cv.index_version_id = '00000000-0000-4000-8000-0000000000a1' AND cv.chunk_id = s.id
ORDER BY score DESC, cv.chunk_id
LIMIT $2;

-- vector leg of a benchmarked index version with its own chunk set (other chunking); params: ["[0.1]",40,"00000000-0000-4000-8000-00000000000c","00000000-0000-4000-8000-0000000000a1",["00000000-0000-4000-8000-0000000000d1"],"{\"lang\":\"en\"}","{\"lang\":[\"en\"]}"]
SELECT cv.chunk_id, (1 - (cv.embedding::vector(1536) <=> $1::vector(1536)))::float8 AS score
FROM chunk_vectors cv
JOIN chunks c ON c.id = cv.chunk_id
JOIN documents d ON d.id = c.document_id
WHERE cv.index_version_id = '00000000-0000-4000-8000-0000000000a1'
  AND c.collection_id = $3
  AND c.index_version_id = $4::uuid
  AND d.status = 'ready' AND d.replaces_document_id IS NULL
  AND c.document_id = ANY($5::uuid[])
  AND (d.metadata @> $6::jsonb OR d.metadata @> $7::jsonb)
ORDER BY cv.embedding::vector(1536) <=> $1::vector(1536)
LIMIT $2;

-- BM25 over a version's own chunk set: the scope check of the chunks scored in memory; params: [["00000000-0000-4000-8000-0000000000c1"],"00000000-0000-4000-8000-00000000000c","00000000-0000-4000-8000-0000000000a1",["00000000-0000-4000-8000-0000000000d1"],"{\"lang\":\"en\"}","{\"lang\":[\"en\"]}"]
SELECT c.id
FROM chunks c
JOIN documents d ON d.id = c.document_id
WHERE c.id = ANY($1::uuid[])
  AND c.collection_id = $2
  AND c.index_version_id = $3::uuid
  AND d.status = 'ready' AND d.replaces_document_id IS NULL
  AND c.document_id = ANY($4::uuid[])
  AND (d.metadata @> $5::jsonb OR d.metadata @> $6::jsonb);
