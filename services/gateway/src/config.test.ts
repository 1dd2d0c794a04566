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
