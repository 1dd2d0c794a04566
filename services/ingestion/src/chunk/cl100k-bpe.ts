import cl100k from 'js-tiktoken/ranks/cl100k_base';

/**
 * Byte-pair encoding with cl100k_base's ranks, counting only. js-tiktoken's own merge re-joins
 * byte arrays into strings for every rank lookup and rescans all pairs after each merge, which is
 * quadratic: a 4,000-letter word with no spaces (a DNA line, say) takes two seconds. Here bytes
 * are a latin1 string (one char per byte), so a rank lookup is a substring, and the lowest-ranked
 * pair comes off a heap, so a piece of n bytes costs O(n log n). The merge order is tiktoken's:
 * lowest rank first, leftmost first among equals.
 */

let ranks: Map<string, number> | null = null;

/** The ranks file lists `<tag> <first rank> <base64 token>...`, tokens ranked consecutively. */
function loadRanks(): Map<string, number> {
  const map = new Map<string, number>();
  for (const line of cl100k.bpe_ranks.split('\n')) {
    const fields = line.split(' ');
    if (fields.length < 3) continue;
    const first = Number.parseInt(fields[1]!, 10);
    for (let i = 2; i < fields.length; i++) map.set(Buffer.from(fields[i]!, 'base64').toString('latin1'), first + i - 2);
  }
  return map;
}

const NONE = Number.POSITIVE_INFINITY;
/** Heap keys pack (rank, start) so numeric order is rank first, then position. */
const SHIFT = 2 ** 32;

/** Tokens in one pre-token, given as its UTF-8 bytes in a latin1 string. */
export function bpeTokenCount(bytes: string): number {
  ranks ??= loadRanks();
  const n = bytes.length;
  if (n <= 1 || ranks.has(bytes)) return n === 0 ? 0 : 1;
  // Parts are a linked list of start offsets; a part ends where the next one starts.
  const next = new Int32Array(n + 1);
  const prev = new Int32Array(n + 1);
  for (let i = 0; i <= n; i++) {
    next[i] = i + 1;
    prev[i] = i - 1;
  }
  const pairRank = new Float64Array(n).fill(NONE);
  const heap: number[] = [];
  const rankAt = (start: number): number => {
    const mid = next[start]!;
    if (mid >= n) return NONE;
    return ranks!.get(bytes.slice(start, next[mid]!)) ?? NONE;
  };
  const update = (start: number) => {
    const rank = rankAt(start);
    pairRank[start] = rank;
    if (rank !== NONE) push(heap, rank * SHIFT + start);
  };
  for (let i = 0; i < n - 1; i++) update(i);
  let parts = n;
  while (heap.length > 0) {
    const key = pop(heap);
    const start = key % SHIFT;
    const rank = (key - start) / SHIFT;
    // A stale entry: its part has merged away (rank NONE) or its pair's rank has changed.
    if (pairRank[start] !== rank) continue;
    const gone = next[start]!;
    next[start] = next[gone]!;
    prev[next[gone]!] = start;
    pairRank[gone] = NONE;
    parts--;
    update(start);
    if (start > 0) update(prev[start]!);
  }
  return parts;
}

function push(heap: number[], key: number): void {
  let i = heap.length;
  heap.push(key);
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (heap[parent]! <= key) break;
    heap[i] = heap[parent]!;
    i = parent;
  }
  heap[i] = key;
}

function pop(heap: number[]): number {
  const top = heap[0]!;
  const last = heap.pop()!;
  if (heap.length === 0) return top;
  let i = 0;
  for (;;) {
    const left = 2 * i + 1;
    if (left >= heap.length) break;
    const child = left + 1 < heap.length && heap[left + 1]! < heap[left]! ? left + 1 : left;
    if (heap[child]! >= last) break;
    heap[i] = heap[child]!;
    i = child;
  }
  heap[i] = last;
  return top;
}
