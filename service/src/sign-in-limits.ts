/**
 * Limits on sign-in attempts and sign-ups, kept in the session store (Redis / Valkey) so that every instance, behind
 * the load balancer, counts the same attempts: rate-limiter-flexible's `RateLimiterRedis` on the service's own
 * ioredis client, following the library's "Login endpoint protection" recipe (README, linking its wiki's "Overall
 * example"):
 *
 * - failed sign-ins per client IP per day (the recipe's `limiterSlowBruteByIP`: 100 a day, then blocked a day);
 * - consecutive failed sign-ins per user name and client IP (`limiterConsecutiveFailsByUsernameAndIP`: 10, counted
 *   over 90 days, then blocked an hour; a successful sign-in resets it);
 * - failed sign-ins per account per day, across IPs: a guess at one account spread over many addresses, then
 *   blocked an hour. NIST SP 800-63B (section 5.2.2, "Rate Limiting (Throttling)") allows at most 100 consecutive
 *   failed attempts on one account; this count is not reset by a successful sign-in (stricter), so an attacker's
 *   count is not wiped by the owner signing in meanwhile;
 * - sign-ups per client IP per hour: each costs a hash.
 *
 * As the recipe does, the counts are read first (`get`, one cheap read) and consumed only when a password check
 * fails; a count is over its limit when it is above its points, which the failure that passes them sets together
 * with the block. Unlike the recipe, failures for a user name without an account count too (per pair and per
 * name), so the answers (401, then 429) never tell whether an account exists. Any error of the store is thrown,
 * mapped as every session-store error is (503: unavailable, read-only, full), never swallowed: a limit that
 * cannot be read is not a limit.
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { SignInLimitsConfig } from './config';
import { mapCacheError, RetryLaterError } from './errors';

/** The answer to a sign-in over a limit: one message whatever the limit, so it tells nothing about the account. */
export const TOO_MANY_SIGN_INS_MESSAGE = 'too many failed sign-in attempts; try again later';

/** The answer to a sign-up over the per-IP limit. */
export const TOO_MANY_SIGN_UPS_MESSAGE = 'too many sign-ups from this address; try again later';

const DAY_SECONDS = 24 * 3600;
const HOUR_SECONDS = 3600;

/**
 * The key of a client IP address in the limits: an IPv4 address as is (an IPv4-mapped IPv6 address as its IPv4
 * address); an IPv6 address by its /64 prefix, the smallest block a site gets, as one client can use every address
 * in it. Anything else (`unknown`) as is.
 */
