/**
 * Passwords: the policy a new password must meet, and argon2id hashing (hash-wasm, pure WebAssembly, so the one
 * esbuild bundle carries it). Hashing runs in a worker thread ({@link runPasswordWorker}, driven by
 * ./password-hasher.ts), never on the event loop: one hash takes about 80 ms of CPU, computed synchronously.
 */
import { randomBytes } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { argon2id, argon2Verify } from 'hash-wasm';

/**
 * Shortest password accepted at sign-up, in characters: Unicode code points after NFC normalisation, as NIST SP
 * 800-63B counts them ("each Unicode code point SHALL be counted as a single character"). NIST SP 800-63B (2017,
 * section 5.1.1.2, "Memorized Secret Verifiers") requires at least 8 characters; 12 is this service's choice above
 * that floor, as it has no second factor. Revision 4 of SP 800-63B (2025, section 3.1.1.2) raises the minimum of
 * a password used as the only factor to 15.
 */
export const PASSWORD_MIN_LENGTH = 12;

/**
 * Longest password accepted, in characters. NIST SP 800-63B (section 5.1.1.2) asks verifiers to permit at least 64
 * characters and never to truncate; 128 leaves room for pass phrases while bounding the work of one hash.
 */
export const PASSWORD_MAX_LENGTH = 128;

/**
 * The argon2id parameters of new hashes: the OWASP Password Storage Cheat Sheet's first Argon2id configuration,
 * 19 MiB of memory (m=19456 KiB), 2 iterations, 1 degree of parallelism; a 16-byte random salt per password (RFC
 * 9106, section 4: 128 bits is sufficient for all applications) and a 32-byte tag (the length of the reference
 * implementation's command-line default). Stored PHC-encoded, parameters included, so a change of these values
 * rehashes each password at its next sign-in ({@link needsRehash}).
 */
export const ARGON2_PARAMETERS: Argon2Parameters = {
  memorySize: 19_456,
  iterations: 2,
  parallelism: 1,
  hashLength: 32,
  saltLength: 16,
};

/** Parameters of argon2id hashing: memory in KiB, iterations, parallelism, tag and salt lengths in bytes. */
export interface Argon2Parameters {
  readonly memorySize: number;
  readonly iterations: number;
  readonly parallelism: number;
  readonly hashLength: number;
  readonly saltLength: number;
}

/**
 * A hash of a random password nobody knows, with the current {@link ARGON2_PARAMETERS}: a sign-in for a user name
 * without an account is verified against it, so that it costs the same as a wrong password and its timing does
 * not tell whether the account exists. A test checks that its parameters are the current ones.
 */
export const DUMMY_PASSWORD_HASH =
  '$argon2id$v=19$m=19456,t=2,p=1$cmNI+VcV58Klrb1TrhlDFw$gaBH7w0+iRI1DWx3QS6p3dCfzKiB3SQHDxyFkrEImrQ';

/** The message of a new password outside the policy. */
export const PASSWORD_POLICY_MESSAGE = `password must be ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters`;

/**
 * A password as it is hashed and verified: NFC-normalised, so the same characters typed on two systems that
 * compose them differently (an "é" as one code point or as "e" and a combining accent) are the same password.
 * NIST SP 800-63B (section 5.1.1.2) suggests NFKC or NFKD; NFC is used here because the compatibility forms would
 * also fold characters a user chose on purpose (full-width letters, ligatures, superscripts) into others.
 */
export function normalizePassword(password: string): string {
  return password.normalize('NFC');
}

/** Why a new (normalised) password is refused, or undefined when it meets the policy. Any Unicode is allowed. */
export function passwordProblem(normalized: string): string | undefined {
  // Code points, not UTF-16 units: an emoji is one character.
  const length = Array.from(normalized).length;
  return length < PASSWORD_MIN_LENGTH || length > PASSWORD_MAX_LENGTH ? PASSWORD_POLICY_MESSAGE : undefined;
}

/** The parameters of a PHC-encoded argon2 hash (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<tag>`). */
export interface HashParameters {
  /** `argon2id`, `argon2i` or `argon2d`. */
  readonly algorithm: string;
  /** Argon2 version (19 is 1.3). */
  readonly version: number;
  /** Memory, in KiB. */
  readonly memorySize: number;
  /** Iterations. */
  readonly iterations: number;
  /** Degree of parallelism. */
  readonly parallelism: number;
  /** Tag length, in bytes. */
  readonly hashLength: number;
}

