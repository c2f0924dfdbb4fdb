/**
 * Sign-up and sign-in: the password policy, the attempt limits, hashing on the worker pool and the accounts table,
 * in the order that keeps each step's promise. A sign-in failure says only `invalid user name or password`, and
 * costs the same whether the account exists or not (a user name without an account is verified against a fixed
 * dummy hash), so neither the answer nor its timing tells which accounts exist.
 */
import { HttpError, isReadOnlyDatabaseError, RetryLaterError } from './errors';
import type { PasswordHasher } from './password-hasher';
import { normalizePassword, passwordProblem } from './passwords';
import type { SignInLimits } from './sign-in-limits';
import { NAME_TAKEN_MESSAGE, type Account, type AccountWithHash, type UsersRepository } from './users';

/** The one answer to a failed sign-in: unknown user name and wrong password alike. */
export const SIGN_IN_FAILED_MESSAGE = 'invalid user name or password';

/** The subset of a logger the accounts use. */
export interface AccountLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** What {@link Accounts} works with. */
export interface AccountsDependencies {
  /** The accounts table. */
  readonly users: UsersRepository;
  /** The password worker pool. */
  readonly hasher: PasswordHasher;
  /** The attempt limits (in the session store). */
  readonly limits: SignInLimits;
}

/** Sign-up and sign-in. */
export class Accounts {
  constructor(private readonly deps: AccountsDependencies) {}

  /**
   * Creates an account: 400 when the password is outside the policy, 429 over the sign-up limit of the client IP
   * (counted before any hash), 409 when the name is taken (whatever its case), then the hash and the row.
   */
  async signUp(name: string, password: string, clientIp: string): Promise<Account> {
    const normalized = normalizePassword(password);
    const problem = passwordProblem(normalized);
    if (problem !== undefined) throw new HttpError(400, problem);
    const { users, hasher, limits } = this.deps;
    await limits.consumeSignUp(clientIp);
    // Cheap refusal of a taken name before the hash; the insert refuses it too if another sign-up wins the race.
    if (await users.exists(name)) throw new HttpError(409, NAME_TAKEN_MESSAGE);
    return users.create(name, await hasher.hash(normalized));
  }

  /**
   * Checks a user name and password: 429 (no password checked) when the client IP, the name from this IP or the
   * account is over its limit; 401 {@link SIGN_IN_FAILED_MESSAGE} for an unknown name or a wrong password, after
   * the same work in both cases (a lookup, one verification, the failure counted); else the account, whose hash is
   * replaced when it was made with older parameters.
   */
  async signIn(name: string, password: string, clientIp: string, log: AccountLogger): Promise<Account> {
    const { users, hasher, limits } = this.deps;
    const normalized = normalizePassword(password);
    const check = await limits.check(name, clientIp);
    const account = await users.findByName(name);
    const matches = await hasher.verify(normalized, account?.passwordHash ?? (await hasher.dummyHash()));
    if (account === undefined || !matches) {
      await limits.recordFailure(name, clientIp);
      throw new HttpError(401, SIGN_IN_FAILED_MESSAGE);
    }
    await limits.recordSuccess(name, clientIp, check);
    await this.rehashIfOld(account, normalized, log);
    return { id: account.id, name: account.name };
  }

  /**
   * Replaces a hash made with other parameters than the current ones, now that the password is known. Skipped
   * silently where it cannot be written (a read-only database: the passive region; the next sign-in in the
   * active region does it) or when every worker is busy; any other failure is logged, and the sign-in goes on.
   */
  private async rehashIfOld(account: AccountWithHash, normalized: string, log: AccountLogger): Promise<void> {
    if (!this.deps.hasher.needsRehash(account.passwordHash)) return;
    try {
      const hash = await this.deps.hasher.hash(normalized);
      await this.deps.users.updatePasswordHash(account.id, account.passwordHash, hash);
      log.info({ userId: account.id }, 'password rehashed with the current parameters');
    } catch (err) {
      if (isReadOnlyDatabaseError(err) || err instanceof RetryLaterError) return;
      log.warn({ userId: account.id, err: { message: (err as Error).message } }, 'password rehash failed');
    }
  }
}
