import { classifyAddress, classifyHostSync } from './classify-address.js';

describe('classifyAddress', () => {
  it.each([
    ['8.8.8.8', 'public'],
    ['2606:4700::1111', 'public'],
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['0.0.0.0', 'loopback'],
    ['::1', 'loopback'],
    ['::', 'loopback'],
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
    ['::ffff:169.254.169.254', 'metadata'],
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
    ['2002:7f00:1::', 'loopback'],
    ['2002:808:808::1', 'public'],
    // IPv4-translated (SIIT) addresses likewise; site-local is private.
    ['::ffff:0:7f00:1', 'loopback'],
    ['::ffff:0:a9fe:a9fe', 'metadata'],
    ['::ffff:0:808:808', 'public'],
    ['fec0::1', 'private'],
    // Special-purpose ranges that are not a public host.
    ['192.0.0.170', 'reserved'],
    ['192.0.2.1', 'reserved'],
    ['198.18.0.1', 'reserved'],
    ['198.19.255.255', 'reserved'],
    ['198.20.0.1', 'public'],
    ['203.0.113.9', 'reserved'],
    ['224.0.0.1', 'reserved'],
    ['239.255.255.250', 'reserved'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.255', 'reserved'],
    ['::ffff:224.0.0.1', 'reserved'],
    ['::127.0.0.1', 'reserved'],
    ['100::1', 'reserved'],
    ['2001:0:4136:e378::1', 'reserved'],
    ['2001:db8::1', 'reserved'],
    ['ff02::1', 'reserved'],
  ])('%s is %s', (address, expected) => {
    expect(classifyAddress(address)).toBe(expected);
  });

  it('throws for a non-address', () => {
    expect(() => classifyAddress('example.com')).toThrow('not an IP address');
  });
});

describe('classifyHostSync', () => {
  it('classifies literal IPs and well-known names, and leaves other names to DNS', () => {
    expect(classifyHostSync('10.0.0.1')).toBe('private');
    expect(classifyHostSync('localhost')).toBe('loopback');
    expect(classifyHostSync('api.localhost')).toBe('loopback');
    expect(classifyHostSync('metadata.google.internal')).toBe('metadata');
    expect(classifyHostSync('api.openai.com')).toBeUndefined();
  });
});