const PHC = /^\$(argon2(?:id|i|d))\$v=(\d+)\$m=(\d+),t=(\d+),p=(\d+)\$[A-Za-z0-9+/]+\$([A-Za-z0-9+/]+)$/;

/** The parameters of a stored hash, or undefined when it is not a PHC-encoded argon2 hash. */
export function hashParameters(encoded: string): HashParameters | undefined {
  const match = PHC.exec(encoded);
  if (!match) return undefined;
  return {
    algorithm: match[1]!,
    version: Number(match[2]),
    memorySize: Number(match[3]),
    iterations: Number(match[4]),
    parallelism: Number(match[5]),
    hashLength: Math.floor((match[6]!.length * 3) / 4),
  };
}

/**
 * Whether a stored hash was made with other parameters than the current ones (older, weaker, or another
 * algorithm): it is replaced at the next successful sign-in.
 */
export function needsRehash(encoded: string, parameters: Argon2Parameters = ARGON2_PARAMETERS): boolean {
  const p = hashParameters(encoded);
  return (
    p === undefined ||
    p.algorithm !== 'argon2id' ||
    p.version !== 19 ||
    p.memorySize !== parameters.memorySize ||
    p.iterations !== parameters.iterations ||
    p.parallelism !== parameters.parallelism ||
    p.hashLength !== parameters.hashLength
  );
}

/**
 * Hashes a normalised password with `parameters` (@default {@link ARGON2_PARAMETERS}) and a new random salt; the
 * PHC-encoded string.
 */
export function hashPasswordNow(password: string, parameters: Argon2Parameters = ARGON2_PARAMETERS): Promise<string> {
  return argon2id({
    password,
    salt: randomBytes(parameters.saltLength),
    memorySize: parameters.memorySize,
    iterations: parameters.iterations,
    parallelism: parameters.parallelism,
    hashLength: parameters.hashLength,
    outputType: 'encoded',
  });
}

/** Whether a normalised password matches a PHC-encoded argon2 hash (any parameters). */
export function verifyPasswordNow(password: string, encoded: string): Promise<boolean> {
  return argon2Verify({ password, hash: encoded });
}

/** The `workerData` that makes a thread a password worker (with the parameters of its new hashes). */
export const PASSWORD_WORKER_DATA = { role: 'password-hasher' } as const;

/** The `workerData` of a password worker whose new hashes use `parameters`. */
export function passwordWorkerData(parameters: Argon2Parameters): typeof PASSWORD_WORKER_DATA & {
  readonly parameters: Argon2Parameters;
} {
  return { ...PASSWORD_WORKER_DATA, parameters };
}

/** Whether a thread's `workerData` asks for a password worker. */
export function isPasswordWorker(workerData: unknown): boolean {
  return (workerData as { role?: unknown } | null)?.role === PASSWORD_WORKER_DATA.role;
}

/** A request to a password worker. */
export type PasswordTask =
  | { readonly id: number; readonly op: 'hash'; readonly password: string }
  | { readonly id: number; readonly op: 'verify'; readonly password: string; readonly hash: string };

/** A password worker's answer. */
export type PasswordTaskResult =
  | { readonly id: number; readonly ok: true; readonly value: string | boolean }
  | { readonly id: number; readonly ok: false; readonly error: string };

/**
 * The loop of a password worker thread: answers each {@link PasswordTask} from the parent, one at a time. The
 * entry file of the worker (the service's bundle, server.ts) calls it when {@link isPasswordWorker}.
 */
export function runPasswordWorker(): void {
  const port = parentPort;
  if (port === null) throw new Error('runPasswordWorker must run in a worker thread');
  const parameters = (workerData as { parameters?: Argon2Parameters } | null)?.parameters ?? ARGON2_PARAMETERS;
  port.on('message', (task: PasswordTask) => {
    const work =
      task.op === 'hash' ? hashPasswordNow(task.password, parameters) : verifyPasswordNow(task.password, task.hash);
    work.then(
      (value) => port.postMessage({ id: task.id, ok: true, value } satisfies PasswordTaskResult),
      (err: unknown) =>
        port.postMessage({
          id: task.id,
          ok: false,
          error: err instanceof Error ? err.message : String(err),
        } satisfies PasswordTaskResult),
    );
  });
}
