/**
 * What users felt, per scenario: request counts, errors and their window, latency percentiles,
 * throughput and the verdict, in all and per service (the service each request's path routes to); printed as
 * a table and written as JSON.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RequestRecord } from './load';

/** PASS or FAIL. */
export type Verdict = 'PASS' | 'FAIL';

/** Numbers of one scenario's requests. */
export interface Metrics {
  readonly requests: number;
  readonly errors: number;
  /** First error's start to last error's end, ms; 0 without errors. */
  readonly errorWindowMs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Requests per second over the run. */
  readonly rps: number;
  /** Length of the run, ms. */
  readonly durationMs: number;
}

/** One scenario's outcome. */
export interface ScenarioResult {
  /** Short name, as `--scenario` takes it. */
  readonly name: string;
  /** What was done. */
  readonly title: string;
  readonly verdict: Verdict;
  /** Why: the checks that failed, or what passed. */
  readonly reasons: string[];
  readonly metrics: Metrics;
  /** The same numbers per service (the service each request's path routes to), in the drill's service order. */
  readonly services?: Readonly<Record<string, Metrics>>;
  /** Timings and facts specific to the scenario. */
  readonly details: Record<string, unknown>;
  /** Up to 20 failed requests, times relative to the run's start. */
  readonly sampleErrors: unknown[];
}

/** The value at quantile `q` (0..1) of `values`, by the nearest-rank method; 0 when empty. */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1];
}

const round = (n: number, digits = 0) => Number(n.toFixed(digits));

/** Metrics of `records` over a run from `startedAt` to `endedAt` (drill clock). */
export function metrics(records: readonly RequestRecord[], startedAt: number, endedAt: number): Metrics {
  const errors = records.filter((r) => !r.ok);
  const latencies = records.map((r) => r.end - r.start);
  const durationMs = Math.max(1, endedAt - startedAt);
  return {
    requests: records.length,
    errors: errors.length,
    errorWindowMs:
      errors.length === 0 ? 0 : round(Math.max(...errors.map((e) => e.end)) - Math.min(...errors.map((e) => e.start))),
    p50Ms: round(percentile(latencies, 0.5), 1),
    p99Ms: round(percentile(latencies, 0.99), 1),
    rps: round((records.length * 1000) / durationMs, 1),
    durationMs: round(durationMs),
  };
}

/**
 * {@link metrics} per service, for every name of `services` (zeros when it had no request) and any other service
 * a record names; records without a service (no listener rule matched) count under `none`.
 */
export function metricsByService(
  records: readonly RequestRecord[],
  startedAt: number,
  endedAt: number,
  services: readonly string[],
): Record<string, Metrics> {
  const groups = new Map<string, RequestRecord[]>(services.map((name) => [name, []]));
  for (const r of records) {
    const key = r.service ?? 'none';
    const group = groups.get(key) ?? [];
    group.push(r);
    groups.set(key, group);
  }
  return Object.fromEntries([...groups].map(([name, group]) => [name, metrics(group, startedAt, endedAt)]));
}

/** Up to `max` failed requests, with times relative to `origin`. */
export function sampleErrors(records: readonly RequestRecord[], origin: number, max = 20): unknown[] {
  return records
    .filter((r) => !r.ok)
    .slice(0, max)
    .map((r) => ({
      vu: r.vu,
      op: r.op,
      request: `${r.method} ${r.path}`,
      atMs: round(r.start - origin),
      tookMs: round(r.end - r.start),
      status: r.status,
      service: r.service,
      problem: r.problem,
      message: r.message,
      instanceId: r.instanceId,
    }));
}

/** Builds a result; the verdict is PASS exactly when `failures` is empty. */
export function result(
  name: string,
  title: string,
  failures: string[],
  passes: string[],
  m: Metrics,
  details: Record<string, unknown>,
  errors: unknown[],
  services?: Readonly<Record<string, Metrics>>,
): ScenarioResult {
  return {
    name,
    title,
    verdict: failures.length === 0 ? 'PASS' : 'FAIL',
    reasons: failures.length === 0 ? passes : failures,
    metrics: m,
    ...(services ? { services } : {}),
    details,
    sampleErrors: errors,
  };
}

/**
 * The results as a fixed-width table, with each verdict's reasons under it: in all, then requests and errors per
 * service (`<requests>/<errors>`, one column per service any result has), then latency, throughput, duration.
 */
export function renderTable(results: readonly ScenarioResult[]): string {
  const services = [...new Set(results.flatMap((r) => Object.keys(r.services ?? {})))];
  const head = [
    'scenario',
    'requests',
    'errors',
    ...services.map((s) => `${s} req/err`),
    'error window ms',
    'p50 ms',
    'p99 ms',
    'RPS',
    'duration s',
    'verdict',
  ];
  const rows = results.map((r) => [
    r.name,
    String(r.metrics.requests),
    String(r.metrics.errors),
    ...services.map((s) => {
      const m = r.services?.[s];
      return m ? `${m.requests}/${m.errors}` : '-';
    }),
    String(r.metrics.errorWindowMs),
    String(r.metrics.p50Ms),
    String(r.metrics.p99Ms),
    String(r.metrics.rps),
    (r.metrics.durationMs / 1000).toFixed(1),
    r.verdict,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  const out = [line(head), widths.map((w) => '-'.repeat(w)).join('  ')];
  for (const row of rows) out.push(line(row));
  out.push('');
  for (const r of results) {
    out.push(`${r.verdict} ${r.name}: ${r.title}`);
    for (const reason of r.reasons) out.push(`    - ${reason}`);
  }
  return out.join('\n');
}

/** The whole report as written to JSON. */
export interface DrillReport {
  readonly ok: boolean;
  readonly startedAt: string;
  readonly wallMs: number;
  readonly settings: Record<string, unknown>;
  readonly scenarios: readonly ScenarioResult[];
  /** Set when the drill stopped before finishing its scenarios. */
  readonly abortedBy?: string;
}

/** Writes the report as JSON, creating its directory. */
export function writeReport(file: string, report: DrillReport): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
}
