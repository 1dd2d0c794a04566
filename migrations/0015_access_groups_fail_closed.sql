-- Document-level access fails closed.
--
-- access_groups  was read from metadata.access_groups only when that was a list; any other value
--                (`"hr"`, null) meant "no restriction", so a mistyped restriction made a document
--                visible to every reader of its collection. Such a value now becomes {NULL}: no
--                caller's groups overlap it and it is not '{}', so only the owning team's admins see
--                the document until its metadata is corrected. Same expression as accessGroupsSql
--                (services/ingestion/src/repo/access-sql.ts); uploads now refuse these values.
UPDATE documents d
   SET access_groups = fixed.groups
  FROM (SELECT id,
               CASE WHEN jsonb_typeof(metadata -> 'access_groups') = 'array'
                         AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(metadata -> 'access_groups') g
                                          WHERE jsonb_typeof(g) <> 'string' OR g #>> '{}' = '')
                    THEN ARRAY(SELECT jsonb_array_elements_text(metadata -> 'access_groups'))
                    ELSE ARRAY[NULL]::text[] END AS groups
          FROM documents
         WHERE metadata -> 'access_groups' IS NOT NULL) fixed
 WHERE d.id = fixed.id AND d.access_groups IS DISTINCT FROM fixed.groups;
