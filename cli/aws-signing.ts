import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';

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

/** The subset of the global `fetch` the signed calls use; tests hand in a fake. */
export type FetchFn = (url: string, init: RequestInit) => Promise<Response>;

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

/** One SigV4-signed HTTPS POST to an AWS endpoint. */
export interface SignedPostInput {
  /** Endpoint host name, for example `cloudformation.us-east-1.amazonaws.com`. */
  readonly hostname: string;
  /** Region the signature is scoped to. */
  readonly signingRegion: string;
  /** SigV4 service name, for example `cloudformation`. */
  readonly signingName: string;
  /** Request headers besides `host` (lower-case names). */
  readonly headers: Readonly<Record<string, string>>;
  /** Request body. */
  readonly body: string;
  /** Where the credentials come from. */
  readonly credentials: CredentialProvider;
  /** The HTTP client. */
  readonly fetch: FetchFn;
  /**
   * Milliseconds before the request is abandoned.
   * @default 15000
   */
  readonly timeoutMs?: number;
}

/** Status, headers and body of an HTTP response. */
export interface SignedPostResult {
  /** HTTP status code. */
  readonly status: number;
  /** Response headers (case-insensitive lookup). */
  readonly headers: Headers;
  /** Response body as text. */
  readonly body: string;
}

/** Signs a POST to `https://<hostname>/` with SigV4 and sends it. */
export async function signedPost(input: SignedPostInput): Promise<SignedPostResult> {
  const signer = new SignatureV4({
    service: input.signingName,
    region: input.signingRegion,
    credentials: () => requireCredentials(input.credentials),
    sha256: Sha256,
  });
  const request = new HttpRequest({
    method: 'POST',
    protocol: 'https:',
    hostname: input.hostname,
    path: '/',
    headers: { ...input.headers, host: input.hostname },
    body: input.body,
  });
  const signed = await signer.sign(request);
  // fetch derives Host from the URL (the same value that was signed).
  const headers = Object.fromEntries(Object.entries(signed.headers).filter(([name]) => name.toLowerCase() !== 'host'));
  const response = await input.fetch(`https://${input.hostname}/`, {
    method: 'POST',
    headers,
    body: input.body,
    signal: AbortSignal.timeout(input.timeoutMs ?? 15_000),
  });
  return { status: response.status, headers: response.headers, body: await response.text() };
}
