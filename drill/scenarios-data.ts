/**
 * Scenarios on the data tier: a PostgreSQL restart, a Redis failover to a promoted replica, and the final
 * check that every acknowledged write is in PostgreSQL.
 */
import { Client } from 'pg';
import {
  describeErrors,
  errorsOf,
  ms,
  runResult,
  sessionBreaks,
  startLoad,
  type DrillContext,
  type Scenario,
} from './context';
import { isRunning } from './fleet';
import { LoadRun } from './load';
import { metrics, result, type ScenarioResult } from './report';
import { replicationInfo } from './servers';
import { now, sleep, waitFor } from './util';

/** The service must serve again within this long after PostgreSQL is back. */
export const DB_RECOVERY_BOUND_MS = 10_000;

/** The service must serve sessions again within this long after the cache endpoint points at the new primary. */
export const CACHE_RECOVERY_BOUND_MS = 5_000;

/** "+12" or "-3": milliseconds relative to an event. */
function signed(value: number): string {
  const rounded = ms(value);
  return rounded < 0 ? String(rounded) : `+${rounded}`;
}

/** Acknowledged note ids missing from PostgreSQL, read directly as the superuser. */
async function missingNotes(ctx: DrillContext): Promise<{ checked: number; missing: string[] }> {
  const ids = ctx.load.acknowledgedNotes.map((n) => n.id);
  if (ids.length === 0) return { checked: 0, missing: [] };
  const pg = ctx.data.postgres;
  const client = new Client({
    host: pg.host,
    port: pg.port,
    user: pg.superuser,
    password: pg.superuserPassword,
    database: pg.database,
    connectionTimeoutMillis: 5000,
  });
  await client.connect();
  try {
    const found = await client.query<{ id: string }>('SELECT id::text AS id FROM notes WHERE id::text = ANY($1)', [
      ids,
    ]);
    const present = new Set(found.rows.map((r) => r.id));
    return { checked: ids.length, missing: ids.filter((id) => !present.has(id)) };
  } finally {
    await client.end();
  }
}

/** Whether an instance answers its deep readiness check with 200, asked directly (not through HAProxy). */
async function ready(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/health/ready`, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

/** 5. PostgreSQL restarted under load (pg_ctl stop -m fast, then start). */
export const dbRestart: Scenario = {
  name: 'db-restart',
  title: `PostgreSQL restart under load: only 503s, recovered within ${DB_RECOVERY_BOUND_MS / 1000} s, no acknowledged write lost`,
  timeoutMs: 90_000,
  async run(ctx) {
    const { fleet, data } = ctx;
    const instances = [...fleet.active];
    const run = startLoad(ctx, 'db-restart', 60_000);
    await sleep(2000);
    ctx.log('restarting PostgreSQL (fast shutdown, then start)');
    const restartAt = now();
    await data.postgres.restart();
    const upAt = now();
    ctx.log(`PostgreSQL back after ${ms(upAt - restartAt)} ms`);
    let readyAt: number | undefined;
    try {
      await waitFor(
        'every instance to report /health/ready 200',
        async () => ((await Promise.all(instances.map((i) => ready(i.port)))).every(Boolean) ? true : undefined),
        DB_RECOVERY_BOUND_MS,
        100,
      );
      readyAt = now();
    } catch {
      // Reported below.
    }
    await sleep(2000);
    const records = await run.stop();

    const failures: string[] = [];
    const errors = errorsOf(records);
    // A service 503 carries the instance header; HAProxy's own 502/503/504 do not.
    const not503 = errors.filter((e) => e.status !== 503 || !e.instanceId);
    if (not503.length > 0) failures.push(`errors other than the service's 503: ${describeErrors(not503)}`);
    const before = errors.filter((e) => e.end < restartAt);
    if (before.length > 0) failures.push(`before the restart: ${describeErrors(before)}`);
    const late = errors.filter((e) => e.start > upAt + DB_RECOVERY_BOUND_MS);
    if (late.length > 0)
      failures.push(`more than ${DB_RECOVERY_BOUND_MS} ms after PostgreSQL was back: ${describeErrors(late)}`);
    if (readyAt === undefined) failures.push(`not every instance was ready within ${DB_RECOVERY_BOUND_MS} ms`);
    const gone = instances.filter((i) => !isRunning(i) || !fleet.active.includes(i));
    if (gone.length > 0) failures.push(`instance(s) ${gone.map((i) => i.id).join(', ')} exited: a restart of its own`);
    const pids = new Set(instances.map((i) => i.process.pid));
    if (pids.size !== instances.length || instances.some((i) => i.process.pid !== i.pid)) failures.push('PIDs changed');
    const foreign = records.filter((r) => r.instanceId && !instances.some((i) => i.id === r.instanceId));
    if (foreign.length > 0) failures.push(`${foreign.length} responses from an instance that was not there before`);
    const durability = await missingNotes(ctx);
    if (durability.missing.length > 0) {
      failures.push(
        `${durability.missing.length} of ${durability.checked} acknowledged notes missing from PostgreSQL ` +
          `(e.g. ${durability.missing.slice(0, 5).join(', ')})`,
      );
    }
    const firstError = errors.length > 0 ? Math.min(...errors.map((e) => e.start)) - restartAt : 0;
    const lastError = errors.length > 0 ? Math.max(...errors.map((e) => e.end)) - restartAt : 0;
    const lastErrorAfterUp = Math.max(0, lastError - (upAt - restartAt));
    return runResult(
      this,
      run,
      failures,
      [
        `PostgreSQL down and back in ${ms(upAt - restartAt)} ms; ${errors.length} error(s), all 503 from the ` +
          `service, from ${signed(firstError)} to ${signed(lastError)} ms after the restart began; errors after it was ` +
          `back: ${ms(lastErrorAfterUp)} ms (bound ${DB_RECOVERY_BOUND_MS} ms)`,
        `every instance ready ${ms((readyAt ?? upAt) - upAt)} ms after PostgreSQL was back, same PIDs ` +
          `(${instances.map((i) => i.pid).join(', ')})`,
        `all ${durability.checked} notes acknowledged so far (every scenario) read back from PostgreSQL`,
      ],
      {
        outageMs: ms(upAt - restartAt),
        readyMsAfterUp: readyAt === undefined ? null : ms(readyAt - upAt),
        firstErrorMsAfterRestart: ms(firstError),
        lastErrorMsAfterRestart: ms(lastError),
        lastErrorMsAfterUp: ms(lastErrorAfterUp),
        recoveryBoundMs: DB_RECOVERY_BOUND_MS,
        pids: instances.map((i) => ({ id: i.id, pid: i.pid })),
        notesChecked: durability.checked,
        notesMissing: durability.missing.length,
      },
    );
  },
};

