/**
 * How a service proves who it is to PostgreSQL, for every new connection (`pg` asks for the password each time it
 * opens one, when the password is a function): so a credential that changes reaches the next connection without a
 * restart.
 *
 * - `iam` (what the deploy sets): an IAM database authentication token, signed with the instance role's credentials
 *   by `@aws-sdk/rds-signer` for the host, port and user of the connection being opened (the writer or the reader
 *   endpoint). A token is valid for 15 minutes and only for opening a connection (AWS, "IAM database
 *   authentication"); nothing is stored, nothing to rotate. The credentials come from the SDK's default chain (the
 *   instance profile on EC2), which renews them before they expire.
 * - `passwordFile`: the file's content, read again for each connection (a rotated password is picked up by the
 *   next connection).
 * - `password`: a fixed password (local runs).
 *
 * A credential that cannot be had (no instance credentials, an unreadable file) fails the connection with SQLSTATE
 * 28000 (invalid_authorization_specification), which the service answers as a database that is unavailable (503).
 */
import { readFile } from 'node:fs/promises';
import { Signer } from '@aws-sdk/rds-signer';

/** How the service signs in to PostgreSQL. */
export type DatabaseCredentials =
  | { readonly kind: 'iam'; readonly region: string }
  | { readonly kind: 'passwordFile'; readonly path: string }
  | { readonly kind: 'password'; readonly password: string };

/** What `pg` passes to a password function: the parameters of the connection being opened. */
export interface ConnectionTarget {
  readonly host: string;
  readonly port: number;
  readonly user: string;
}

/** Makes an IAM authentication token for one connection target. */
export type TokenSigner = (target: ConnectionTarget, region: string) => Promise<string>;

/** {@link TokenSigner} of `@aws-sdk/rds-signer`, one Signer per target (each keeps its credential chain). */
export function rdsTokenSigner(): TokenSigner {
  const signers = new Map<string, Signer>();
  return (target, region) => {
    const key = `${target.host}:${target.port}:${target.user}:${region}`;
    let signer = signers.get(key);
    if (!signer) {
      signer = new Signer({ hostname: target.host, port: target.port, username: target.user, region });
      signers.set(key, signer);
    }
    return signer.getAuthToken();
  };
}

/** A failure to obtain a credential, as a connection error (SQLSTATE 28000). */
export class DatabaseCredentialsError extends Error {
  /** invalid_authorization_specification: a connection failure, so the service answers 503. */
  public readonly code = '28000';

  constructor(message: string, cause: unknown) {
    super(message, { cause });
    this.name = 'DatabaseCredentialsError';
  }
}

/**
 * The `password` option of a `pg` pool or client for `credentials`: a string for a fixed password, else a function
 * `pg` calls for each new connection.
 *
 * @param signer how IAM tokens are made; @default {@link rdsTokenSigner}
 */
export function passwordOption(
  credentials: DatabaseCredentials,
  signer: TokenSigner = rdsTokenSigner(),
): string | ((target: ConnectionTarget) => Promise<string>) {
  switch (credentials.kind) {
    case 'password':
      return credentials.password;
    case 'passwordFile':
      return async () => {
        try {
          return (await readFile(credentials.path, 'utf8')).replace(/\r?\n$/, '');
        } catch (err) {
          throw new DatabaseCredentialsError(
            `cannot read the database password file ${credentials.path}: ${(err as Error).message}`,
            err,
          );
        }
      };
    case 'iam':
      return async (target) => {
        try {
          return await signer({ host: target.host, port: Number(target.port), user: target.user }, credentials.region);
        } catch (err) {
          throw new DatabaseCredentialsError(
            `cannot make an IAM database authentication token for ${target.user}@${target.host}: ${(err as Error).message}`,
            err,
          );
        }
      };
  }
}
