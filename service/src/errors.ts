/**
 * Errors the handlers throw, each carrying the HTTP status and the message the client sees.
 */

/** An error whose status and message go to the client as `{"error": message}`. */
export class HttpError extends Error {
  constructor(
    /** HTTP status code. */
    public readonly statusCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** Longest client-supplied name quoted in a message. */
export const MAX_QUOTED = 64;

/** Quotes a client-supplied name (a field, a file name) for a message, shortened to {@link MAX_QUOTED} characters. */
export function quoteName(name: string): string {
  return JSON.stringify(name.length > MAX_QUOTED ? `${name.slice(0, MAX_QUOTED)}...` : name);
}

/** The message of a write refused by a read-only database (the secondary region). */
export const READ_ONLY_DATABASE_MESSAGE = 'database is read-only in this region; writes resume after the region switch';

/** The message of a write refused by a read-only session store (the secondary region). */
export const READ_ONLY_CACHE_MESSAGE =
  'session store is read-only in this region; sign-in resumes after the region switch';

/** The message of a write refused by read-only shared files (the EFS replication destination, secondary region). */
export const READ_ONLY_FILES_MESSAGE =
  'shared files are read-only in this region; uploads resume after the region switch';

/** The message of a write refused because the shared files are full (ENOSPC) or over their quota (EDQUOT). */
export const FULL_FILES_MESSAGE = 'shared files are full; uploads resume once space is freed';

/** The message of a write refused because the database has no space left (SQLSTATE 53100, disk_full). */
export const FULL_DATABASE_MESSAGE = 'database is full; writes resume once space is freed';

/** The message of a sign-in refused because the session store is out of memory (Redis `OOM`, maxmemory reached). */
export const FULL_CACHE_MESSAGE = 'session store is full; sign-in resumes once it has room';

/**
 * The client closed the connection before the answer was sent: nobody receives the status, which is 499 in the
 * access log (as nginx logs it). The request's work stops where it can (an upload is abandoned, nothing stored).
 */
export class ClientClosedRequestError extends HttpError {
  constructor() {
    super(499, 'client closed the connection before the answer');
    this.name = 'ClientClosedRequestError';
  }
}

/** The request (its head or its body) did not arrive in time: 408, and the connection is closed. */
export class RequestTimeoutError extends HttpError {
  constructor(message: string) {
    super(408, message);
    this.name = 'RequestTimeoutError';
  }
}

/**
 * The database refused the request's data (SQLSTATE class 22, data exception: a value it cannot store, such as a
 * NUL character in text; class 23, integrity constraint violation): the client's input, so a 4xx, never a 500.
 * The SQLSTATE is kept for the log.
 */
export class DatabaseInputError extends HttpError {
  constructor(
    statusCode: 400 | 409,
    message: string,
    /** SQLSTATE of the refusal. */
    public readonly sqlState: string,
  ) {
    super(statusCode, message);
    this.name = 'DatabaseInputError';
  }
}

/**
 * A request to try again later: 429 (a sign-in or sign-up limit reached) or 503 (every password worker busy),
 * answered with `Retry-After` in seconds.
 */
export class RetryLaterError extends HttpError {
  constructor(
    statusCode: 429 | 503,
    message: string,
    /** Seconds after which the client may try again (the `Retry-After` header), at least 1. */
    public readonly retryAfterSeconds: number,
  ) {
    super(statusCode, message);
    this.name = 'RetryLaterError';
  }
}

/** A dependency (database, session store, shared files, password workers) cannot serve the request now: 503. */
export class DependencyUnavailableError extends HttpError {
  constructor(
    /** Which dependency failed. */
    public readonly dependency: 'database' | 'cache' | 'files' | 'passwords',
    message: string,
    /** The underlying error, for the log only. */
    public readonly cause?: unknown,
  ) {
    super(503, message);
    this.name = 'DependencyUnavailableError';
  }
}

/** SQLSTATE and Node.js error codes that mean "the database cannot be reached right now". */
const DATABASE_CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  '28000', // invalid_authorization_specification
  '28P01', // invalid_password (for example in the middle of a secret rotation)
  '53300', // too_many_connections
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
]);

const DATABASE_CONNECTION_MESSAGES = [
  /connection terminated/i,
  /timeout exceeded when trying to connect/i,
  /not queryable/i,
  /query read timeout/i,
  /connection (?:is )?closed/i,
];

function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Whether a PostgreSQL error says the transaction or the server is read-only. */
export function isReadOnlyDatabaseError(err: unknown): boolean {
  return errorCode(err) === '25006' || /cannot execute .* in a read-only transaction/i.test(errorMessage(err));
}

/** Whether an error from `pg` means the database is unreachable (as opposed to a bad query). */
export function isDatabaseConnectionError(err: unknown): boolean {
  const code = errorCode(err);
  if (code !== undefined && (DATABASE_CONNECTION_CODES.has(code) || code.startsWith('08'))) return true;
  const message = errorMessage(err);
  return DATABASE_CONNECTION_MESSAGES.some((pattern) => pattern.test(message));
}

/**
 * SQLSTATEs of a statement that may succeed if sent again: serialization_failure (40001, which a hot standby
 * also raises when it cancels a query that conflicts with the replay of the primary's WAL), deadlock_detected
 * (40P01), query_canceled (57014: the statement timeout) and lock_not_available (55P03).
 */
const DATABASE_RETRYABLE_CODES = new Set(['40001', '40P01', '57014', '55P03']);

