import { isUuid, SearchFiltersSchema, UuidSchema } from './index.js';

// Postgres accepts any 8-4-4-4-12 hex id; so do paths (paramsOf) and bodies alike.
const NOT_RFC = '11111111-1111-1111-1111-111111111111';

test('an id is a UUID by its shape, in a path or a body alike', () => {
  expect(isUuid(NOT_RFC)).toBe(true);
  expect(UuidSchema.safeParse(NOT_RFC).success).toBe(true);
  expect(SearchFiltersSchema.safeParse({ document_ids: [NOT_RFC] }).success).toBe(true);
  for (const bad of ['not-a-uuid', '11111111-1111-1111-1111-11111111111', '', 'g1111111-1111-1111-1111-111111111111']) {
    expect(UuidSchema.safeParse(bad).success).toBe(false);
  }
});
