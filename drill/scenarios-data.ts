/**
 * Scenarios on the data tier: a PostgreSQL restart (every service uses the database), a Redis failover to a
 * promoted replica (only the reference service uses the cache: the catalog must not notice), and the final check
 * that every acknowledged write (notes, catalog items) is in PostgreSQL.
 */
import { Client } from 'pg';
import {
  describeErrors,
  errorsOf,
  ms,
  ofService,
  runResult,
  sessionBreaks,
  startLoad,
  type DrillContext,
  type Scenario,
} from './context';
import { isRunning } from './fleet';
import { itemVersion, latestItems, LoadRun, type RequestRecord } from './load';
import { metrics, metricsByService, result, type Metrics, type ScenarioResult } from './report';
import { replicationInfo } from './servers';
import { CATALOG_SERVICE, DRILL_SERVICE_NAMES, REFERENCE_SERVICE } from './services';
import { now, sleep, waitFor } from './util';
import { serviceTable } from './database-roles';

/** Every service must serve again within this long after PostgreSQL is back. */
export const DB_RECOVERY_BOUND_MS = 10_000;

/** The service must serve sessions again within this long after the cache endpoint points at the new primary. */
export const CACHE_RECOVERY_BOUND_MS = 5_000;

/** "+12" or "-3": milliseconds relative to an event. */
function signed(value: number): string {
  const rounded = ms(value);
  return rounded < 0 ? String(rounded) : `+${rounded}`;
}