/** SQLSTATEs of class 23 that say the data conflicts with what is stored (409) rather than is invalid (400). */
const DATABASE_CONFLICT_CODES = new Set(['23505', '23P01', '23503']);

/** A SQLSTATE: five characters of digits and upper-case letters. */
const SQLSTATE = /^[0-9A-Z]{5}$/;

/**
 * Maps a `pg` error to the error the client should see; other errors (a bad query: a bug) are returned unchanged
 * (500).
 *
 * - read-only transaction (25006: the passive region): 503 read-only;
 * - no space left (53100): 503 full; other insufficient resources (class 53), operator intervention (class 57)
 *   and system errors (class 58): 503 unavailable;
 * - a statement worth sending again (40001, 40P01, 57014, 55P03): 503 busy;
 * - connection failures: 503 unavailable;
 * - data exception (class 22) and integrity constraint violation (class 23): the client's data, 400 (409 for a
 *   conflict with stored data: unique, exclusion, foreign key), with the database's reason.
 */
export function mapDatabaseError(err: unknown): unknown {
  if (err instanceof HttpError) return err;
  if (isReadOnlyDatabaseError(err)) return new HttpError(503, READ_ONLY_DATABASE_MESSAGE);
  const code = errorCode(err);
  const sqlState = code !== undefined && SQLSTATE.test(code) ? code : undefined;
  if (sqlState !== undefined && DATABASE_RETRYABLE_CODES.has(sqlState)) {
    return new DependencyUnavailableError('database', 'database busy; try again shortly', err);
  }
  if (sqlState === '53100') return new DependencyUnavailableError('database', FULL_DATABASE_MESSAGE, err);
  if (isDatabaseConnectionError(err) || (sqlState !== undefined && /^5[378]/.test(sqlState))) {
    return new DependencyUnavailableError('database', 'database unavailable; try again shortly', err);
  }
  if (sqlState?.startsWith('22')) {
    return new DatabaseInputError(400, `value refused by the database: ${errorMessage(err)}`, sqlState);
  }
  if (sqlState?.startsWith('23')) {
    return DATABASE_CONFLICT_CODES.has(sqlState)
      ? new DatabaseInputError(409, `conflicts with stored data: ${errorMessage(err)}`, sqlState)
      : new DatabaseInputError(400, `value refused by the database: ${errorMessage(err)}`, sqlState);
  }
  return err;
}

/**
 * Maps an `ioredis` error: every error of the session store is a 503. A read-only replica (`READONLY`, also
 * inside a script's error) has the read-only message; a store out of memory (`OOM`: maxmemory reached with the
 * noeviction policy) the full message; anything else (disconnected, timed out, `MISCONF`: it cannot persist) is
 * unavailable.
 */
export function mapCacheError(err: unknown): unknown {
  if (err instanceof HttpError) return err;
  // A MULTI refused at queueing time fails as EXECABORT, with the queueing errors in previousErrors.
  const previous = (err as { previousErrors?: unknown[] } | null)?.previousErrors ?? [];
  const messages = [err, ...previous].map(errorMessage);
  if (messages.some((m) => /(?:^|[\s:-])READONLY\b/.test(m))) {
    return new HttpError(503, READ_ONLY_CACHE_MESSAGE);
  }
  if (messages.some((m) => /(?:^|[\s:-])OOM\b/.test(m))) {
    return new DependencyUnavailableError('cache', FULL_CACHE_MESSAGE, err);
  }
  return new DependencyUnavailableError('cache', 'session store unavailable; try again shortly', err);
}

/**
 * Error codes of a file system that refuses writes: EROFS from a read-only mount (an EFS file system is
 * read-only while it is a replication destination), EACCES or EPERM when permissions refuse them.
 */
const READ_ONLY_FILE_CODES = new Set(['EROFS', 'EACCES', 'EPERM']);

/** Whether a file system error says the shared files cannot be written here. */
export function isReadOnlyFilesError(err: unknown): boolean {
  const code = errorCode(err);
  return code !== undefined && READ_ONLY_FILE_CODES.has(code);
}

/** Error codes of a file system that has no room for the write: no space left (ENOSPC), quota reached (EDQUOT). */
const FULL_FILE_CODES = new Set(['ENOSPC', 'EDQUOT']);

/**
 * Maps a file system error of the shared files to the error the client should see. For a write: EROFS is the
 * read-only region (503); EACCES and EPERM also answer 503 with the read-only message but are logged, as they
 * can be wrong ownership rather than a replica; ENOSPC and EDQUOT answer 503 full (logged). Any other system
 * error (EIO, ESTALE, ETIMEDOUT, a missing directory...), and any system error of a read, means the files are
 * unavailable (503, logged). {@link HttpError}s and errors without a system error code are returned unchanged.
 */
export function mapFilesError(err: unknown, operation: 'write' | 'read' = 'write'): unknown {
  if (err instanceof HttpError) return err;
  const code = errorCode(err);
  if (operation === 'write' && code === 'EROFS') return new HttpError(503, READ_ONLY_FILES_MESSAGE);
  if (operation === 'write' && isReadOnlyFilesError(err)) {
    return new DependencyUnavailableError('files', READ_ONLY_FILES_MESSAGE, err);
  }
  if (operation === 'write' && code !== undefined && FULL_FILE_CODES.has(code)) {
    return new DependencyUnavailableError('files', FULL_FILES_MESSAGE, err);
  }
  if (code !== undefined && /^E[A-Z0-9]+$/.test(code)) {
    return new DependencyUnavailableError('files', 'shared files unavailable; try again shortly', err);
  }
  return err;
}