export function ipLimitKey(ip: string): string {
  if (isIPv4(ip)) return ip;
  if (!isIPv6(ip)) return ip;
  const groups = expandIPv6(ip);
  const mapped = groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff;
  if (mapped) return `${groups[6]! >> 8}.${groups[6]! & 0xff}.${groups[7]! >> 8}.${groups[7]! & 0xff}`;
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address (with `::`, a zone, or an IPv4 tail). */
function expandIPv6(ip: string): number[] {
  let text = ip.split('%')[0]!.toLowerCase();
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const parse = (part: string | undefined) => (part ? part.split(':').map((g) => parseInt(g, 16)) : []);
  const left = parse(head);
  const right = parse(tail);
  const zeros = tail === undefined ? [] : new Array<number>(8 - left.length - right.length).fill(0);
  return [...left, ...zeros, ...right];
}

/** The key of a user name: the same for every spelling of the account (names are unique whatever their case). */
function nameKey(name: string): string {
  return name.toLowerCase();
}

/** Seconds of a `Retry-After` for a limiter's answer, at least 1. */
function retryAfter(res: RateLimiterRes): number {
  return Math.max(1, Math.ceil(res.msBeforeNext / 1000));
}

/** A count read by {@link SignInLimits.check}: what a successful sign-in then resets. */
export interface SignInCheck {
  /** Consecutive failures of this user name from this IP before this attempt. */
  readonly pairFailures: number;
}

/** The limits of sign-in and sign-up, over the session store. */
export class SignInLimits {
  private readonly perIp: RateLimiterRedis;
  private readonly perPair: RateLimiterRedis;
  private readonly perAccount: RateLimiterRedis;
  private readonly signUps: RateLimiterRedis;

  constructor(redis: Redis, limits: SignInLimitsConfig) {
    const common = { storeClient: redis };
    this.perIp = new RateLimiterRedis({
      ...common,
      keyPrefix: 'limit:sign-in:ip',
      points: limits.failuresPerIpPerDay,
      duration: DAY_SECONDS,
      blockDuration: DAY_SECONDS,
    });
    this.perPair = new RateLimiterRedis({
      ...common,
      keyPrefix: 'limit:sign-in:user-ip',
      points: limits.consecutiveFailuresPerUserAndIp,
      duration: 90 * DAY_SECONDS,
      blockDuration: HOUR_SECONDS,
    });
    this.perAccount = new RateLimiterRedis({
      ...common,
      keyPrefix: 'limit:sign-in:user',
      points: limits.failuresPerAccountPerDay,
      duration: DAY_SECONDS,
      blockDuration: HOUR_SECONDS,
    });
    this.signUps = new RateLimiterRedis({
      ...common,
      keyPrefix: 'limit:sign-up:ip',
      points: limits.signUpsPerIpPerHour,
      duration: HOUR_SECONDS,
    });
  }

  /**
   * Before a password check: throws a 429 (with Retry-After) when the client IP, the user name from this IP, or
   * the account is over its limit, so that no password is checked; otherwise the counts a success resets.
   */
  async check(name: string, ip: string): Promise<SignInCheck> {
    const ipKey = ipLimitKey(ip);
    let results: (RateLimiterRes | null)[];
    try {
      results = await Promise.all([
        this.perIp.get(ipKey),
        this.perPair.get(pairKey(name, ipKey)),
        this.perAccount.get(nameKey(name)),
      ]);
    } catch (err) {
      throw mapCacheError(err);
    }
    const limiters = [this.perIp, this.perPair, this.perAccount];
    const over = results.filter(
      (res, i): res is RateLimiterRes => res !== null && res.consumedPoints > limiters[i]!.points,
    );
    if (over.length > 0) {
      throw new RetryLaterError(429, TOO_MANY_SIGN_INS_MESSAGE, Math.max(...over.map(retryAfter)));
    }
    return { pairFailures: results[1]?.consumedPoints ?? 0 };
  }

  /**
   * After a failed password check: counts it against the IP, the pair and the account. Throws a 429 when this
   * failure passed a limit (which is blocked from now on).
   */
  async recordFailure(name: string, ip: string): Promise<void> {
    const ipKey = ipLimitKey(ip);
    const outcomes = await Promise.allSettled([
      this.perIp.consume(ipKey),
      this.perPair.consume(pairKey(name, ipKey)),
      this.perAccount.consume(nameKey(name)),
    ]);
    const refused: RateLimiterRes[] = [];
    for (const outcome of outcomes) {
      if (outcome.status === 'fulfilled') continue;
      if (!(outcome.reason instanceof RateLimiterRes)) throw mapCacheError(outcome.reason);
      refused.push(outcome.reason);
    }
    if (refused.length > 0) {
      throw new RetryLaterError(429, TOO_MANY_SIGN_INS_MESSAGE, Math.max(...refused.map(retryAfter)));
    }
  }

  /** After a successful sign-in: the consecutive failures of this user name from this IP start again from 0. */
  async recordSuccess(name: string, ip: string, check: SignInCheck): Promise<void> {
    if (check.pairFailures === 0) return;
    try {
      await this.perPair.delete(pairKey(name, ipLimitKey(ip)));
    } catch (err) {
      throw mapCacheError(err);
    }
  }

  /** Before a sign-up's hash: counts it against the client IP; a 429 (with Retry-After) over the limit. */
  async consumeSignUp(ip: string): Promise<void> {
    try {
      await this.signUps.consume(ipLimitKey(ip));
    } catch (err) {
      if (err instanceof RateLimiterRes) throw new RetryLaterError(429, TOO_MANY_SIGN_UPS_MESSAGE, retryAfter(err));
      throw mapCacheError(err);
    }
  }
}

function pairKey(name: string, ipKey: string): string {
  return `${nameKey(name)}|${ipKey}`;
}
