import { reciprocalRankFusion } from './rrf.js';

describe('reciprocalRankFusion', () => {
  test('matches hand-computed scores with k = 60', () => {
    const fused = reciprocalRankFusion({
      vector: [
        { chunkId: 'a', score: 0.9 },
        { chunkId: 'b', score: 0.8 },
        { chunkId: 'c', score: 0.7 },
      ],
      keyword: [
        { chunkId: 'c', score: 2 },
        { chunkId: 'a', score: 1 },
      ],
    });
    // a: 1/61 + 1/62, c: 1/63 + 1/61, b: 1/62
    expect(fused.map((f) => f.chunkId)).toEqual(['a', 'c', 'b']);
    expect(fused[0]!.fused).toBeCloseTo(1 / 61 + 1 / 62, 12);
    expect(fused[1]!.fused).toBeCloseTo(1 / 63 + 1 / 61, 12);
    expect(fused[2]!.fused).toBeCloseTo(1 / 62, 12);
    expect(fused[1]!.legScores).toEqual({ vector: 0.7, keyword: 2 });
    expect(fused[2]!.legScores).toEqual({ vector: 0.8 });
  });

  test('weights scale a leg and ties break on chunk id', () => {
    const fused = reciprocalRankFusion(
      { vector: [{ chunkId: 'y', score: 1 }], keyword: [{ chunkId: 'x', score: 1 }] },
      { weights: { vector: 1, keyword: 1 } },
    );
    expect(fused.map((f) => f.chunkId)).toEqual(['x', 'y']);
    const weighted = reciprocalRankFusion({ vector: [{ chunkId: 'y', score: 1 }], keyword: [{ chunkId: 'x', score: 1 }] }, { weights: { keyword: 0.5 } });
    expect(weighted.map((f) => f.chunkId)).toEqual(['y', 'x']);
    expect(weighted[1]!.fused).toBeCloseTo(0.5 / 61, 12);
  });

  test('empty legs fuse to nothing', () => {
    expect(reciprocalRankFusion({ vector: [], keyword: [] })).toEqual([]);
  });
});