/** 6. The Redis primary stops; the replica is promoted and the endpoint repointed, as ElastiCache does. */
export const cacheFailover: Scenario = {
  name: 'cache-failover',
  title: 'Redis primary stopped, replica promoted, endpoint repointed: sessions survive, errors only in the window',
  timeoutMs: 90_000,
  async run(ctx) {
    const { data, load } = ctx;
    const failures: string[] = [];
    const replication = await replicationInfo(data.redisReplica);
    if (replication.get('role') !== 'slave' || replication.get('master_link_status') !== 'up') {
      failures.push(
        `the replica was not replicating before the failover (role ${replication.get('role')}, link ` +
          `${replication.get('master_link_status')})`,
      );
    }
    const run = startLoad(ctx, 'cache-failover', 60_000);
    await sleep(2000);
    const countersBefore = load.counters();
    ctx.log('stopping the Redis primary');
    const stopAt = now();
    await data.redisPrimary.stop();
    const stoppedAt = now();
    await data.redisReplica.promote();
    data.redisEndpoint.repoint(data.redisReplica);
    const repointedAt = now();
    ctx.log(`primary stopped in ${ms(stoppedAt - stopAt)} ms; replica promoted and endpoint repointed`);
    await sleep(CACHE_RECOVERY_BOUND_MS);
    const records = await run.stop();

    const check = new LoadRun('cache-failover-check', { maxDurationMs: 30_000, maxRequests: 1000 });
    const sessions = await load.verifySessions(check);
    const role = (await replicationInfo(data.redisReplica)).get('role');
    if (role !== 'master') failures.push(`the promoted replica reports role ${role}`);

    const errors = errorsOf(records);
    const before = errors.filter((e) => e.end < stopAt);
    if (before.length > 0) failures.push(`before the failover: ${describeErrors(before)}`);
    const allowedUntil = repointedAt + CACHE_RECOVERY_BOUND_MS;
    const late = errors.filter((e) => e.start > allowedUntil);
    if (late.length > 0) {
      failures.push(`more than ${CACHE_RECOVERY_BOUND_MS} ms after the endpoint moved: ${describeErrors(late)}`);
    }
    const breaks = sessionBreaks([...records, ...check.records]);
    if (breaks.length > 0) failures.push(`sessions broke: ${describeErrors(breaks)}`);
    const behind = sessions.filter((s) => s.ok && (s.counter ?? 0) < (countersBefore.get(s.vu) ?? 0));
    if (behind.length > 0) failures.push(`${behind.length} session counter(s) lower than before the failover`);
    const failedChecks = sessions.filter((s) => !s.ok && !breaks.includes(s));
    if (failedChecks.length > 0) failures.push(`session check after the failover: ${describeErrors(failedChecks)}`);
    const lastError = errors.length > 0 ? Math.max(...errors.map((e) => e.end)) - repointedAt : 0;
    return runResult(
      this,
      run,
      failures,
      [
        `${errors.length} error(s), none before the stop, the last ${ms(lastError)} ms after the endpoint moved ` +
          `(bound ${CACHE_RECOVERY_BOUND_MS} ms)`,
        `all ${sessions.length} sessions from before the failover valid after it, counters not reset ` +
          `(e.g. vu1 ${countersBefore.get(1)} -> ${sessions[0]?.counter})`,
      ],
      {
        primaryStopMs: ms(stoppedAt - stopAt),
        failoverWindowMs: ms(repointedAt - stopAt),
        lastErrorMsAfterRepoint: ms(lastError),
        recoveryBoundMs: CACHE_RECOVERY_BOUND_MS,
        endpoint: `127.0.0.1:${data.redisEndpoint.port} -> 127.0.0.1:${data.redisEndpoint.target.port}`,
      },
    );
  },
};

/** Final check, after every selected scenario: every note acknowledged with 201 is in PostgreSQL. */
export async function durability(ctx: DrillContext): Promise<ScenarioResult> {
  const started = now();
  const { checked, missing } = await missingNotes(ctx);
  const m = { ...metrics([], started, now()), requests: checked, errors: missing.length };
  const failures =
    missing.length > 0
      ? [
          `${missing.length} of ${checked} acknowledged notes missing from PostgreSQL (e.g. ${missing.slice(0, 5).join(', ')})`,
        ]
      : [];
  return result(
    'durability',
    'every note acknowledged with 201, in every scenario, read back from PostgreSQL directly',
    failures,
    [`${checked} acknowledged notes, all present`],
    m,
    { checked, missing: missing.slice(0, 50) },
    [],
  );
}
