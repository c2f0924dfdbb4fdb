/**
 * postcheck: after the switch, checks that every service of the target region serves (and writes).
 *
 * For each service in SERVICES whose readinessPath is not null, GETs `<REGIONS[target].regionalUrl><readinessPath>`
 * (for example `https://us-west-2.example.com/health/ready`) with a short timeout. A service passes on HTTP 200
 * and, when its writablePointer is not null, a JSON body whose value at that RFC 6901 pointer is exactly `true`
 * (the reference service reports `database.writable` there; a pointer that does not resolve fails). Services with
 * readinessPath null are not checked (the actions say so). Retries the services not passed yet every POLL_SECONDS
 * for up to POSTCHECK_SECONDS (never past the Lambda timeout less 10 s) until all pass; otherwise throws
 * `FAILED: ...` naming each failing service with its last status and body (first 1,000 characters).
 * Read-only: a dry run makes the same GETs.
 *
 * Environment (set by the CDK app):
 * - REGIONS: JSON map region -> { regionalUrl, ... } (both regions): `https://<region>.<domain>`.
 * - SERVICES: JSON array of the services, [{ "name", "readinessPath": "/..." | null,
 *   "writablePointer": "/..." | null }] (1 to 20, names unique).
 * - POSTCHECK_SECONDS (optional, default 120, at most 900): how long to keep trying.
 * - POLL_SECONDS (optional, default 5): interval between attempts.
 * - REQUEST_TIMEOUT_SECONDS (optional, default 5): timeout of one GET.
 * - DRY_RUN (optional, true | false): accepted for uniformity; postcheck changes nothing.
 */
import {
  booleanFromEnv,
  jsonPointerTokens,
  listOf,
  parseRegions,
  parseServices,
  secondsFromEnv,
  type Regions,
  type ServiceSpec,
} from '../shared/config';
import type { Env } from '../shared/env';
import { errorMessage } from '../shared/errors';
import type { SwitchRequest } from '../shared/event';
import {
  lambdaEntry,
  type SwitchHandler,
  newResult,
  pollUntil,
  waitDeadline,
  type CheckOutcome,
  type Runtime,
  type SwitchResult,
} from '../shared/runtime';

/** The function's name in results and logs. */
export const FUNCTION_NAME = 'postcheck';

/** Longest body kept in a result or an error. */
export const BODY_LIMIT = 1000;

/** Longest value at a writable pointer shown before the body. */
export const VALUE_LIMIT = 100;

/** Configuration of postcheck. */
export interface PostcheckConfig {
  /** The two regions and their resources. */
  readonly regions: Regions;
  /** The environment's services (SERVICES). */
  readonly services: readonly ServiceSpec[];
  /** How long to keep trying, in seconds. */
  readonly postcheckSeconds: number;
  /** Interval between attempts, in seconds. */
  readonly pollSeconds: number;
  /** Timeout of one GET, in seconds. */
  readonly requestTimeoutSeconds: number;
  /** DRY_RUN. */
  readonly dryRun: boolean;
}

/** Reads and validates postcheck's environment. */
export function loadPostcheckConfig(env: Env): PostcheckConfig {
  return {
    regions: parseRegions(env.REGIONS, ['regionalUrl']),
    services: parseServices(env.SERVICES),
    postcheckSeconds: secondsFromEnv(env, 'POSTCHECK_SECONDS', 120, 900),
    pollSeconds: Math.max(1, secondsFromEnv(env, 'POLL_SECONDS', 5, 300)),
    requestTimeoutSeconds: Math.max(1, secondsFromEnv(env, 'REQUEST_TIMEOUT_SECONDS', 5, 60)),
    dryRun: booleanFromEnv(env, 'DRY_RUN'),
  };
}

/** The subset of `fetch` postcheck uses. */
export type Fetch = (
  url: string,
  init: { method: 'GET'; signal: AbortSignal },
) => Promise<{
  readonly status: number;
  text(): Promise<string>;
}>;

/** What an RFC 6901 pointer finds in a document. */
export type PointerResolution =
  { readonly found: true; readonly value: unknown } | { readonly found: false; readonly reason: string };

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

/** Name of the readiness check of `service`. */
export function readinessCheckName(service: string): string {
  return `readiness:${service}`;
}

/** One checked service's progress. */
interface Probed {
  readonly service: string;
  readonly url: string;
  readonly writablePointer: string | null;
  outcome?: CheckOutcome;
  attempts: number;
}

/** Polls the target region's services until every checked one is ready (and writable), or fails. */
export async function runPostcheck(
  fetchFn: Fetch,
  request: SwitchRequest,
  config: PostcheckConfig,
  rt: Runtime,
): Promise<SwitchResult> {
  const regionalUrl = config.regions.byName[request.targetRegion]!.regionalUrl!;
  const skipped = config.services.filter((s) => s.readinessPath === null).map((s) => s.name);
  const probed: Probed[] = config.services.flatMap((s) =>
    s.readinessPath === null
      ? []
      : [
          {
            service: s.name,
            url: readinessUrl(regionalUrl, s.readinessPath),
            writablePointer: s.writablePointer,
            attempts: 0,
          },
        ],
  );
  const passed = (p: Probed) => p.outcome?.ok === true;
  const polled = await pollUntil(
    rt,
    async () => {
      // A service that passed stays passed: only the others are asked again.
      await Promise.all(
        probed
          .filter((p) => !passed(p))
          .map(async (p) => {
            p.attempts++;
            p.outcome = await probeReadiness(fetchFn, p.url, p.writablePointer, config.requestTimeoutSeconds * 1000);
          }),
      );
      return probed;
    },
    (all) => all.every(passed),
    config.pollSeconds * 1000,
    waitDeadline(rt, config.postcheckSeconds),
  );
  if (!polled.met) {
    const failing = probed.filter((p) => !passed(p));
    throw new Error(
      `FAILED: ${request.targetRegion}: ${failing.length} of ${probed.length} service(s) not ready after ` +
        `${polled.probes} attempt(s) over up to ${config.postcheckSeconds} s: ${listOf(failing.map((p) => p.service))}. ` +
        `Last: ${failing.map((p) => `${p.service}: ${p.outcome!.detail}`).join('; ')}`,
    );
  }
  const result = newResult(FUNCTION_NAME, request);
  for (const p of probed) result.actions.push(`${p.service}: GET ${p.url} (read-only), ${p.attempts} attempt(s)`);
  if (skipped.length > 0) {
    result.actions.push(`Skipped ${listOf(skipped)}: no readinessPath in SERVICES, not checked`);
  }
  const checks = Object.fromEntries(probed.map((p) => [readinessCheckName(p.service), p.outcome!]));
  return { ...result, checks };
}

const entry = lambdaEntry(FUNCTION_NAME, loadPostcheckConfig);

/** A Lambda entry point that GETs with `fetchFn` (tests hand in a fake). */
export function createHandler(fetchFn: Fetch): SwitchHandler {
  return entry((request, config, rt) => runPostcheck(fetchFn, request, config, rt));
}

/** Lambda entry point: the global fetch. */
export const handler = createHandler((url, init) => fetch(url, init));
