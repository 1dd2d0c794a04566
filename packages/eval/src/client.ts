import type { z } from 'zod';
import { BenchmarkSchema, DocumentStatusSchema, EvalSetImportSchema, UploadSchema, type BenchmarkView, type EvalSetImport } from './api-schemas.js';
import { beirDocumentText, type BeirDoc, type BeirQuery } from './beir.js';

/** A small HTTP client for the evaluation API (the CLI, tests and benches use it). */
export class QuireEvalClient {
  constructor(
    readonly url: string,
    private readonly apiKey: string,
  ) {}

  /** The answer's JSON, unchecked: `call` checks it against a schema. */
  async request(method: string, path: string, body?: unknown): Promise<unknown> {
    const res = await fetch(`${this.url.replace(/\/$/, '')}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.apiKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    const json: unknown = text ? JSON.parse(text) : null;
    if (!res.ok) throw Object.assign(new Error(`${method} ${path} answered ${res.status}: ${text.slice(0, 500)}`), { status: res.status, body: json });
    return json;
  }

  /** `request`, with the answer checked against `schema` (an error names the field that differs). */
  async call<S extends z.ZodType>(schema: S, method: string, path: string, body?: unknown): Promise<z.infer<S>> {
    const json = await this.request(method, path, body);
    const parsed = schema.safeParse(json);
    if (!parsed.success) throw new Error(`${method} ${path} answered in an unexpected shape: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
    return parsed.data;
  }

  /** Polls a benchmark until it is no longer queued or running. */
  async waitForBenchmark(id: string, options: { timeoutMs?: number; pollMs?: number; onProgress?: (b: BenchmarkView) => void } = {}): Promise<BenchmarkView> {
    const deadline = Date.now() + (options.timeoutMs ?? 600_000);
    for (;;) {
      const b = await this.call(BenchmarkSchema, 'GET', `/v1/benchmarks/${id}`);
      options.onProgress?.(b);
      if (b.status !== 'queued' && b.status !== 'running') return b;
      if (Date.now() > deadline) throw new Error(`benchmark ${id} still ${b.status}`);
      await new Promise((r) => setTimeout(r, options.pollMs ?? 200));
    }
  }
}

export interface BeirImportInput {
  collectionId: string;
  name: string;
  corpus: BeirDoc[];
  queries: BeirQuery[];
  qrels: Map<string, Map<string, number>>;
  /** Uploads in flight at once (default 8). */
  concurrency?: number;
  onProgress?: (uploaded: number, total: number) => void;
}

/**
 * Imports a BEIR-style set: every corpus document goes through the ingestion API (via the gateway)
 * as JSON text with metadata `beir_id`, and once they are indexed the queries and qrels become an
 * eval set; the server maps corpus ids to document ids through that metadata.
 */
export async function importBeir(client: QuireEvalClient, input: BeirImportInput): Promise<EvalSetImport> {
  const ids: string[] = new Array(input.corpus.length);
  let next = 0;
  let uploaded = 0;
  const worker = async () => {
    while (next < input.corpus.length) {
      const i = next++;
      const doc = input.corpus[i]!;
      const out = await client.call(UploadSchema, 'POST', `/v1/collections/${input.collectionId}/documents`, {
        text: beirDocumentText(doc),
        ...(doc.title ? { title: doc.title.slice(0, 500) } : {}),
        metadata: { beir_id: String(doc._id) },
      });
      ids[i] = out.documents[0]!.id;
      input.onProgress?.(++uploaded, input.corpus.length);
    }
  };
  await Promise.all(Array.from({ length: input.concurrency ?? 8 }, worker));
  for (const id of ids) {
    for (;;) {
      const d = await client.call(DocumentStatusSchema, 'GET', `/v1/documents/${id}`);
      if (d.status === 'ready') break;
      if (d.status === 'failed') throw new Error(`document ${id} failed: ${JSON.stringify(d.error)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const qrels = [...input.qrels].flatMap(([q, docs]) => [...docs].map(([d, grade]) => ({ query_id: q, corpus_id: d, grade })));
  return client.call(EvalSetImportSchema, 'POST', '/v1/eval-sets/import/beir', { collection_id: input.collectionId, name: input.name, queries: input.queries, qrels });
}