/** Runs `sql` on the drill's PostgreSQL as the superuser. */
async function superuserQuery<R extends Record<string, unknown>>(
  ctx: DrillContext,
  sql: string,
  params: unknown[],
): Promise<R[]> {
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
    return (await client.query<R>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/** Acknowledged note ids missing from PostgreSQL, read directly as the superuser. */
async function missingNotes(ctx: DrillContext): Promise<{ checked: number; missing: string[] }> {
  const ids = ctx.load.acknowledgedNotes.map((n) => n.id);
  if (ids.length === 0) return { checked: 0, missing: [] };
  const found = await superuserQuery<{ id: string }>(
    ctx,
    `SELECT id::text AS id FROM ${serviceTable(REFERENCE_SERVICE, 'notes')} WHERE id::text = ANY($1)`,
    [ids],
  );
  const present = new Set(found.map((r) => r.id));
  return { checked: ids.length, missing: ids.filter((id) => !present.has(id)) };
}

/**
 * Catalog items whose latest acknowledged version is not in PostgreSQL (absent, or an older version), read
 * directly as the superuser.
 */
async function missingItems(ctx: DrillContext): Promise<{ checked: number; missing: string[] }> {
  const latest = latestItems(ctx.load.acknowledgedItems);
  if (latest.size === 0) return { checked: 0, missing: [] };
  const rows = await superuserQuery<{ sku: string; name: string }>(
    ctx,
    `SELECT sku, name FROM ${serviceTable(CATALOG_SERVICE, 'catalog_items')} WHERE sku = ANY($1)`,
    [[...latest.keys()]],
  );
  const stored = new Map(rows.map((r) => [r.sku, itemVersion(r.name) ?? 0]));
  const missing = [...latest.values()]
    .filter((a) => (stored.get(a.sku) ?? 0) < a.version)
    .map((a) => `${a.sku} v${a.version}`);
  return { checked: latest.size, missing };
}

/** "from +14 to +230 ms after the restart began", or "none". */
function errorWindow(errors: readonly RequestRecord[], origin: number): string {
  if (errors.length === 0) return 'none';
  const first = Math.min(...errors.map((e) => e.start)) - origin;
  const last = Math.max(...errors.map((e) => e.end)) - origin;
  return `from ${signed(first)} to ${signed(last)} ms after the restart began`;
}

/** 5. PostgreSQL restarted under load (pg_ctl stop -m fast, then start): every service uses it. */
export const dbRestart: Scenario = {
  name: 'db-restart',
  title:
    `PostgreSQL restart under load: every service answers only 503s, recovers within ` +
    `${DB_RECOVERY_BOUND_MS / 1000} s, no acknowledged write lost`,
  timeoutMs: 90_000,
  async run(ctx) {
    const { fleets, data } = ctx;
    const instances = fleets.flatMap((fleet) => fleet.active.map((instance) => ({ fleet, instance })));
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
        'every instance of every service to report its readiness 200',
        async () =>
          (await Promise.all(instances.map(({ fleet, instance }) => fleet.isReady(instance)))).every(Boolean)
            ? true
            : undefined,
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
    if (not503.length > 0) failures.push(`errors other than the services' 503: ${describeErrors(not503)}`);
    const before = errors.filter((e) => e.end < restartAt);
    if (before.length > 0) failures.push(`before the restart: ${describeErrors(before)}`);
    const late = errors.filter((e) => e.start > upAt + DB_RECOVERY_BOUND_MS);
    if (late.length > 0) {
      failures.push(`more than ${DB_RECOVERY_BOUND_MS} ms after PostgreSQL was back: ${describeErrors(late)}`);
    }
    if (readyAt === undefined) failures.push(`not every instance was ready within ${DB_RECOVERY_BOUND_MS} ms`);
    const gone = instances.filter(({ fleet, instance }) => !isRunning(instance) || !fleet.active.includes(instance));
    if (gone.length > 0) {
      failures.push(`instance(s) ${gone.map((i) => i.instance.id).join(', ')} exited: a restart of its own`);
    }
    if (instances.some(({ instance }) => instance.process.pid !== instance.pid)) failures.push('PIDs changed');
    const foreign = records.filter((r) => r.instanceId && !instances.some((i) => i.instance.id === r.instanceId));
    if (foreign.length > 0) failures.push(`${foreign.length} responses from an instance that was not there before`);
    const notes = await missingNotes(ctx);
    if (notes.missing.length > 0) {
      failures.push(
        `${notes.missing.length} of ${notes.checked} acknowledged notes missing from PostgreSQL ` +
          `(e.g. ${notes.missing.slice(0, 5).join(', ')})`,
      );
    }
    const items = await missingItems(ctx);
    if (items.missing.length > 0) {
      failures.push(
        `${items.missing.length} of ${items.checked} acknowledged catalog items missing or older in PostgreSQL ` +
          `(e.g. ${items.missing.slice(0, 5).join(', ')})`,
      );
    }
    const lastError = errors.length > 0 ? Math.max(...errors.map((e) => e.end)) - restartAt : 0;
    const lastErrorAfterUp = Math.max(0, lastError - (upAt - restartAt));
    const byService = DRILL_SERVICE_NAMES.map((s) => {
      const own = errorsOf(ofService(records, s));
      return `${s} ${own.length} (${errorWindow(own, restartAt)})`;
    });
    return runResult(
      this,
      run,
      failures,
      [
        `PostgreSQL down and back in ${ms(upAt - restartAt)} ms; ${errors.length} error(s), all 503 from the ` +
          `services: ${byService.join('; ')}; errors after it was back: ${ms(lastErrorAfterUp)} ms (bound ` +
          `${DB_RECOVERY_BOUND_MS} ms)`,
        `every instance (${fleets.map((f) => `${f.active.length} ${f.service}`).join(', ')}) ready ` +
          `${ms((readyAt ?? upAt) - upAt)} ms after PostgreSQL was back, same PIDs ` +
          `(${instances.map((i) => i.instance.pid).join(', ')})`,
        `all ${notes.checked} notes and ${items.checked} catalog items (latest versions) acknowledged so far ` +
          '(every scenario) read back from PostgreSQL',
      ],
      {
        outageMs: ms(upAt - restartAt),
        readyMsAfterUp: readyAt === undefined ? null : ms(readyAt - upAt),
        lastErrorMsAfterRestart: ms(lastError),
        lastErrorMsAfterUp: ms(lastErrorAfterUp),
        errorsByService: Object.fromEntries(
          DRILL_SERVICE_NAMES.map((s) => [s, errorsOf(ofService(records, s)).length]),
        ),
        recoveryBoundMs: DB_RECOVERY_BOUND_MS,
        pids: instances.map(({ instance }) => ({ id: instance.id, pid: instance.pid })),
        notesChecked: notes.checked,
        notesMissing: notes.missing.length,
        itemsChecked: items.checked,
        itemsMissing: items.missing.length,
      },
    );
  },
};

/**
 * 6. The Redis primary stops; the replica is promoted and the endpoint repointed, as ElastiCache does. Only the
 * reference service uses the cache: the catalog must not fail a single request.
 */
export const cacheFailover: Scenario = {
  name: 'cache-failover',
  title:
    'Redis primary stopped, replica promoted, endpoint repointed: sessions survive, errors only in the window, the ' +
    'catalog unaffected',
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

    const catalog = ofService(records, CATALOG_SERVICE);
    const catalogErrors = errorsOf(catalog);
    if (catalogErrors.length > 0) failures.push(`${CATALOG_SERVICE} (no cache): ${describeErrors(catalogErrors)}`);
    const errors = errorsOf(ofService(records, REFERENCE_SERVICE));
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
        `${REFERENCE_SERVICE}: ${errors.length} error(s), none before the stop, the last ${ms(lastError)} ms after ` +
          `the endpoint moved (bound ${CACHE_RECOVERY_BOUND_MS} ms)`,
        `all ${sessions.length} sessions from before the failover valid after it, counters not reset ` +
          `(e.g. vu1 ${countersBefore.get(1)} -> ${sessions[0]?.counter})`,
        `${CATALOG_SERVICE} (database only): ${catalog.length} requests, no error`,
      ],
      {
        primaryStopMs: ms(stoppedAt - stopAt),
        failoverWindowMs: ms(repointedAt - stopAt),
        lastErrorMsAfterRepoint: ms(lastError),
        recoveryBoundMs: CACHE_RECOVERY_BOUND_MS,
        endpoint: `127.0.0.1:${data.redisEndpoint.port} -> 127.0.0.1:${data.redisEndpoint.target.port}`,
        catalogRequests: catalog.length,
        catalogErrors: catalogErrors.length,
      },
    );
  },
};

