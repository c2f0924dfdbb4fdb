/**
 * Accounts in PostgreSQL: the `users` table (migration 3). A user name is unique whatever its case (`Alice` and
 * `alice` are one account, found by either spelling); the stored spelling is the one given at sign-up.
 */
import type { QueryResultRow } from 'pg';
import type { DatabasePool } from './db';
import { DatabaseInputError, HttpError, mapDatabaseError } from './errors';

/** An account as the service uses it. */
export interface Account {
  /** Its identity (a bigint, as text): what owns notes and files. */
  readonly id: string;
  /** The user name as given at sign-up. */
  readonly name: string;
}

/** An account with its stored password hash. */
export interface AccountWithHash extends Account {
  /** PHC-encoded argon2 hash. */
  readonly passwordHash: string;
}

/** The message of a sign-up whose user name is taken. */
export const NAME_TAKEN_MESSAGE = 'user name is already taken';

interface UserRow {
  id: string;
  name: string;
  password_hash: string;
}

/** The users table. Every method but {@link updatePasswordHash} maps database errors (read-only → 503, ...). */
export class UsersRepository {
  constructor(private readonly pool: DatabasePool) {}

  private async query<R extends object>(sql: string, params: unknown[]): Promise<R[]> {
    try {
      return (await this.pool.query<R & QueryResultRow>(sql, params)).rows;
    } catch (err) {
      throw mapDatabaseError(err);
    }
  }

  /** The account named `name` (any case), with its hash; undefined when there is none. */
  async findByName(name: string): Promise<AccountWithHash | undefined> {
    const rows = await this.query<UserRow>('SELECT id, name, password_hash FROM users WHERE lower(name) = lower($1)', [
      name,
    ]);
    const row = rows[0];
    return row === undefined ? undefined : { id: String(row.id), name: row.name, passwordHash: row.password_hash };
  }

  /** Whether an account named `name` (any case) exists. */
  async exists(name: string): Promise<boolean> {
    return (await this.query('SELECT 1 FROM users WHERE lower(name) = lower($1)', [name])).length > 0;
  }

  /** Creates an account; 409 when the name (any case) is taken, also by a sign-up that won a race. */
  async create(name: string, passwordHash: string): Promise<Account> {
    try {
      const rows = await this.query<UserRow>(
        'INSERT INTO users (name, password_hash) VALUES ($1, $2) RETURNING id, name',
        [name, passwordHash],
      );
      return { id: String(rows[0]!.id), name: rows[0]!.name };
    } catch (err) {
      if (err instanceof DatabaseInputError && err.sqlState === '23505') throw new HttpError(409, NAME_TAKEN_MESSAGE);
      throw err;
    }
  }

  /**
   * Replaces an account's hash (a rehash with the current parameters), only if it is still `previousHash` (a
   * password change in between wins). Database errors are thrown as `pg` raised them: the caller decides.
   */
  async updatePasswordHash(id: string, previousHash: string, passwordHash: string): Promise<void> {
    await this.pool.query('UPDATE users SET password_hash = $1 WHERE id = $2 AND password_hash = $3', [
      passwordHash,
      id,
      previousHash,
    ]);
  }
}
