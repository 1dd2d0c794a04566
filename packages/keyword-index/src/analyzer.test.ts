import { analyze, analyzePrefix } from './analyzer.js';
import { porterStem } from './porter-stemmer.js';
import { parseQuery } from './query-parser.js';

describe('porterStem', () => {
  // Examples from Porter (1980) and its reference vocabulary.
  const cases: Record<string, string> = {
    caresses: 'caress', ponies: 'poni', ties: 'ti', caress: 'caress', cats: 'cat', feed: 'feed', agreed: 'agre',
    plastered: 'plaster', motoring: 'motor', sing: 'sing', conflated: 'conflat', troubled: 'troubl', sized: 'size',
    hopping: 'hop', tanned: 'tan', falling: 'fall', hissing: 'hiss', fizzed: 'fizz', failing: 'fail', filing: 'file',
    happy: 'happi', sky: 'sky', relational: 'relat', conditional: 'condit', rational: 'ration', valenci: 'valenc',
    digitizer: 'digit', conformabli: 'conform', radicalli: 'radic', differentli: 'differ', vileli: 'vile',
    analogousli: 'analog', vietnamization: 'vietnam', predication: 'predic', operator: 'oper', feudalism: 'feudal',
    decisiveness: 'decis', hopefulness: 'hope', callousness: 'callous', formaliti: 'formal', sensitiviti: 'sensit',
    sensibiliti: 'sensibl', triplicate: 'triplic', formative: 'form', formalize: 'formal', electriciti: 'electr',
    electrical: 'electr', hopeful: 'hope', goodness: 'good', revival: 'reviv', allowance: 'allow', inference: 'infer',
    airliner: 'airlin', gyroscopic: 'gyroscop', adjustable: 'adjust', defensible: 'defens', irritant: 'irrit',
    replacement: 'replac', adjustment: 'adjust', dependent: 'depend', adoption: 'adopt', homologou: 'homolog',
    communism: 'commun', activate: 'activ', angulariti: 'angular', homologous: 'homolog', effective: 'effect',
    bowdlerize: 'bowdler', probate: 'probat', rate: 'rate', cease: 'ceas', controll: 'control', roll: 'roll',
    generalizations: 'gener', oscillators: 'oscil',
  };
  test.each(Object.entries(cases))('%s -> %s', (word, stem) => {
    expect(porterStem(word)).toBe(stem);
  });
});

describe('analyze', () => {
  test('english: lowercase, stop words out (positions kept), possessives and stems', () => {
    expect(analyze("The Cat's hats are in the Garden, 3.5 km")).toEqual([
      { term: 'cat', position: 1 },
      { term: 'hat', position: 2 },
      { term: 'garden', position: 6 },
      { term: '3.5', position: 7 },
      { term: 'km', position: 8 },
    ]);
  });

  test('simple: no stemming or stop words; CJK as bigrams', () => {
    expect(analyze('Die Katzen und 東京都', 'simple').map((t) => t.term)).toEqual(['die', 'katzen', 'und', '東京', '京都']);
    expect(analyze('Ünïcode ＡＢＣ', 'simple').map((t) => t.term)).toEqual(['ünïcode', 'abc']);
  });

  test('prefixes are stemmed but never dropped', () => {
    expect(analyzePrefix('Comput')).toBe('comput');
    expect(analyzePrefix('the')).toBe('the');
  });
});

describe('parseQuery', () => {
  test('terms with frequencies, phrases with gaps, prefixes', () => {
    const q = parseQuery('cats cat "vitamin D in pregnancy" immun*');
    expect([...q.terms]).toEqual([
      ['vitamin', 1],
      ['d', 1],
      ['pregnanc', 1],
      ['cat', 2],
    ]);
    expect(q.phrases).toEqual([{ terms: ['vitamin', 'd', 'pregnanc'], offsets: [0, 1, 3] }]);
    expect(q.prefixes).toEqual(['immun']);
  });

  test('an unclosed quote is plain words; a lone * is ignored', () => {
    const q = parseQuery('"open ended *');
    expect([...q.terms.keys()]).toEqual(['open', 'end']);
    expect(q.phrases).toEqual([]);
    expect(q.prefixes).toEqual([]);
  });
});
