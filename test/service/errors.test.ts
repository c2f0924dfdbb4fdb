/**
 * service/src/errors.ts: what a client sees for store errors that are not its fault: a 503, never a 500.
 */
import {
  DependencyUnavailableError,
  HttpError,
  mapCacheError,
  mapDatabaseError,
  mapFilesError,
  READ_ONLY_CACHE_MESSAGE,
  READ_ONLY_DATABASE_MESSAGE,
  READ_ONLY_FILES_MESSAGE,
} from '../../service/src/errors';

const coded = (code: string, message = `${code}: simulated`) => Object.assign(new Error(message), { code });

describe('mapDatabaseError', () => {
  test.each([
    ['40001', 'canceling statement due to conflict with recovery (a hot standby replaying the primary)'],
    ['40P01', 'deadlock detected'],
  ])('SQLSTATE %s (%s) is a 503 "try again", not a 500', (code, message) => {
    const mapped = mapDatabaseError(coded(code, message));
    expect(mapped).toBeInstanceOf(DependencyUnavailableError);
    expect(mapped).toMatchObject({ statusCode: 503, message: 'database busy; try again shortly' });
  });

  test('a read-only transaction (25006) is the read-only 503', () => {
    expect(mapDatabaseError(coded('25006', 'cannot execute INSERT in a read-only transaction'))).toMatchObject({
      statusCode: 503,
      message: READ_ONLY_DATABASE_MESSAGE,
    });
  });

  test('a query error stays as it is (a bug: 500)', () => {
    const bug = coded('42P01', 'relation "nope" does not exist');
    expect(mapDatabaseError(bug)).toBe(bug);
  });

  test.each([
    ['22021', 'invalid byte sequence for encoding "UTF8": 0x00'],
    ['22001', 'value too long for type character varying(64)'],
    ['22003', 'value "99999999999999999999" is out of range for type bigint'],
    ['22P02', 'invalid input syntax for type bigint: "x"'],
    ['22P05', 'unsupported Unicode escape sequence'],
    ['22007', 'invalid input syntax for type timestamp with time zone: "soon"'],
    ['23502', 'null value in column "text" of relation "notes" violates not-null constraint'],
    ['23514', 'new row for relation "notes" violates check constraint "notes_text_length"'],
  ])('data error %s is a 400 with the reason, not a 500', (code, message) => {
    expect(mapDatabaseError(coded(code, message))).toMatchObject({
      statusCode: 400,
      message: `value refused by the database: ${message}`,
      sqlState: code,
    });
  });

  test.each([
    ['23505', 'duplicate key value violates unique constraint "notes_pkey"'],
    ['23503', 'insert or update on table "x" violates foreign key constraint "x_fk"'],
    ['23P01', 'conflicting key value violates exclusion constraint "x_excl"'],
  ])('conflict %s is a 409 with the reason', (code, message) => {
    expect(mapDatabaseError(coded(code, message))).toMatchObject({
      statusCode: 409,
      message: `conflicts with stored data: ${message}`,
    });
  });

  test.each([
    ['53100', 'could not extend file: No space left on device', 'database is full; writes resume once space is freed'],
    ['53200', 'out of memory', 'database unavailable; try again shortly'],
    ['58030', 'could not write to file: I/O error', 'database unavailable; try again shortly'],
    ['57P04', 'database dropped', 'database unavailable; try again shortly'],
    ['57014', 'canceling statement due to statement timeout', 'database busy; try again shortly'],
    ['55P03', 'could not obtain lock on row', 'database busy; try again shortly'],
  ])('a database that cannot take the statement (%s: %s) is a 503', (code, text, message) => {
    const mapped = mapDatabaseError(coded(code, text));
    expect(mapped).toBeInstanceOf(DependencyUnavailableError);
    expect(mapped).toMatchObject({ statusCode: 503, message });
  });
});

describe('mapCacheError: every session store error is a 503', () => {
  test.each([
    ["READONLY You can't write against a read only replica.", READ_ONLY_CACHE_MESSAGE],
    [
      "ERR Error running script (call to f_1): @user_script:2: -READONLY You can't write against a read only replica.",
      READ_ONLY_CACHE_MESSAGE,
    ],
    [
      "OOM command not allowed when used memory > 'maxmemory'.",
      'session store is full; sign-in resumes once it has room',
    ],
    [
      'MISCONF Redis is configured to save RDB snapshots, but it is currently not able to persist on disk.',
      'session store unavailable; try again shortly',
    ],
    ['Connection is closed.', 'session store unavailable; try again shortly'],
  ])('%s', (text, message) => {
    expect(mapCacheError(new Error(text))).toMatchObject({ statusCode: 503, message });
  });
});

describe('mapFilesError for a read', () => {
  test.each(['EACCES', 'EPERM', 'EROFS', 'EIO'])(
    '%s on a download is "unavailable", never the uploads message',
    (code) => {
      const mapped = mapFilesError(coded(code), 'read');
      expect(mapped).toBeInstanceOf(DependencyUnavailableError);
      expect(mapped).toMatchObject({ statusCode: 503, message: 'shared files unavailable; try again shortly' });
      expect((mapped as HttpError).message).not.toBe(READ_ONLY_FILES_MESSAGE);
    },
  );
});
