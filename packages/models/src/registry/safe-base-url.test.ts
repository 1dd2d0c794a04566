import { assertSafeBaseUrlSync } from './safe-base-url.js';
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
    'http://224.0.0.1/',
    'http://198.18.0.1/',
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
