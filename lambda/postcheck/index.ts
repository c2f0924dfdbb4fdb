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
import type { FunctionEnv, SwitchFunctionName } from '../../contract';
import { probeReadiness, readinessCheckName, readinessUrl, type Fetch } from '../shared/readiness';
import {
  listOf,
  pollSecondsFromEnv,
  readinessConfig,
  secondsFromEnv,
  switchConfig,
  type ReadinessConfig,
  type SwitchConfig,
} from '../shared/config';
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
export const FUNCTION_NAME = 'postcheck' satisfies SwitchFunctionName;

export { BODY_LIMIT, VALUE_LIMIT } from '../shared/readiness';

/** Configuration of postcheck. */
export interface PostcheckConfig extends SwitchConfig, ReadinessConfig {
  /** How long to keep trying, in seconds (POSTCHECK_SECONDS). */
  readonly postcheckSeconds: number;
  /** Interval between attempts, in seconds (POLL_SECONDS). */
  readonly pollSeconds: number;
}

/** Reads and validates postcheck's environment. */
export function loadPostcheckConfig(env: FunctionEnv<typeof FUNCTION_NAME>): PostcheckConfig {
  return {
    ...switchConfig(FUNCTION_NAME, env),
    ...readinessConfig(env),
    postcheckSeconds: secondsFromEnv(env, 'POSTCHECK_SECONDS', 120, 900),
    pollSeconds: pollSecondsFromEnv(env, 5),
  };
}

export {
  probeReadiness,
  readinessCheckName,
  readinessUrl,
  resolveJsonPointer,
  type Fetch,
  type PointerResolution,
} from '../shared/readiness';

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
