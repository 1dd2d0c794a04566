import { assertSafeBaseUrl, assertSafeBaseUrlSync, classifyAddress, type LookupAll } from './safe-base-url.js';
import { RegistryError } from './registry-error.js';

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (RegistryError.is(error) && error.code === 'unsafe_base_url') return error.message;
    throw error;
  }
  throw new Error('expected unsafe_base_url');
}

async function asyncRefusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (RegistryError.is(error) && error.code === 'unsafe_base_url') return error.message;
    throw error;
  }
  throw new Error('expected unsafe_base_url');
}

describe('classifyAddress', () => {
  it.each([
    ['8.8.8.8', 'public'],
    ['2606:4700::1111', 'public'],
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['0.0.0.0', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['172.32.0.1', 'public'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private'],
    ['fc00::1', 'private'],
    ['fd12:3456::1', 'private'],
    ['::ffff:10.0.0.1', 'private'],
    ['169.254.1.1', 'link-local'],
    ['fe80::1', 'link-local'],
    ['169.254.169.254', 'metadata'],
    ['fd00:ec2::254', 'metadata'],
    // NAT64 and 6to4 addresses are what the IPv4 address they carry is.
    ['64:ff9b::a00:5', 'private'],
    ['64:ff9b::10.0.0.5', 'private'],
    ['64:ff9b::a9fe:a9fe', 'metadata'],
    ['64:ff9b::7f00:1', 'loopback'],
    ['64:ff9b::808:808', 'public'],
    ['64:ff9b:1::a00:5', 'private'],
    ['64:ff9b:1::808:808', 'private'],
    ['2002:a00:5::1', 'private'],
    ['2002:a9fe:a9fe::', 'metadata'],
    ['2002:808:808::1', 'public'],
  ])('%s is %s', (address, expected) => {
    expect(classifyAddress(address)).toBe(expected);
  });
});

describe('assertSafeBaseUrlSync', () => {
  it('passes public hosts and names it cannot resolve synchronously', () => {
    expect(() => assertSafeBaseUrlSync('https://api.openai.com/v1')).not.toThrow();
    expect(() => assertSafeBaseUrlSync('http://ollama:11434')).not.toThrow();
  });

  it.each([
    'http://127.0.0.1:8000/v1',
    'http://localhost:11434',
    'http://LOCALHOST.:11434',
    'http://api.localhost/v1',
    'http://[::1]:8080',
    'http://[::ffff:127.0.0.1]/',
    'http://2130706433/', // 127.0.0.1 as one number
    'http://0x7f.1/',
    'http://10.0.0.5/v1',
    'http://192.168.1.20:8080',
    'http://172.20.0.3',
    'http://[fd00::5]/',
    'http://169.254.10.10/',
  ])('refuses %s without allowPrivateNetwork', (url) => {
    expect(refusal(() => assertSafeBaseUrlSync(url))).toContain('allowPrivateNetwork');
  });

  it('allowLoopback admits loopback only; allowPrivateNetwork admits private and link-local too', () => {
    expect(() => assertSafeBaseUrlSync('http://127.0.0.1:1/v1', { allowLoopback: true })).not.toThrow();
    expect(() => assertSafeBaseUrlSync('http://localhost:11434', { allowLoopback: true })).not.toThrow();
    expect(refusal(() => assertSafeBaseUrlSync('http://10.0.0.5/v1', { allowLoopback: true }))).toContain('private');
    expect(() => assertSafeBaseUrlSync('http://10.0.0.5/v1', { allowPrivateNetwork: true })).not.toThrow();
    expect(() => assertSafeBaseUrlSync('http://[fe80::1]/', { allowPrivateNetwork: true })).not.toThrow();
  });

  it('always refuses metadata endpoints, other schemes and credentials in the URL', () => {
    for (const url of ['http://169.254.169.254/latest', 'http://[fd00:ec2::254]/', 'http://metadata.google.internal/computeMetadata/v1', 'http://[::ffff:169.254.169.254]/']) {
      expect(refusal(() => assertSafeBaseUrlSync(url, { allowPrivateNetwork: true }))).toContain('metadata');
    }
    expect(refusal(() => assertSafeBaseUrlSync('file:///etc/passwd'))).toContain('only http and https');
    expect(refusal(() => assertSafeBaseUrlSync('ftp://example.com'))).toContain('only http and https');
    expect(refusal(() => assertSafeBaseUrlSync('https://user:pw@example.com'))).toContain('credentials');
    expect(refusal(() => assertSafeBaseUrlSync('not a url'))).toContain('not a valid URL');
  });
});

describe('assertSafeBaseUrl (with DNS)', () => {
  const dns = (table: Record<string, string[]>): LookupAll => async (host) => {
    const addresses = table[host];
    if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  const lookup = dns({
    'api.example.com': ['93.184.216.34', '2606:2800:220:1::1'],
    'internal.example.com': ['10.0.0.7'],
    'sneaky.example.com': ['93.184.216.34', '127.0.0.1'],
    'imds.example.com': ['169.254.169.254'],
  });

  it('accepts names that resolve only to public addresses', async () => {
    await expect(assertSafeBaseUrl('https://api.example.com/v1', { lookup })).resolves.toBeUndefined();
  });

  it('refuses names that resolve to any private, loopback or metadata address', async () => {
    expect(await asyncRefusal(assertSafeBaseUrl('https://internal.example.com', { lookup }))).toContain('internal.example.com (10.0.0.7) is a private address');
    expect(await asyncRefusal(assertSafeBaseUrl('https://sneaky.example.com', { lookup }))).toContain('127.0.0.1');
    expect(await asyncRefusal(assertSafeBaseUrl('https://imds.example.com', { lookup, allowLoopback: true }))).toContain('metadata');
    expect(await asyncRefusal(assertSafeBaseUrl('https://nowhere.example.com', { lookup }))).toContain('does not resolve');
  });

  it('allowPrivateNetwork admits private names and unresolvable ones, never metadata; literal IPs need no DNS', async () => {
    await expect(assertSafeBaseUrl('https://internal.example.com', { lookup, allowPrivateNetwork: true })).resolves.toBeUndefined();
    await expect(assertSafeBaseUrl('http://ollama:11434', { lookup, allowPrivateNetwork: true })).resolves.toBeUndefined();
    expect(await asyncRefusal(assertSafeBaseUrl('https://imds.example.com', { lookup, allowPrivateNetwork: true }))).toContain('metadata');
    await expect(assertSafeBaseUrl('http://127.0.0.1:8000', { lookup: async () => { throw new Error('no DNS for IPs'); }, allowLoopback: true })).resolves.toBeUndefined();
  });

  it('uses node:dns by default', async () => {
    expect(await asyncRefusal(assertSafeBaseUrl('http://localhost:11434'))).toContain('loopback');
  });
});
