import { analyze, analyzePrefix, primaryTokens } from './analyzer.js';
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
    expect(analyze('Ünïcode ＡＢＣ', 'simple').map((t) => t.term)).toEqual(['ünïcode', 'unicode', 'abc']);
  });

  const terms = (text: string, analyzer: 'english' | 'simple' = 'english') => analyze(text, analyzer).map((t) => t.term);
  /** Whether every term of the query (its own, not its alternatives) is among the text's terms: a bag-of-words match. */
  const finds = (text: string, query: string) => {
    const indexed = new Set(terms(text));
    return [...parseQuery(query).terms.keys()].filter((t) => indexed.has(t)).length > 0;
  };

  test('a Latin word inside Han text is a term of its own; the Han runs around it are bigrammed', () => {
    expect(terms('使用VPN连接公司网络')).toEqual(['使用', 'vpn', '连接', '接公', '公司', '司网', '网络']);
    expect(finds('使用VPN连接公司网络时必须开启双重认证。', 'VPN')).toBe(true);
    // Digits likewise; Han with Kana is one run (Japanese mixes them), ー staying with its Katakana.
    expect(terms('東京タワーは2024年に', 'simple')).toEqual(['東京', '京タ', 'タワ', 'ワー', 'ーは', '2024', '年に']);
    // Hangul stays whole words, cut from Latin.
    expect(terms('한국어VPN을 사용', 'simple')).toEqual(['한국어', 'vpn', '을', '사용']);
    // Positions follow each run, so a phrase across the script change matches.
    expect(analyze('使用VPN连接').map((t) => t.position)).toEqual([0, 1, 2]);
  });

  test('a long unpunctuated Han or Thai run is bigrammed, not dropped', () => {
    const zh = '公司简介公司成立于二零零五年总部位于上海在全球拥有员工约八千人业务覆盖软件硬件咨询以及云服务等多个领域并在亚洲欧洲和北美设有研发中心致力于为客户提供可靠的产品和服务';
    expect(zh.length).toBeGreaterThan(64);
    const t = terms(zh);
    expect(t).toHaveLength([...zh].length - 1);
    expect(t).toEqual(expect.arrayContaining(['研发', '发中', '中心']));
    expect(finds(zh, '研发中心')).toBe(true);
    const th = 'ภาษาไทย'.repeat(12);
    expect(terms(th)).toHaveLength([...th].length - 1);
    // A spaced word over the cap is still dropped, its position kept.
    expect(analyze(`${'x'.repeat(65)} cat`)).toEqual([{ term: 'cat', position: 1 }]);
  });

  test('French and Italian elided articles are split off (both apostrophes)', () => {
    expect(terms("L'ordinateur d’un qu'il jusqu'ici dell'anno all'estero", 'simple')).toEqual(['ordinateur', 'un', 'il', 'ici', 'anno', 'estero']);
    expect(finds("L'ordinateur portable est remplacé tous les quatre ans.", 'ordinateur')).toBe(true);
    // English contractions and possessives are not elisions.
    expect(terms("don't o'clock all's the cat's", 'simple')).toEqual(["don't", "o'clock", "all's", 'the', "cat's"]);
    expect(terms("don't o'clock the cat's")).toEqual(["don't", "o'clock", 'cat']);
  });

  test('accents are folded into an alternative form at the same position, not counted in the length', () => {
    expect(analyze('Le télétravail est autorisé', 'simple')).toEqual([
      { term: 'le', position: 0 },
      { term: 'télétravail', position: 1 },
      { term: 'teletravail', position: 1, alt: true },
      { term: 'est', position: 2 },
      { term: 'autorisé', position: 3 },
      { term: 'autorise', position: 3, alt: true },
    ]);
    expect(primaryTokens(analyze('Le télétravail est autorisé', 'simple'))).toHaveLength(4);
    expect(terms('Straße Zürich Œuvre', 'simple')).toEqual(['straße', 'strasse', 'zürich', 'zurich', 'œuvre', 'oeuvre']);
    expect(finds('Le télétravail est autorisé deux jours par semaine.', 'teletravail')).toBe(true);
    expect(finds('Le télétravail est autorisé deux jours par semaine.', 'télétravail')).toBe(true);
    // Only Latin letters: Devanagari's vowel signs and Japanese voicing marks are letters of their words.
    expect(terms('हिन्दी', 'simple')).toEqual(['हिन्दी']);
    expect(terms('がくせい', 'simple')).toEqual(['がく', 'くせ', 'せい']);
  });

  test('English text without accents or elided articles is analysed as before', () => {
    expect(terms('Vitamin D supplementation in pregnancy; 3.5 mg/kg in 2,000 patients (p<0.05) don\'t')).toEqual([
      'vitamin', 'd', 'supplement', 'pregnanc', '3.5', 'mg', 'kg', '2', '000', 'patient', 'p', '0.05', "don't",
    ]);
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

  test('a query also carries the 1st analyser version\'s terms, so chunks indexed before still match', () => {
    // 使用VPN连接 was bigrammed whole (用v, vp, pn, n连): the bigrams across the script change come along.
    expect([...parseQuery('使用VPN连接').terms.keys()]).toEqual(['使用', 'vpn', '连接', '用v', 'n连']);
    // l'ordinateur was one term.
    expect([...parseQuery("l'ordinateur").terms.keys()]).toEqual(['ordinateur', "l'ordinateur"]);
    // An accented word was indexed as written, which stays the first form.
    expect([...parseQuery('télétravail').terms.keys()]).toEqual(['télétravail', 'teletravail']);
    // A phrase is made of the tokens as written, never of alternative forms.
    expect(parseQuery('"le télétravail autorisé"', 'simple').phrases).toEqual([{ terms: ['le', 'télétravail', 'autorisé'], offsets: [0, 1, 2] }]);
    // Nothing extra for a plain English query.
    expect([...parseQuery('vitamin D pregnancy').terms.keys()]).toEqual(['vitamin', 'd', 'pregnanc']);
  });

  test('an unclosed quote is plain words; a lone * is ignored', () => {
    const q = parseQuery('"open ended *');
    expect([...q.terms.keys()]).toEqual(['open', 'end']);
    expect(q.phrases).toEqual([]);
    expect(q.prefixes).toEqual([]);
  });
});
