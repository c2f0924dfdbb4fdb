/** Exit codes of the region CLI. */
export const EXIT = {
  /** Done: status read, or the switch completed. */
  OK: 0,
  /** The switch could not be started, failed, or paused on a failed step. */
  FAILED: 1,
  /** No AWS credentials, or status could read nothing at all. */
  UNAVAILABLE: 2,
  /** The switch did not finish within --timeout (it goes on in AWS). */
  TIMEOUT: 3,
  /** Bad command line (sysexits EX_USAGE). */
  USAGE: 64,
} as const;

/** A command-line mistake; the CLI prints it with the usage hint and exits 64. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
