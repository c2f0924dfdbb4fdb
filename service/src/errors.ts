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

/** The message of a write refused by a read-only database (the secondary region). */
export const READ_ONLY_DATABASE_MESSAGE = 'database is read-only in this region; writes resume after the region switch';

/** The message of a write refused by a read-only session store (the secondary region). */
export const READ_ONLY_CACHE_MESSAGE =
  'session store is read-only in this region; sign-in resumes after the region switch';

/** The message of a write refused by read-only shared files (the EFS replication destination, secondary region). */
export const READ_ONLY_FILES_MESSAGE =
  'shared files are read-only in this region; uploads resume after the region switch';

/** A dependency (database, session store, shared files) cannot serve the request now: 503. */
export class DependencyUnavailableError extends HttpError {
  constructor(
    /** Which dependency failed. */
    public readonly dependency: 'database' | 'cache' | 'files',
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
 * also raises when it cancels a query that conflicts with the replay of the primary's WAL) and
 * deadlock_detected (40P01).
 */
const DATABASE_RETRYABLE_CODES = new Set(['40001', '40P01']);

/** Maps a `pg` error to the error the client should see; other errors are returned unchanged (500). */
export function mapDatabaseError(err: unknown): unknown {
  if (isReadOnlyDatabaseError(err)) return new HttpError(503, READ_ONLY_DATABASE_MESSAGE);
  const code = errorCode(err);
  if (code !== undefined && DATABASE_RETRYABLE_CODES.has(code)) {
    return new DependencyUnavailableError('database', 'database busy; try again shortly', err);
  }
  if (isDatabaseConnectionError(err)) {
    return new DependencyUnavailableError('database', 'database unavailable; try again shortly', err);
  }
  return err;
}

/** Maps an `ioredis` error: a read-only replica, or any connection-level failure, is a 503. */
export function mapCacheError(err: unknown): unknown {
  // A MULTI refused at queueing time fails as EXECABORT, with the queueing errors in previousErrors.
  const previous = (err as { previousErrors?: unknown[] } | null)?.previousErrors ?? [];
  if ([err, ...previous].some((e) => errorMessage(e).startsWith('READONLY'))) {
    return new HttpError(503, READ_ONLY_CACHE_MESSAGE);
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

/**
 * Maps a file system error of the shared files to the error the client should see. For a write: EROFS is the
 * read-only region (503); EACCES and EPERM also answer 503 with the read-only message but are logged, as they
 * can be wrong ownership rather than a replica. Any other system error (ENOSPC, EIO, ESTALE, ETIMEDOUT, a
 * missing directory...), and any system error of a read, means the files are unavailable (503, logged).
 * {@link HttpError}s and errors without a system error code are returned unchanged.
 */
export function mapFilesError(err: unknown, operation: 'write' | 'read' = 'write'): unknown {
  if (err instanceof HttpError) return err;
  const code = errorCode(err);
  if (operation === 'write' && code === 'EROFS') return new HttpError(503, READ_ONLY_FILES_MESSAGE);
  if (operation === 'write' && isReadOnlyFilesError(err)) {
    return new DependencyUnavailableError('files', READ_ONLY_FILES_MESSAGE, err);
  }
  if (code !== undefined && /^E[A-Z0-9]+$/.test(code)) {
    return new DependencyUnavailableError('files', 'shared files unavailable; try again shortly', err);
  }
  return err;
}
