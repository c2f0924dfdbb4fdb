/** The process environment, read in one place so the rest of the code takes it as a parameter. */

/** Environment variables as the Lambda runtime passes them. */
export type Env = Readonly<Record<string, string | undefined>>;

/** The Lambda's environment. The only read of `process.env` under lambda/. */
export function processEnv(): Env {
  // A Lambda's environment is its configuration, set by the CDK app: this is the Lambda's bin/.
  // eslint-disable-next-line no-restricted-properties
  return process.env;
}
