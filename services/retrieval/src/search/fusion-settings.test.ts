import { resolveFusion, FUSION_PRESETS } from './fusion-settings.js';

describe('resolveFusion', () => {
  test('defaults to balanced; presets pick weights', () => {
    expect(resolveFusion({}, {})).toEqual(FUSION_PRESETS.balanced);
    expect(resolveFusion({}, { preset: 'keyword-heavy' }).weights).toEqual({ vector: 0.5, keyword: 1.5 });
  });

  test('collection knobs apply unless the request names a preset; request knobs win', () => {
    const collection = { preset: 'semantic-heavy' as const, fusion: { k: 20 } };
    expect(resolveFusion(collection, {})).toEqual({ k: 20, weights: { vector: 1.5, keyword: 0.5 } });
    expect(resolveFusion(collection, { preset: 'balanced' })).toEqual(FUSION_PRESETS.balanced);
    expect(resolveFusion(collection, { fusion: { weights: { keyword: 3 } } })).toEqual({ k: 20, weights: { vector: 1.5, keyword: 3 } });
  });
});
