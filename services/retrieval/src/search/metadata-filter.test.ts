/**
 * `filters.metadata` (SearchFiltersSchema): "Exact match on metadata keys; an array value matches
 * when it contains the given string." A document tagged `{"department": ["hr", "legal"]}` is found by
 * `{"department": "hr"}` as well as one tagged `{"department": "hr"}`; jsonb containment alone finds
 * only the second (an array inside an object does not contain a scalar), so scope-sql.ts tests a
 * string in both shapes.
 */
import type { Identity } from '@quire/contracts';
import { signIdentity } from '@quire/server-kit';
import { SECRET, startRetrievalForTest, type RetrievalHarness } from '../testing/retrieval-harness.js';
import { seedCollection, type SeededCollection } from '../testing/seed.js';

const TEAM_A: Identity = { team_id: 'team-a', key_id: 'key-a', role: 'member', groups: [] };
let harness: RetrievalHarness;
let policies: SeededCollection;

const doc = (title: string, metadata: Record<string, unknown>) => ({ title, metadata, chunks: [{ text: `The ${title} policy applies to every employee.`, page: 1 }] });

beforeAll(async () => {
  harness = await startRetrievalForTest({
    seed: async ({ db }) => {
      policies = await seedCollection(db, {
        teamId: 'team-a',
        name: 'policies',
        embeddingModel: null,
        generationModel: null,
        documents: [
          doc('Leave', { department: ['hr', 'legal'], lang: 'en', year: 2024 }),
          doc('Payroll', { department: 'hr', lang: 'en', year: 2023 }),
          doc('Contracts', { department: 'legal', lang: 'de', year: 2024 }),
          doc('Travel', { lang: 'en', year: 2024 }),
        ],
      });
    },
  });
});
afterAll(async () => harness?.close());

/** The titles a keyword search with these filters finds, sorted. */
async function titles(filters?: unknown): Promise<string[]> {
  const res = await fetch(`${harness.url}/v1/collections/${policies.collectionId}/search`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-quire-identity': signIdentity(TEAM_A, SECRET) },
    body: JSON.stringify({ query: 'policy employee', mode: 'keyword', top_k: 20, filters }),
  });
  const body = (await res.json()) as { results?: { document_title: string | null }[] };
  expect(res.status).toBe(200);
  return [...new Set((body.results ?? []).map((r) => r.document_title ?? '?'))].sort();
}

test('without filters every document is found', async () => {
  expect(await titles()).toEqual(['Contracts', 'Leave', 'Payroll', 'Travel']);
});

test('a string matches a document whose value is that string or an array holding it', async () => {
  expect(await titles({ metadata: { department: 'hr' } })).toEqual(['Leave', 'Payroll']);
  expect(await titles({ metadata: { department: 'legal' } })).toEqual(['Contracts', 'Leave']);
  expect(await titles({ metadata: { department: 'finance' } })).toEqual([]);
});

test('an array filter needs every one of its strings in the document array; other values match exactly', async () => {
  expect(await titles({ metadata: { department: ['hr'] } })).toEqual(['Leave']);
  expect(await titles({ metadata: { department: ['hr', 'legal'] } })).toEqual(['Leave']);
  expect(await titles({ metadata: { year: 2024 } })).toEqual(['Contracts', 'Leave', 'Travel']);
  expect(await titles({ metadata: { lang: 'en' } })).toEqual(['Leave', 'Payroll', 'Travel']);
});

test('several keys must all match, a string key in either shape', async () => {
  expect(await titles({ metadata: { department: 'hr', year: 2024 } })).toEqual(['Leave']);
  expect(await titles({ metadata: { department: 'legal', lang: 'de' } })).toEqual(['Contracts']);
  expect(await titles({ metadata: { department: 'hr', lang: 'de' } })).toEqual([]);
});
