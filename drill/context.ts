/**
 * What every scenario gets, and the checks they share: errors inside or outside a window, per service, session
 * continuity, and the summary of errors used in verdict reasons.
 */
import type { Fleet } from './fleet';
import type { HAProxy } from './haproxy';
import type { LoadGenerator, LoadRun, RequestRecord } from './load';
import type { ScenarioResult } from './report';
import { metrics, metricsByService, result, sampleErrors } from './report';
import type { DataTier } from './servers';
import { DRILL_SERVICE_NAMES } from './services';

/** The running system and the drill's settings. */
export interface DrillContext {
  readonly data: DataTier;
  /** The load balancer: one backend per service. */
  readonly haproxy: HAProxy;
  /** One fleet per service, in the drill's service order (the reference service first). */
  readonly fleets: readonly Fleet[];
  readonly load: LoadGenerator;
  /** Per-request timeout of the virtual users. */
  readonly requestTimeoutMs: number;
  /** Most requests one scenario's load may send. */
  readonly maxRequestsPerScenario: number;
  /** Prints a progress line. */
  log(message: string): void;
}

/** One scenario of the drill. */
export interface Scenario {
  /** Name for `--scenario` and the report. */
  readonly name: string;
  /** One line: what it does. */
  readonly title: string;
  /** Longest the scenario may take before the drill gives up on it. */
  readonly timeoutMs: number;
  run(ctx: DrillContext): Promise<ScenarioResult>;
}

/** The fleet of `service`. */
export function fleetOf(ctx: Pick<DrillContext, 'fleets'>, service: string): Fleet {
  const found = ctx.fleets.find((f) => f.service === service);
  if (!found) throw new Error(`the drill runs no ${service} fleet`);
  return found;
}

/** The records of `records` whose path routes to `service`. */
export function ofService(records: readonly RequestRecord[], service: string): RequestRecord[] {
  return records.filter((r) => r.service === service);
}

/** "3120 web, 610 catalog": requests per service. */
export function perService(records: readonly RequestRecord[]): string {
  return DRILL_SERVICE_NAMES.map((s) => `${ofService(records, s).length} ${s}`).join(', ');
}

/** Starts the load for a scenario, bounded by `maxDurationMs` and the context's request cap. */
export function startLoad(ctx: DrillContext, label: string, maxDurationMs: number): LoadRun {
  return ctx.load.start(label, { maxDurationMs, maxRequests: ctx.maxRequestsPerScenario });
}

/** Failed requests of `records`. */
export function errorsOf(records: readonly RequestRecord[]): RequestRecord[] {
  return records.filter((r) => !r.ok);
}

/** "3 errors: 2x 502 POST /notes, 1x network: ..." for a verdict reason. */
export function describeErrors(records: readonly RequestRecord[], max = 4): string {
  const errors = errorsOf(records);
  const kinds = new Map<string, number>();
  for (const e of errors) {
    const kind = `${e.problem ?? 'error'} on ${e.service ?? 'no service'} ${e.op}`;
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
  }
  const top = [...kinds.entries()].sort((a, b) => b[1] - a[1]).slice(0, max);
  const more = kinds.size > max ? `, and ${kinds.size - max} more kinds` : '';
  return `${errors.length} failed request(s): ${top.map(([k, n]) => `${n}x ${k}`).join('; ')}${more}`;
}

/** Failed requests that lost a session or saw its counter go back: never allowed, not even in a window. */
export function sessionBreaks(records: readonly RequestRecord[]): RequestRecord[] {
  return records.filter((r) => !r.ok && /session lost|counter went|session of/.test(r.problem ?? ''));
}

/**
 * Session continuity across instances: how many users had their counter incremented by more than one
 * instance, and over how many instances in all (every increment was checked to be higher than the last).
 */
export function sessionSpread(records: readonly RequestRecord[]): {
  usersOnSeveralInstances: number;
  instances: number;
} {
  const byUser = new Map<number, Set<string>>();
  for (const r of records) {
    if (r.op !== 'increment' || !r.ok || !r.instanceId) continue;
    const set = byUser.get(r.vu) ?? new Set<string>();
    set.add(r.instanceId);
    byUser.set(r.vu, set);
  }
  const instances = new Set([...byUser.values()].flatMap((s) => [...s]));
  return { usersOnSeveralInstances: [...byUser.values()].filter((s) => s.size > 1).length, instances: instances.size };
}

/** Milliseconds, rounded, for reasons and details. */
export function ms(value: number): number {
  return Math.round(value);
}

/**
 * The result of a run: metrics over its records, in all and per service, times in samples relative to the run's
 * start.
 */
export function runResult(
  scenario: Pick<Scenario, 'name' | 'title'>,
  run: LoadRun,
  failures: string[],
  passes: string[],
  details: Record<string, unknown>,
): ScenarioResult {
  const end = run.endedAt ?? run.startedAt;
  const m = metrics(run.records, run.startedAt, end);
  const services = metricsByService(run.records, run.startedAt, end, DRILL_SERVICE_NAMES);
  const samples = sampleErrors(run.records, run.startedAt);
  return result(scenario.name, scenario.title, failures, passes, m, details, samples, services);
}
