/** Errors whose message the Region switch plan shows as the reason a step failed. */

/** Prefix of every refusal: the function saw a state it will not act on. */
export const REFUSED_PREFIX = 'REFUSED: ';

/**
 * The function refuses to act because the state is ambiguous or unsafe. The
 * message starts with `REFUSED: ` and says what was seen and how to resolve it.
 */
export class RefusedError extends Error {
  constructor(reason: string) {
    super(`${REFUSED_PREFIX}${reason}`);
    this.name = 'RefusedError';
  }
}

/** Throws a {@link RefusedError}. */
export function refuse(reason: string): never {
  throw new RefusedError(reason);
}

/** The function's environment (set by the CDK app) is missing or malformed. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(`Invalid configuration: ${message}`);
    this.name = 'ConfigError';
  }
}

/** The invocation event is neither Region switch's shape nor the operator's. */
export class InvalidEventError extends Error {
  constructor(message: string) {
    super(`Invalid event: ${message}`);
    this.name = 'InvalidEventError';
  }
}

/** A started change did not finish within the wait budget; a retry of the step resumes it. */
export class IncompleteError extends Error {
  constructor(message: string) {
    super(`INCOMPLETE: ${message}`);
    this.name = 'IncompleteError';
  }
}

/** The error's name (the SDK's exception name), or `Error`. */
export function errorName(err: unknown): string {
  return err instanceof Error ? err.name : typeof err === 'object' && err && 'name' in err ? String(err.name) : 'Error';
}

/** The error's message, or its string form. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
