import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { CredentialProvider, requireCredentials } from './credentials';

/**
 * SigV4-signed HTTPS calls for the ARC Region switch client (`arc-region-switch-client.ts`), its only user: that API
 * has no SDK client on this project's registry (no `@aws-sdk/client-arc-region-switch`). Every other AWS API the
 * CLI calls goes through its `@aws-sdk/client-*` client (`clients.ts`), which signs, retries and parses itself.
 */

/** The subset of the global `fetch` the Region switch calls use; tests hand in a fake. */
export type FetchFn = (url: string, init: RequestInit) => Promise<Response>;

/** One SigV4-signed HTTPS POST to an AWS endpoint. */
export interface SignedPostInput {
  /** Endpoint host name, for example `arc-region-switch.us-east-1.api.aws`. */
  readonly hostname: string;
  /** Region the signature is scoped to. */
  readonly signingRegion: string;
  /** SigV4 service name, for example `arc-region-switch`. */
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
