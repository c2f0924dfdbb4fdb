/**
 * The client's IP address, from `X-Forwarded-For` through exactly TRUSTED_PROXY_HOPS proxies (the ALB is one),
 * accepting only IP addresses: whatever a client writes in that header (more entries, fewer, or not addresses at
 * all) never becomes the logged client IP.
 */
import { isIP } from 'node:net';

/** Longest part of a suspicious `X-Forwarded-For` kept in the log. */
export const MAX_LOGGED_FORWARDED_FOR = 200;

/** Where a request comes from, as the access log records it. */
export interface ClientAddress {
  /** The client's IP address: the trusted `X-Forwarded-For` entry, or the connection's peer. */
  readonly clientIp: string;
  /**
   * The `X-Forwarded-For` header (at most {@link MAX_LOGGED_FORWARDED_FOR} characters), only when it was not used:
   * fewer entries than trusted proxies, or an entry at a trusted position that is not an IP address. Set
   * together with {@link suspiciousForwardedFor}.
   */
  readonly forwardedFor?: string;
  /** True when {@link forwardedFor} is set: a client wrote the header, or a proxy in front is not counted. */
  readonly suspiciousForwardedFor?: true;
}

/**
 * The client address of a request.
 *
 * With `hops` trusted proxies, each appends the address it received the request from to `X-Forwarded-For`, so
 * the client is the `hops`-th entry from the right, and that entry and the ones to its right were written by
 * the proxies. When the header has fewer entries than that, or one of those entries is not an IP address
 * (IPv4 or IPv6, no port), the proxies cannot have written it: the client reached the instance directly, or
 * TRUSTED_PROXY_HOPS counts more proxies than there are. The client IP is then the connection's peer, and the
 * header is recorded apart, flagged. Without the header (the load balancer's own health checks) or with no
 * trusted proxy, the client IP is the peer.
 *
 * @param peer the connection's remote address
 * @param forwardedFor the `X-Forwarded-For` header(s) as received
 * @param hops TRUSTED_PROXY_HOPS
 */
export function clientAddress(
  peer: string | undefined,
  forwardedFor: string | string[] | undefined,
  hops: number,
): ClientAddress {
  const peerIp = peer !== undefined && isIP(peer) !== 0 ? peer : 'unknown';
  if (hops === 0 || forwardedFor === undefined) return { clientIp: peerIp };
  const header = Array.isArray(forwardedFor) ? forwardedFor.join(', ') : forwardedFor;
  const entries = header.split(',').map((entry) => entry.trim());
  const trusted = entries.slice(-hops);
  if (entries.length >= hops && trusted.every((entry) => isIP(entry) !== 0)) return { clientIp: trusted[0]! };
  return {
    clientIp: peerIp,
    forwardedFor: header.slice(0, MAX_LOGGED_FORWARDED_FOR),
    suspiciousForwardedFor: true,
  };
}
