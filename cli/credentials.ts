/**
 * The credentials every command needs: the SDK's provider chain, resolved once before anything is called, and the
 * error (exit 2) when it finds none.
 */

/** AWS credentials as the SDK's providers resolve them. */
export interface AwsCredentials {
  /** Access key ID. */
  readonly accessKeyId: string;
  /** Secret access key. */
  readonly secretAccessKey: string;
  /**
   * Session token of temporary credentials.
   * @default - none (long-term credentials)
   */
  readonly sessionToken?: string;
  /**
   * When temporary credentials expire.
   * @default - never
   */
  readonly expiration?: Date;
}

/** A credential provider, such as `defaultProvider()` of `@aws-sdk/credential-provider-node`. */
export type CredentialProvider = () => Promise<AwsCredentials>;

/** Message shown when the provider chain finds no credentials. */
export const NO_CREDENTIALS_MESSAGE =
  'No AWS credentials found: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY ' +
  '(or run `aws sso login`), then retry. Nothing was changed.';

/** Thrown when no credentials could be resolved; the CLI exits with code 2. */
export class NoCredentialsError extends Error {
  /** What the provider chain reported. */
  public readonly detail: string;

  constructor(detail: string) {
    super(NO_CREDENTIALS_MESSAGE);
    this.name = 'NoCredentialsError';
    this.detail = detail;
  }
}

/**
 * Resolves credentials once, turning the provider chain's
 * `CredentialsProviderError` (no source had credentials, or an SSO session
 * expired) into a {@link NoCredentialsError}. Other errors pass through.
 */
export async function requireCredentials(provider: CredentialProvider): Promise<AwsCredentials> {
  try {
    return await provider();
  } catch (err) {
    const { name, message } = (err ?? {}) as { name?: unknown; message?: unknown };
    if (name === 'CredentialsProviderError' || name === 'ProviderError') throw new NoCredentialsError(String(message));
    throw err;
  }
}
