import { ChunkingSchema, CreateCollectionBodySchema, sameChunking } from './collections.js';

describe('ChunkingSchema', () => {
  it('accepts every strategy ingestion chunks with, down to 16 units, and refuses below', () => {
    expect(CreateCollectionBodySchema.parse({ name: 'c', chunking: { strategy: 'tokens', chunk_size: 16, chunk_overlap: 0 } }).chunking).toEqual({ strategy: 'tokens', chunk_size: 16, chunk_overlap: 0 });
    expect(ChunkingSchema.safeParse({ chunk_size: 15, chunk_overlap: 0 }).success).toBe(false);
    expect(ChunkingSchema.safeParse({ chunk_size: 100, chunk_overlap: 100 }).success).toBe(false);
  });

  it('reads a stored {} as the defaults, so it is the same chunking as the defaults spelled out', () => {
    const spelled = ChunkingSchema.parse({ strategy: 'recursive', chunk_size: 1000, chunk_overlap: 150 });
    expect(sameChunking(ChunkingSchema.parse({}), spelled)).toBe(true);
    expect(sameChunking(ChunkingSchema.parse({ strategy: 'tokens' }), spelled)).toBe(false);
  });
});
