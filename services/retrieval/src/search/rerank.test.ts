import type { GatewayModels } from '@quire/gateway-client';
import type { ChunkView } from './hydrate.js';
import { rerankChunks } from './rerank.js';

const chunk = (id: string, text: string, context?: string): ChunkView =>
  ({ chunkId: id, documentId: 'd', documentTitle: 'T', text, ...(context ? { context } : {}), pageStart: null, pageEnd: null, headingPath: [], charStart: 0, charEnd: text.length });

test("the reranker reads a table chunk's header rows above its rows, and plain chunks as they are", async () => {
  const seen: string[][] = [];
  const models = {
    rerankingModel: () => ({
      doRerank: async ({ documents }: { documents: string[] }) => {
        seen.push(documents);
        return { results: documents.map((_, index) => ({ index, relevanceScore: index })) };
      },
    }),
  } as unknown as GatewayModels;
  const out = await rerankChunks(models, {
    model: 'fake/rerank',
    query: 'Q2 revenue of the north region',
    candidates: [chunk('a', '| North | 12 | 14 |', '| Region | Q1 | Q2 |\n| --- | --- | --- |'), chunk('b', 'Revenue grew in the north.')],
    call: { traceId: 't', identity: { team_id: 'team', key_id: 'k', role: 'member', groups: [] } } as never,
  });
  expect(seen).toEqual([['| Region | Q1 | Q2 |\n| --- | --- | --- |\n| North | 12 | 14 |', 'Revenue grew in the north.']]);
  expect(out.map((o) => o.chunk.chunkId)).toEqual(['b', 'a']);
});
