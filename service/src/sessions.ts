/**
 * Sessions in Redis or Valkey: hash `session:<id>` with fields `userId` (the account's identity), `user` (its
 * name), `counter` and `createdAt`, and a sliding TTL refreshed on every use. A session without `userId` (made
 * before accounts existed, by naming any user) is no session. No session state lives in the process, so any instance (in any
 * region, once the Global Datastore has replicated) serves any session.
 */
import { randomBytes } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import type { RedisConfig } from './config';
import { mapCacheError } from './errors';

/** Name of the session cookie. */
export const SESSION_COOKIE = 'sid';

/** A session ID is 256 random bits, base64url without padding: 43 characters. */
const SESSION_ID_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** A signed-in session. */
export interface Session {
  /** Its ID (the cookie's value). */
  readonly id: string;
  /** The signed-in account's identity: what owns notes and files. */
  readonly userId: string;
  /** The signed-in account's user name. */
  readonly user: string;
  /** The session's counter. */
  readonly counter: number;
}

/** The subset of a logger this module uses. */
export interface CacheLogger {
  warn(obj: object, msg: string): void;
}

/** Longest pause between reconnection attempts. */
const MAX_RECONNECT_DELAY_MS = 1000;

/** The ioredis options for a configuration: fail fast while disconnected, reconnect for ever. */
export function redisOptions(config: RedisConfig): RedisOptions {
  return {
    host: config.host,
    port: config.port,
    password: config.password,
    tls: config.tls ? { servername: config.host } : undefined,
    connectTimeout: 2000,
    commandTimeout: 2000,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    retryStrategy: (attempt: number) => Math.min(attempt * 100, MAX_RECONNECT_DELAY_MS),
    lazyConnect: false,
  };
}

/** Creates the Redis client; connection errors are logged (once per outage) rather than thrown. */
export function createRedis(config: RedisConfig, log: CacheLogger): Redis {
  const redis = new Redis(redisOptions(config));
  let reported = false;
  redis.on('error', (err: Error) => {
    if (reported) return;
    reported = true;
    log.warn({ err: { message: err.message } }, 'session store connection error');
  });
  redis.on('ready', () => {
    reported = false;
  });
  return redis;
}

/** Creates the hash and its TTL in one atomic step (one command: no MULTI to abort half-way). */
const CREATE_SCRIPT = `
redis.call('HSET', KEYS[1], 'userId', ARGV[2], 'user', ARGV[3], 'counter', 0, 'createdAt', ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1`;

/** Increments the counter of an existing session (of an account) only, and slides its TTL. */
const INCREMENT_SCRIPT = `
if redis.call('HEXISTS', KEYS[1], 'userId') == 0 then return false end
local n = redis.call('HINCRBY', KEYS[1], 'counter', 1)
redis.call('EXPIRE', KEYS[1], ARGV[1])
return n`;

/** Sessions over one Redis client. Every method maps Redis errors to 503. */
export class SessionStore {
  constructor(
    private readonly redis: Redis,
    private readonly ttlSeconds: number,
  ) {}

  /** Whether a cookie value can be a session ID (checked before any Redis round trip). */
  static isWellFormedId(id: string | undefined): id is string {
    return id !== undefined && SESSION_ID_PATTERN.test(id);
  }

  private static key(id: string): string {
    return `session:${id}`;
  }

  /** Creates a session for an account with a fresh random ID. */
  async create(account: { readonly id: string; readonly name: string }): Promise<Session> {
    const id = randomBytes(32).toString('base64url');
    const key = SessionStore.key(id);
    try {
      await this.redis.eval(CREATE_SCRIPT, 1, key, this.ttlSeconds, account.id, account.name, new Date().toISOString());
    } catch (err) {
      throw mapCacheError(err);
    }
    return { id, userId: account.id, user: account.name, counter: 0 };
  }

  /** The session with this ID, its TTL refreshed; undefined when absent or expired. */
  async get(id: string): Promise<Session | undefined> {
    if (!SessionStore.isWellFormedId(id)) return undefined;
    const key = SessionStore.key(id);
    let fields: Record<string, string>;
    try {
      // A pipeline, not MULTI: on a read-only replica (secondary region) the read still succeeds.
      const results = await this.redis.pipeline().hgetall(key).expire(key, this.ttlSeconds).exec();
      const [readErr, value] = results![0]!;
      if (readErr) throw readErr;
      fields = value as Record<string, string>;
    } catch (err) {
      throw mapCacheError(err);
    }
    if (fields.user === undefined || fields.userId === undefined) return undefined;
    return { id, userId: fields.userId, user: fields.user, counter: Number(fields.counter ?? 0) };
  }

  /** Adds one to the session's counter atomically; undefined when the session does not exist. */
  async increment(id: string): Promise<number | undefined> {
    if (!SessionStore.isWellFormedId(id)) return undefined;
    try {
      const result = await this.redis.eval(INCREMENT_SCRIPT, 1, SessionStore.key(id), this.ttlSeconds);
      return result === null ? undefined : Number(result);
    } catch (err) {
      throw mapCacheError(err);
    }
  }

  /** Deletes the session (sign-out, or rotation on sign-in). */
  async delete(id: string): Promise<void> {
    if (!SessionStore.isWellFormedId(id)) return;
    try {
      await this.redis.del(SessionStore.key(id));
    } catch (err) {
      throw mapCacheError(err);
    }
  }

  /**
   * The store's replication role (deep health check), from `ROLE` (not among ElastiCache's restricted
   * commands): `primary` accepts writes; `replica` is read-only (a replica of a primary, or the Global Datastore
   * secondary of the passive region).
   */
  async role(): Promise<'primary' | 'replica'> {
    const reply = (await this.redis.call('ROLE')) as unknown[];
    return reply[0] === 'master' ? 'primary' : 'replica';
  }
}