/**
 * Final check, after every selected scenario: every note acknowledged with 201, and the latest acknowledged
 * version of every catalog item, is in PostgreSQL.
 */
export async function durability(ctx: DrillContext): Promise<ScenarioResult> {
  const started = now();
  const [notes, items] = await Promise.all([missingNotes(ctx), missingItems(ctx)]);
  const ended = now();
  const counted = (checked: number, missing: number): Metrics => ({
    ...metrics([], started, ended),
    requests: checked,
    errors: missing,
  });
  const failures: string[] = [];
  if (notes.missing.length > 0) {
    failures.push(
      `${notes.missing.length} of ${notes.checked} acknowledged notes missing from PostgreSQL ` +
        `(e.g. ${notes.missing.slice(0, 5).join(', ')})`,
    );
  }
  if (items.missing.length > 0) {
    failures.push(
      `${items.missing.length} of ${items.checked} acknowledged catalog items missing or older in PostgreSQL ` +
        `(e.g. ${items.missing.slice(0, 5).join(', ')})`,
    );
  }
  return result(
    'durability',
    'every note acknowledged with 201 and the latest acknowledged version of every catalog item, in every ' +
      'scenario, read back from PostgreSQL directly',
    failures,
    [
      `${notes.checked} acknowledged notes, all present`,
      `${items.checked} catalog items, each at its latest acknowledged version or later`,
    ],
    counted(notes.checked + items.checked, notes.missing.length + items.missing.length),
    {
      notesChecked: notes.checked,
      notesMissing: notes.missing.slice(0, 50),
      itemsChecked: items.checked,
      itemsMissing: items.missing.slice(0, 50),
    },
    [],
    {
      ...metricsByService([], started, ended, DRILL_SERVICE_NAMES),
      [REFERENCE_SERVICE]: counted(notes.checked, notes.missing.length),
      [CATALOG_SERVICE]: counted(items.checked, items.missing.length),
    },
  );
}
