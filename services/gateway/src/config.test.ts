import { listenOptionsOf } from '@quire/server-kit';
import { GatewayConfigError, readGatewayEnv } from './config.js';

describe('QUIRE_BUDGETS_ALLOW_UNPRICED', () => {
  test('is off unless set to true, and refuses anything but true or false', () => {
    expect(readGatewayEnv({}).QUIRE_BUDGETS_ALLOW_UNPRICED).toBe(false);
    expect(readGatewayEnv({ QUIRE_BUDGETS_ALLOW_UNPRICED: 'true' }).QUIRE_BUDGETS_ALLOW_UNPRICED).toBe(true);
    expect(readGatewayEnv({ QUIRE_BUDGETS_ALLOW_UNPRICED: 'false' }).QUIRE_BUDGETS_ALLOW_UNPRICED).toBe(false);
    expect(() => readGatewayEnv({ QUIRE_BUDGETS_ALLOW_UNPRICED: 'yes' })).toThrow(GatewayConfigError);
    expect(() => readGatewayEnv({ QUIRE_BUDGETS_ALLOW_UNPRICED: 'yes' })).toThrow('QUIRE_BUDGETS_ALLOW_UNPRICED must be "true" or "false"');
  });
});

describe('QUIRE_SSE_STALL_MS', () => {
  test('is read into the gateway listen() options (default 60 s), and a value out of range stops the start, naming it', () => {
    expect(listenOptionsOf(readGatewayEnv({})).sseStallMs).toBe(60_000);
    const env = readGatewayEnv({ QUIRE_SSE_STALL_MS: '15000', QUIRE_SHUTDOWN_DRAIN_MS: '2000' });
    expect(env.QUIRE_SSE_STALL_MS).toBe(15_000);
    // What main.ts (and the embedded start) hands to listen().
    expect(listenOptionsOf(env)).toEqual({ drainMs: 2000, sseStallMs: 15_000 });
    for (const value of ['0', '500', '7200000', '2.5', 'a minute']) {
      expect(() => readGatewayEnv({ QUIRE_SSE_STALL_MS: value })).toThrow(GatewayConfigError);
      expect(() => readGatewayEnv({ QUIRE_SSE_STALL_MS: value })).toThrow('QUIRE_SSE_STALL_MS: QUIRE_SSE_STALL_MS must be a whole number of milliseconds from 1000 (1 s) to 3600000 (1 h)');
    }
  });
});
