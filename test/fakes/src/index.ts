export { startFakeOpenAI, openAIErrorBody, openAIQuotaErrorBody, openAIPromptTokens, DEFAULT_OPENAI_REPLY } from './fake-openai.js';
export type { FakeOpenAI, FakeOpenAIOptions } from './fake-openai.js';
export { startFakeAnthropic, anthropicErrorBody, anthropicPromptTokens, DEFAULT_ANTHROPIC_REPLY } from './fake-anthropic.js';
export type { FakeAnthropic, FakeAnthropicOptions } from './fake-anthropic.js';
export { FakeScript } from './server.js';
export type { FailureSpec, FakeReply, FakeServer, FakeToolCall, ListenOptions, RecordedRequest, ReplyFn, StreamFault } from './server.js';
export { countTokens, splitIntoDeltas } from './tokens.js';
export { fakeEmbedding, cosineSimilarity, toBase64Float32, DEFAULT_FAKE_DIMENSIONS } from './embedding.js';
