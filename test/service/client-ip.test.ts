/**
 * service/src/client-ip.ts: only an IP address written by the trusted proxies is ever the client IP.
 */
import { clientAddress } from '../../service/src/client-ip';

describe('clientAddress', () => {
  test.each([
    ['no trusted proxy: the peer, whatever the header says', '10.0.0.5', '6.6.6.6', 0, { clientIp: '10.0.0.5' }],
    ['no header: the peer (load balancer health checks)', '10.0.0.5', undefined, 1, { clientIp: '10.0.0.5' }],
    ['one proxy: the last entry', '10.0.0.5', '6.6.6.6, 203.0.113.7', 1, { clientIp: '203.0.113.7' }],
    [
      'two proxies: the second entry from the right',
      '10.0.0.5',
      '6.6.6.6, 203.0.113.7, 10.1.1.1',
      2,
      { clientIp: '203.0.113.7' },
    ],
    ['IPv6 addresses', '::1', '2001:db8::7', 1, { clientIp: '2001:db8::7' }],
    ['headers repeated (Node joins them)', '10.0.0.5', ['6.6.6.6', '203.0.113.7'], 1, { clientIp: '203.0.113.7' }],
    ['a peer that is not an address (gone)', undefined, undefined, 1, { clientIp: 'unknown' }],
  ])('%s', (_case, peer, header, hops, expected) => {
    expect(clientAddress(peer, header, hops)).toEqual(expected);
  });

  test.each([
    ['fewer entries than trusted proxies', '6.6.6.6', 2],
    ['a script at the trusted position', '<script>alert(1)</script>', 1],
    ['a name at the trusted position', 'localhost', 1],
    ['a port', '203.0.113.7:80', 1],
    ['brackets', '[2001:db8::7]', 1],
    ['an empty entry', '6.6.6.6,', 1],
    ['a forged entry written where a trusted proxy writes', '203.0.113.7, not-an-ip, 10.1.1.1', 2],
  ])('%s: the peer, and the header recorded apart, flagged', (_case, header, hops) => {
    expect(clientAddress('10.0.0.5', header, hops)).toEqual({
      clientIp: '10.0.0.5',
      forwardedFor: header,
      suspiciousForwardedFor: true,
    });
  });
});
