/**
 * A service's readiness endpoint as the switch functions judge it: pre-flight (HTTP 200: the target region serves)
 * and post-check (HTTP 200 and, where the service reports one, a writable database at its JSON pointer).
 */
import { jsonPointerTokens } from './config';
import { errorMessage } from './errors';
import type { CheckOutcome } from './runtime';

/** Longest body kept in a result or an error. */
export const BODY_LIMIT = 1000;

/** Longest value at a writable pointer shown before the body. */
export const VALUE_LIMIT = 100;

/** The subset of `fetch` the switch functions use. */
export type Fetch = (
  url: string,
  init: { method: 'GET'; signal: AbortSignal },
) => Promise<{
  readonly status: number;
  text(): Promise<string>;
}>;

/** What an RFC 6901 pointer finds in a document. */
export type PointerResolution =
  | { readonly found: true; readonly value: unknown }
  | { readonly found: false; readonly reason: string };

/** A JSON pointer built from the first `count` tokens, escaped again, for messages. */
function pointerPrefix(tokens: readonly string[], count: number): string {
  return tokens
    .slice(0, count)
    .map((t) => `/${t.replace(/~/g, '~0').replace(/\//g, '~1')}`)
    .join('');
}

/**
 * Resolves the RFC 6901 JSON `pointer` in `document` (parsed JSON): each token, unescaped (`~1` to `/`, then `~0`
 * to `~`), names an object member (own members only) or an array index (`0` or digits without a leading zero;
 * `-`, past the end, is not found).
 */
export function resolveJsonPointer(document: unknown, pointer: string): PointerResolution {
  const tokens = jsonPointerTokens(pointer);
  if (!tokens) return { found: false, reason: `${JSON.stringify(pointer)} is not a JSON pointer` };
  let value = document;
  for (const [i, token] of tokens.entries()) {
    const at = i === 0 ? 'the document' : pointerPrefix(tokens, i);
    if (Array.isArray(value)) {
      if (!/^(0|[1-9][0-9]*)$/.test(token) || Number(token) >= value.length) {
        return { found: false, reason: `${at} is an array of ${value.length} with no index ${JSON.stringify(token)}` };
      }
      value = value[Number(token)];
    } else if (typeof value === 'object' && value !== null) {
      if (!Object.prototype.hasOwnProperty.call(value, token)) {
        return { found: false, reason: `${at} has no member ${JSON.stringify(token)}` };
      }
      value = (value as Record<string, unknown>)[token];
    } else {
      return { found: false, reason: `${at} is ${JSON.stringify(value)}, not an object or array` };
    }
  }
  return { found: true, value };
}

/** The readiness URL of a service: the region's origin and the service's path. */
export function readinessUrl(regionalUrl: string, readinessPath: string): string {
  return `${new URL(regionalUrl).origin}${readinessPath}`;
}

/**
 * One GET of a readiness URL, judged: HTTP 200 and, when `writablePointer` is not null, a JSON body whose value
 * there is exactly `true`.
 */
export async function probeReadiness(
  fetchFn: Fetch,
  url: string,
  writablePointer: string | null,
  timeoutMs: number,
): Promise<CheckOutcome> {
  let status: number;
  let body: string;
  try {
    const response = await fetchFn(url, { method: 'GET', signal: AbortSignal.timeout(timeoutMs) });
    status = response.status;
    body = await response.text();
  } catch (err) {
    return { ok: false, detail: `GET ${url} failed: ${errorMessage(err)}` };
  }
  const shown = body.length > BODY_LIMIT ? `${body.slice(0, BODY_LIMIT)}...` : body;
  if (writablePointer === null) {
    return { ok: status === 200, detail: `GET ${url}: HTTP ${status}; body: ${shown}` };
  }
  let document: unknown;
  try {
    document = JSON.parse(body);
  } catch {
    return {
      ok: false,
      detail: `GET ${url}: HTTP ${status}, body is not JSON (for ${writablePointer}); body: ${shown}`,
    };
  }
  const resolved = resolveJsonPointer(document, writablePointer);
  if (!resolved.found) {
    return {
      ok: false,
      detail: `GET ${url}: HTTP ${status}, ${writablePointer} does not resolve (${resolved.reason}); body: ${shown}`,
    };
  }
  const value = JSON.stringify(resolved.value);
  const valueShown = value.length > VALUE_LIMIT ? `${value.slice(0, VALUE_LIMIT)}...` : value;
  return {
    ok: status === 200 && resolved.value === true,
    detail: `GET ${url}: HTTP ${status}, ${writablePointer} ${valueShown}; body: ${shown}`,
  };
}

/** Name of the readiness check of `service` in pre-flight's and post-check's results. */
export function readinessCheckName(service: string): string {
  return `readiness:${service}`;
}
