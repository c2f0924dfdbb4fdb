/**
 * service/src/errors.ts: what a client sees for store errors that are not its fault: a 503, never a 500.
 */
import {
  DependencyUnavailableError,
  HttpError,
  mapDatabaseError,
  mapFilesError,
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
