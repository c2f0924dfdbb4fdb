/**
 * postcheck: after the switch, checks that the target region serves and writes.
 *
 * GETs the target region's deep readiness URL (REGIONS[target].serviceUrl) with a short
 * timeout and requires HTTP 200 with a JSON body whose `database.writable` is true. Retries
 * every POLL_SECONDS for up to POSTCHECK_SECONDS (never past the Lambda timeout less 10 s);
 * on failure throws `FAILED: ...` with the last status and body (first 1,000 characters).
 * Read-only: a dry run makes the same GETs.
 *
 * Environment (set by the CDK app):
 * - REGIONS: JSON map region -> { serviceUrl, ... } (both regions).
 * - POSTCHECK_SECONDS (optional, default 120, at most 900): how long to keep trying.
 * - POLL_SECONDS (optional, default 5): interval between attempts.
 * - REQUEST_TIMEOUT_SECONDS (optional, default 5): timeout of one GET.
 * - DRY_RUN (optional, true | false): accepted for uniformity; postcheck changes nothing.
 */
import { booleanFromEnv, parseRegions, secondsFromEnv, type Regions } from '../shared/config';
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

/** Configuration of postcheck. */
export interface PostcheckConfig {
  /** The two regions and their resources. */
  readonly regions: Regions;
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
    regions: parseRegions(env.REGIONS, ['serviceUrl']),
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

/** One GET of the readiness URL, judged. */
export async function probeReadiness(fetchFn: Fetch, url: string, timeoutMs: number): Promise<CheckOutcome> {
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
  let writable: unknown;
  try {
    writable = (JSON.parse(body) as { database?: { writable?: unknown } } | null)?.database?.writable;
  } catch {
    writable = undefined;
  }
  const ok = status === 200 && writable === true;
  return { ok, detail: `GET ${url}: HTTP ${status}, database.writable ${String(writable)}; body: ${shown}` };
}

/** Polls the target region's readiness URL until it is ready and writable, or fails. */
export async function runPostcheck(
  fetchFn: Fetch,
  request: SwitchRequest,
  config: PostcheckConfig,
  rt: Runtime,
): Promise<SwitchResult> {
  const url = config.regions.byName[request.targetRegion]!.serviceUrl!;
  const polled = await pollUntil(
    rt,
    () => probeReadiness(fetchFn, url, config.requestTimeoutSeconds * 1000),
    (outcome) => outcome.ok,
    config.pollSeconds * 1000,
    waitDeadline(rt, config.postcheckSeconds),
  );
  if (!polled.met) {
    throw new Error(
      `FAILED: ${request.targetRegion} is not ready and writable after ${polled.probes} attempt(s) ` +
        `over up to ${config.postcheckSeconds} s. Last: ${polled.value.detail}`,
    );
  }
  const result = newResult(FUNCTION_NAME, request);
  result.actions.push(`GET ${url} (read-only), ${polled.probes} attempt(s)`);
  return { ...result, checks: { readiness: polled.value } };
}

const entry = lambdaEntry(FUNCTION_NAME, loadPostcheckConfig);

/** A Lambda entry point that GETs with `fetchFn` (tests hand in a fake). */
export function createHandler(fetchFn: Fetch): SwitchHandler {
  return entry((request, config, rt) => runPostcheck(fetchFn, request, config, rt));
}

/** Lambda entry point: the global fetch. */
export const handler = createHandler((url, init) => fetch(url, init));
