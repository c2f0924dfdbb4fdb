/**
 * `npm run gameday`: a local two-region game day (issue 10). Region A (active) and region B (passive: a hot
 * standby, a Redis replica, replicated read-only files), each with its own HAProxy (a backend per service,
 * routed by path as the listener rules do) and a fleet of each of staging's services (the reference service and
 * the catalog), behind a front HAProxy that stands in for Route 53's health-checked failover records. Under load
 * from the drill's virtual users and catalog users it runs four scenarios (steady, region A lost, promotion of
 * B, failback to a rebuilt A) and writes drill/out/gameday-report.json, a table, and
 * drill/out/gameday-timeline.svg. See drill/README.md.
 *
 * It needs root (mounts, in a private mount namespace it enters by re-running itself under `unshare -m`), and
 * PostgreSQL, Redis and HAProxy (scripts/install-debian-deps.sh).
 *
 * Usage: tsx drill/gameday.ts [--report <path>] [--users <n>] [--catalog-users <n>] [--keep]
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Agent, request } from 'undici';
import type { ServiceDefinition } from '../lib/config/types';
import { WRITER_RETRY_MS } from '../service/src/db';
import {
  freePort,
  startPostgres,
  startRedis,
  type PostgresServer,
  type PostgresStandby,
} from '../support/local-servers';
import { cleanup, onCleanup, runMain } from './cleanup';
import { isRunning, type Instance } from './fleet';
import { FrontDoor } from './front-door';
import {
  deactivate,
  FileReplication,
  inactiveEndpoint,
  passiveStores,
  regionInstances,
  waitForCacheCatchUp,
  SharedFiles,
  startRegion,
  type Region,
  type RegionStores,
} from './gameday-regions';
import { HAPROXY_BIN, serviceBackends } from './haproxy';
import {
  itemVersion,
  latestItems,
  LoadGenerator,
  WRITE_OPERATIONS,
  type AcknowledgedFile,
  type AcknowledgedItem,
  type LoadRun,
  type RequestRecord,
} from './load';
import { renderTable, writeReport, type ScenarioResult } from './report';
import { ofService, perService, runResult } from './context';
import {
  MAX_REQUESTS_PER_SCENARIO,
  REQUEST_TIMEOUT_MS,
  SHUTDOWN_TIMEOUT_SECONDS,
  startProgram,
  THINK_MS,
  WALL_LIMIT_MS,
} from './program';
import { makeCertificate, replicationInfo } from './servers';
import { CATALOG_SERVICE, drillServices, readinessProblem, REFERENCE_SERVICE, serviceEntry } from './services';
import { TcpProxy } from './tcp-proxy';
import { isReadOnlyRefusal, regionOf, renderTimeline, type TimelineMark } from './timeline';
import { errorMessage, now, sleep, withTimeout } from './util';
import { provisionServiceRoles, serviceTable } from './database-roles';

const ROOT = path.join(__dirname, '..');
const DEFAULT_REPORT = path.join(ROOT, 'drill', 'out', 'gameday-report.json');
const NAMESPACE_MARK = 'HA_WEB_GAMEDAY_NAMESPACE';
/** Instances of each service in each region. */
const INSTANCES_PER_REGION = 2;
/** Server slots of each backend. */
const SLOTS = 4;
const WRITES = WRITE_OPERATIONS;
/**
 * Names of the regions' writer endpoints: a loopback address each (the rebuilt A its own, as its database listens
 * on a new port that may be the lost one's).
 */
const WRITER_HOSTS = { a: '127.0.0.2', b: '127.0.0.3', rebuiltA: '127.0.0.4' } as const;
/**
 * How long a catalog read may lag behind a write it follows (reads go to the reader endpoint, which promises no
 * read-your-write): the bound the game day holds replication to (a write acknowledged more than 1 s before the
 * loss must be in B).
 */
const CATALOG_READ_LAG_MS = 1000;

interface Options {
  readonly report: string;
  readonly users: number;
  readonly catalogUsers: number;
  readonly keep: boolean;
}

function parseArgs(argv: readonly string[]): Options {
  let report = DEFAULT_REPORT;
  let users = 8;
  let catalogUsers = 2;
  let keep = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === '--report') report = path.resolve(value());
    else if (arg === '--users') users = Number(value());
    else if (arg === '--catalog-users') catalogUsers = Number(value());
    else if (arg === '--keep') keep = true;
    else
      throw new Error(
        `unknown argument "${arg}"; usage: tsx drill/gameday.ts [--report <path>] [--users <n>] ` +
          '[--catalog-users <n>] [--keep]',
      );
  }
  if (!Number.isInteger(users) || users < 1 || users > 64) throw new Error(`--users must be 1 to 64 (got ${users})`);
  if (!Number.isInteger(catalogUsers) || catalogUsers < 1 || catalogUsers > 16) {
    throw new Error(`--catalog-users must be 1 to 16 (got ${catalogUsers})`);
  }
  return { report, users, catalogUsers, keep };
}

/** Re-runs this process in a private mount namespace (its mounts vanish with it); returns false when it did. */
function enterMountNamespace(): boolean {
  if (process.env[NAMESPACE_MARK] === '1') return true;
  if (process.getuid?.() !== 0) {
    throw new Error("the game day mounts the passive region's files read-only: run it as root (or with sudo)");
  }
  const child = spawnSync(
    'unshare',
    ['--mount', '--propagation', 'private', process.execPath, ...process.execArgv, ...process.argv.slice(1)],
    { stdio: 'inherit', env: { ...process.env, [NAMESPACE_MARK]: '1' } },
  );
  if (child.error) throw new Error(`unshare failed: ${child.error.message}`);
  process.exit(child.status ?? 1);
}

/** Everything the scenarios share and change. */
interface Gameday {
  readonly dir: string;
  readonly front: FrontDoor;
  readonly load: LoadGenerator;
  readonly ca: string;
  readonly pemPath: string;
  readonly origin: number;
  readonly marks: TimelineMark[];
  /** The services each region runs, and their built entries. */
  readonly services: readonly ServiceDefinition[];
  readonly entries: ReadonlyMap<string, string>;
  a: Region;
  b: Region;
  /** File replication into the passive region. */
  replication?: FileReplication;
  /** Drill clock of the loss of region A. */
  lostAt?: number;
  /** Notes acknowledged in A that B never received (scenario 3). */
  lostNoteIds: Set<string>;
  /** Catalog items whose latest version acknowledged in A B never received (scenario 2), with when A acknowledged it. */
  lostItems: Map<string, number>;
  log(message: string): void;
}

/** A request to one region's load balancer (its own name, not the front), the answer parsed as JSON. */
async function getJson(
  port: number,
  ca: string,
  urlPath: string,
  method: 'GET' | 'PUT' = 'GET',
  json?: unknown,
): Promise<{ status: number; body: unknown }> {
  const agent = new Agent({ connect: { ca } });
  try {
    const res = await request(`https://127.0.0.1:${port}${urlPath}`, {
      dispatcher: agent,
      method,
      headers: json === undefined ? {} : { 'content-type': 'application/json' },
      body: json === undefined ? undefined : JSON.stringify(json),
      headersTimeout: 3000,
      bodyTimeout: 3000,
    });
    const text = await res.body.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
    return { status: res.statusCode, body };
  } finally {
    await agent.close();
  }
}

/** The first write of `records` accepted by `region` that started after `after`. */
function firstWriteOf(records: readonly RequestRecord[], region: 'a' | 'b', after: number): RequestRecord | undefined {
  return records
    .filter((r) => WRITES.has(r.op) && r.ok && regionOf(r) === region && r.start >= after)
    .sort((x, y) => x.end - y.end)[0];
}

/** Counts of each value. */
function countBy(values: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}

/** Counts by status ("0" for network errors and timeouts). */
function byStatus(records: readonly RequestRecord[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of records) out[String(r.status)] = (out[String(r.status)] ?? 0) + 1;
  return out;
}

/**
 * The region switch post-check on `region` (through its load balancer, as the post-check asks the region's own
 * name): every service's readiness answers 200 and, where it has a writable pointer, the value there is
 * `writable`. Returns the problems and the answers.
 */
async function regionReadiness(
  g: Gameday,
  region: Region,
  writable: boolean,
): Promise<{ problems: string[]; answers: Record<string, unknown> }> {
  const problems: string[] = [];
  const answers: Record<string, unknown> = {};
  for (const service of g.services) {
    if (!service.readiness) continue;
    const answer = await getJson(region.haproxy.options.port, g.ca, service.readiness.path).catch((err: unknown) => ({
      status: 0,
      body: errorMessage(err),
    }));
    answers[service.name] = answer;
    const problem = readinessProblem(service, answer, writable);
    if (problem) problems.push(`region ${region.name}: ${problem}`);
  }
  return { problems, answers };
}

/** "web /health/ready /database/writable true, catalog ...": what {@link regionReadiness} checked. */
function describeReadiness(g: Gameday, writable: boolean): string {
  return g.services
    .filter((s) => s.readiness)
    .map(
      (s) =>
        `${s.name} ${s.readiness!.path}${s.readiness!.writablePointer ? ` ${s.readiness!.writablePointer} ${writable}` : ''}`,
    )
    .join(', ');
}

/** Whether a failed read is of a note or catalog item lost with region A (its recovery point), not a failure of B. */
function lostWithRegion(r: RequestRecord): boolean {
  return /acknowledged (note|item) .* not found|item .* behind/.test(r.problem ?? '');
}

/** The reference service's notes with the given ids, read as the superuser from its schema. */
const NOTES_BY_ID = `SELECT id::text FROM ${serviceTable(REFERENCE_SERVICE, 'notes')} WHERE id = ANY($1::bigint[])`;

/** Catalog items (latest acknowledged version) missing in `database` or there at an older version, by SKU. */
async function itemsMissingIn(
  database: PostgresStandby,
  acks: readonly AcknowledgedItem[],
): Promise<AcknowledgedItem[]> {
  const latest = latestItems(acks);
  if (latest.size === 0) return [];
  const rows = await database.adminQuery(
    `SELECT sku, name FROM ${serviceTable(CATALOG_SERVICE, 'catalog_items')} WHERE sku = ANY($1::text[])`,
    [[...latest.keys()]],
  );
  const stored = new Map(rows.map((row) => [String(row.sku), itemVersion(row.name) ?? 0]));
  return [...latest.values()].filter((a) => (stored.get(a.sku) ?? 0) < a.version);
}

/**
 * Where the acknowledged files are in a region's files directory: `users/<account id>/<name>`, each file under its
 * owner's account (the ids read from the region's database, which has every account the region has).
 */
async function fileLocator(
  database: PostgresServer | PostgresStandby,
  filesSource: string,
): Promise<(file: Pick<AcknowledgedFile, 'owner' | 'name'>) => string> {
  const rows = await database.adminQuery(
    `SELECT id::text AS id, name FROM ${serviceTable(REFERENCE_SERVICE, 'users')}`,
  );
  const ids = new Map(rows.map((row) => [String(row.name), String(row.id)]));
  return (file) => path.join(filesSource, 'users', ids.get(file.owner) ?? 'no-such-account', file.name);
}

function startLoad(g: Gameday, label: string, maxMs: number): LoadRun {
  return g.load.start(label, { maxDurationMs: maxMs, maxRequests: MAX_REQUESTS_PER_SCENARIO });
}

/**
 * 1. Steady: both regions ready, every answer (of every service) from A; A's services ready and writable, B's
 * ready and read-only.
 */
async function steady(g: Gameday): Promise<ScenarioResult> {
  const run = startLoad(g, 'steady', 5000);
  await sleep(5000);
  await run.stop();
  const failures: string[] = [];
  const errors = run.records.filter((r) => !r.ok);
  if (errors.length > 0) failures.push(`${errors.length} failed requests (${JSON.stringify(byStatus(errors))})`);
  const fromB = run.records.filter((r) => regionOf(r) === 'b').length;
  if (fromB > 0) failures.push(`${fromB} answers came from region B while A was healthy`);
  for (const service of g.services) {
    if (ofService(run.records, service.name).filter((r) => r.ok).length === 0) {
      failures.push(`no ${service.name} request answered`);
    }
  }
  const [readinessA, readinessB] = await Promise.all([regionReadiness(g, g.a, true), regionReadiness(g, g.b, false)]);
  failures.push(...readinessA.problems, ...readinessB.problems);
  const ready = await getJson(g.b.haproxy.options.port, g.ca, '/health/ready');
  const body = ready.body as Record<string, { ok?: boolean; writable?: boolean }>;
  const readOnly = ['database', 'cache', 'files'].every((k) => body[k]?.ok === true && body[k]?.writable === false);
  if (ready.status !== 200 || !readOnly) {
    failures.push(
      `region B /health/ready: ${ready.status} ${JSON.stringify(ready.body)} (expected 200, each store writable: false)`,
    );
  }
  const standby = g.b.stores.database as PostgresStandby;
  const catchUpStarted = now();
  await standby.waitForCatchUp(10_000);
  const databaseCatchUpMs = Math.round(now() - catchUpStarted);
  const [aInfo, bInfo] = await Promise.all([replicationInfo(g.a.stores.cache), replicationInfo(g.b.stores.cache)]);
  const cacheOffsetGap = Number(aInfo.get('master_repl_offset')) - Number(bInfo.get('slave_repl_offset'));
  const details = {
    answeredByA: run.records.filter((r) => regionOf(r) === 'a').length,
    answeredByB: fromB,
    regionAReadiness: readinessA.answers,
    regionBReadiness: readinessB.answers,
    databaseCatchUpMs,
    cacheOffsetGapBytes: cacheOffsetGap,
    filesReplicated: g.replication?.copied ?? 0,
  };
  return runResult(
    { name: 'steady', title: 'both regions ready; all traffic of every service in A; B ready and read-only' },
    run,
    failures,
    [
      `${run.records.length} requests (${perService(run.records)}), all answered by region A`,
      `every service's readiness 200 in both regions: ${describeReadiness(g, true)} in A, ` +
        `${describeReadiness(g, false)} in B; B's /health/ready writable: false on the database, cache and files`,
      `B's database caught up within ${databaseCatchUpMs} ms of the load stopping`,
    ],
    details,
  );
}

/** Files uploaded in A before the loss, read back in B after it. */
const PROBE_FILES = ['gameday-1.txt', 'gameday-2.txt', 'gameday-3.txt'];

/**
 * 2. Region A lost at once: the front fails over to B; reads of every service work, every write a clear 503, no
 * restarts.
 */
async function regionLoss(g: Gameday): Promise<ScenarioResult> {
  // Files of the user whose requests the probes send, in its account's directory.
  const fileInA = await fileLocator(g.a.stores.database, g.a.stores.files.source);
  for (const name of PROBE_FILES) {
    const file = fileInA({ owner: g.load.probeUser, name });
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `${name} from A\n`);
  }
  await g.replication!.flush();
  const bPids = regionInstances(g.b).map((i) => i.pid);
  const run = startLoad(g, 'region-loss', g.front.timings.detectionMs + 12_000);
  await sleep(1500);
  const standby = g.b.stores.database as PostgresStandby;
  const [lag] = await standby.adminQuery(
    'SELECT COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) * 1000, 0)::float AS ms',
  );
  const lagAtLossMs = Math.round(Number(lag!.ms));
  const lostAt = now();
  g.lostAt = lostAt;
  g.marks.push({ at: lostAt, label: 'region A lost' });
  g.log('region A lost: load balancer, instances, PostgreSQL and Redis killed at once');
  await Promise.all([
    g.a.haproxy.kill(),
    ...g.a.fleets.flatMap((fleet) => [...fleet.active].map((i) => fleet.crash(i))),
    g.a.stores.database.kill(),
    g.a.stores.cache.kill(),
    g.replication!.stop(),
  ]);
  await sleep(g.front.timings.detectionMs + 6000);
  await run.stop();
  const firstB = run.records.filter((r) => r.start >= lostAt && regionOf(r) === 'b').sort((x, y) => x.end - y.end)[0];
  const failures: string[] = [];
  if (!firstB) failures.push('region B never answered after the loss');
  const detectionMs = firstB ? Math.round(firstB.end - lostAt) : -1;
  // The first failed check comes up to one interval after the loss, then `fall` checks and a timeout.
  const bound = g.front.timings.detectionMs + g.front.timings.checkIntervalMs;
  if (firstB && detectionMs > bound) failures.push(`failover took ${detectionMs} ms, over the ${bound} ms bound`);
  if (firstB) g.marks.push({ at: firstB.end, label: 'failover to B' });
  const inB = run.records.filter((r) => regionOf(r) === 'b' || (firstB && r.start >= firstB.end));
  // A counter lower than one A acknowledged is an increment lost with the region (the cache's recovery point):
  // counted in the figures, as lost notes are, not a failed read.
  const counterLost = (r: RequestRecord) => /counter went back/.test(r.problem ?? '');
  const badReads = inB.filter((r) => !WRITES.has(r.op) && !r.ok && !lostWithRegion(r) && !counterLost(r));
  const badWrites = inB.filter((r) => WRITES.has(r.op) && !r.ok && !isReadOnlyRefusal(r));
  const acceptedWrites = inB.filter((r) => WRITES.has(r.op) && r.ok);
  if (badReads.length > 0) failures.push(`${badReads.length} reads failed in B: ${badReads[0]!.problem}`);
  if (badWrites.length > 0)
    failures.push(`${badWrites.length} writes in B without the read-only 503: ${badWrites[0]!.problem}`);
  if (acceptedWrites.length > 0) failures.push(`${acceptedWrites.length} writes accepted by the read-only region`);
  if (inB.filter(isReadOnlyRefusal).length === 0)
    failures.push('no write reached B: the read-only answer was not exercised');
  if (inB.filter((r) => !WRITES.has(r.op) && r.ok).length === 0) failures.push('no read was answered in B');
  const catalogInB = ofService(inB, CATALOG_SERVICE);
  const catalogReads = catalogInB.filter((r) => !WRITES.has(r.op) && r.ok).length;
  const catalogRefused = catalogInB.filter(isReadOnlyRefusal);
  if (catalogReads === 0) failures.push('no catalog read was answered in B');
  if (catalogRefused.length === 0) failures.push('no catalog write reached B: its 503 was not exercised');
  const verify = await g.load.verifySessions(run);
  const sessionsKept = verify.filter((r) => r.status === 200 && !/session of/.test(r.problem ?? '')).length;
  const counterRegressions = verify.filter((r) => /counter went back/.test(r.problem ?? '')).length;
  if (sessionsKept < verify.length) failures.push(`${verify.length - sessionsKept} sessions made in A unreadable in B`);
  // Files need a session: read them as a user would.
  const fileReads = await Promise.all(PROBE_FILES.map((name) => g.load.probe(run, `/files/${name}`, {}, 200)));
  const filesRead = fileReads.filter((r) => r.ok).length;
  if (filesRead < PROBE_FILES.length) {
    failures.push(`${PROBE_FILES.length - filesRead} of the files written in A not downloadable in B`);
  }
  const stillRunning = regionInstances(g.b).filter((i) => isRunning(i) && bPids.includes(i.pid)).length;
  if (stillRunning !== bPids.length)
    failures.push(`${bPids.length - stillRunning} B instances exited or were replaced`);
  // The catalog's recovery point: items whose latest version A acknowledged and B's standby does not have. Later
  // reads no longer expect them (they went with the region); the promotion scenario judges the loss.
  const itemsLost = await itemsMissingIn(
    standby,
    g.load.acknowledgedItems.filter((a) => a.at <= lostAt),
  );
  for (const item of itemsLost) g.lostItems.set(item.sku, item.at);
  g.load.forgetItems(g.lostItems.keys());
  const details = {
    detectionMs,
    detectionBoundMs: bound,
    frontSettings: g.front.timings,
    replicationLagAtLossMs: lagAtLossMs,
    readsInB: inB.filter((r) => !WRITES.has(r.op)).length,
    writesRefusedReadOnly: inB.filter(isReadOnlyRefusal).length,
    sessionsKept,
    sessions: verify.length,
    sessionCounterRegressions: counterRegressions + inB.filter(counterLost).length,
    readsOfWritesLostWithA: inB.filter(lostWithRegion).length,
    filesWrittenInAReadInB: filesRead,
    catalogReadsInB: catalogReads,
    catalogWritesRefused: catalogRefused.length,
    catalogRefusalMessages: countBy(catalogRefused.map((r) => r.message ?? '')),
    catalogItemsLostAtLoss: itemsLost.length,
    errorsByStatus: byStatus(run.records.filter((r) => !r.ok)),
  };
  return runResult(
    { name: 'region-loss', title: 'region A lost at once: failover to the read-only region B' },
    run,
    failures,
    [
      `front failed over to B ${detectionMs} ms after the loss (bound ${bound} ms: Route 53 interval x threshold + timeout + one interval of check phase, scaled)`,
      `in B: every read answered, every write a 503 with the read-only message (${details.writesRefusedReadOnly}, ` +
        `${catalogRefused.length} of them the catalog's); ${catalogReads} catalog reads answered`,
      `${sessionsKept}/${verify.length} sessions made in A read in B; files written in A downloaded in B; no B instance restarted`,
    ],
    details,
  );
}

/**
 * 3. Unplanned failover: promote B's stores; measure time to the first write (of each service) and the writes
 * lost; then the post-check: every service of B ready and writable.
 */
async function promotion(g: Gameday): Promise<ScenarioResult> {
  const run = startLoad(g, 'promotion', 15_000);
  const bPids = regionInstances(g.b).map((i) => i.pid);
  await sleep(1000);
  const promoteStarted = now();
  g.marks.push({ at: promoteStarted, label: 'promotion of B' });
  g.log('promoting B: PostgreSQL standby, Redis replica, files read-write; the plan keeps traffic away from A');
  await g.front.steerAway();
  const standby = g.b.stores.database as PostgresStandby;
  await standby.promote();
  g.b.stores.writerEndpoint.repoint({ host: standby.host, port: standby.port });
  await g.b.stores.cache.promote();
  await g.b.stores.files.setReadOnly(false);
  const promotedAt = now();
  await sleep(WRITER_RETRY_MS + 8000);
  await run.stop();
  const failures: string[] = [];
  const firstWrite = run.records
    .filter((r) => WRITES.has(r.op) && r.ok && regionOf(r) === 'b')
    .sort((x, y) => x.end - y.end)[0];
  if (!firstWrite) failures.push('no write was accepted in B after promotion');
  const firstCatalogWrite = firstWriteOf(ofService(run.records, CATALOG_SERVICE), 'b', promoteStarted);
  if (!firstCatalogWrite) failures.push('no catalog write was accepted in B after promotion');
  const postCheck = await regionReadiness(g, g.b, true);
  failures.push(...postCheck.problems);
  const lostAt = g.lostAt!;
  const timeToFirstWriteMs = firstWrite ? Math.round(firstWrite.end - lostAt) : -1;
  const promotionToFirstWriteMs = firstWrite ? Math.round(firstWrite.end - promoteStarted) : -1;
  if (firstWrite) g.marks.push({ at: firstWrite.end, label: 'first write in B' });
  const settled = promotedAt + WRITER_RETRY_MS + 2000;
  const lateErrors = run.records.filter((r) => !r.ok && r.start >= settled);
  if (lateErrors.length > 0) {
    failures.push(
      `${lateErrors.length} failed requests more than ${WRITER_RETRY_MS + 2000} ms after promotion: ${lateErrors[0]!.problem}`,
    );
  }
  // Before the writer retry has passed, a service 503 is a clean answer (read-only, or a store busy during the
  // promotion: a hot standby cancels queries that conflict with its replay). A 500, or a 5xx without an
  // instance (the load balancer answering itself), is a failure at any time.
  const serverErrors = run.records.filter((r) => r.status >= 500 && !(r.status === 503 && r.instanceId));
  if (serverErrors.length > 0) {
    failures.push(`${serverErrors.length} answers 5xx other than a service 503: ${serverErrors[0]!.problem}`);
  }
  // Writes acknowledged in A that B does not have: the recovery point.
  const ackedInA = g.load.acknowledgedNotes.filter((n) => n.at <= lostAt);
  const found = await standby.adminQuery(NOTES_BY_ID, [ackedInA.map((n) => n.id)]);
  const present = new Set(found.map((row) => String(row.id)));
  const lost = ackedInA.filter((n) => !present.has(n.id));
  lost.forEach((n) => g.lostNoteIds.add(n.id));
  const oldLost = lost.filter((n) => n.at < lostAt - 1000);
  if (oldLost.length > 0)
    failures.push(`${oldLost.length} notes acknowledged more than 1 s before the loss are missing in B`);
  const fileInB = await fileLocator(standby, g.b.stores.files.source);
  const missingFiles = g.load.acknowledgedFiles.filter((f) => f.at <= lostAt).filter((f) => !fs.existsSync(fileInB(f)));
  const filesLost = missingFiles.length;
  // The file replication runs every 200 ms: a file acknowledged well before the loss must have arrived.
  const oldFilesLost = missingFiles.filter((f) => f.at < lostAt - 1000);
  if (oldFilesLost.length > 0)
    failures.push(`${oldFilesLost.length} files acknowledged more than 1 s before the loss are missing in B`);
  // The catalog's recovery point (measured at the loss, scenario 2): the same 1 s bound.
  const itemsAckedInA = latestItems(g.load.acknowledgedItems.filter((a) => a.at <= lostAt)).size;
  const oldItemsLost = [...g.lostItems.values()].filter((at) => at < lostAt - 1000).length;
  if (oldItemsLost > 0) {
    failures.push(`${oldItemsLost} catalog items acknowledged more than 1 s before the loss are missing in B`);
  }
  const stillRunning = regionInstances(g.b).filter((i) => isRunning(i) && bPids.includes(i.pid)).length;
  if (stillRunning !== bPids.length)
    failures.push(`${bPids.length - stillRunning} B instances exited or were replaced`);
  const details = {
    timeToFirstWriteMs,
    catalogPromotionToFirstWriteMs: firstCatalogWrite ? Math.round(firstCatalogWrite.end - promoteStarted) : -1,
    promotionToFirstWriteMs,
    promotionStepsMs: Math.round(promotedAt - promoteStarted),
    // The game day waits before it promotes (standing for the operator's decision): most of timeToFirstWriteMs.
    promotionStartedAfterLossMs: Math.round(promoteStarted - lostAt),
    notesAcknowledgedInA: ackedInA.length,
    notesLost: lost.length,
    filesAcknowledgedInA: g.load.acknowledgedFiles.filter((f) => f.at <= lostAt).length,
    filesLost,
    catalogItemsAcknowledgedInA: itemsAckedInA,
    catalogItemsLost: g.lostItems.size,
    postCheck: postCheck.answers,
    errorsByStatus: byStatus(run.records.filter((r) => !r.ok)),
    unavailableDuringPromotion: run.records
      .filter((r) => r.status === 503 && !isReadOnlyRefusal(r))
      .map((r) => r.message),
  };
  return runResult(
    { name: 'promotion', title: 'unplanned failover: B promoted, the same processes take writes' },
    run,
    failures,
    [
      `first write accepted in B ${timeToFirstWriteMs} ms after the loss (${promotionToFirstWriteMs} ms after the promotion began)`,
      `writes acknowledged in A and missing in B: ${lost.length} notes of ${ackedInA.length}, ${filesLost} files, ` +
        `${g.lostItems.size} catalog items of ${itemsAckedInA} (the replication lag at the loss)`,
      `first catalog write accepted in B ${details.catalogPromotionToFirstWriteMs} ms after the promotion began; ` +
        `post-check: ${describeReadiness(g, true)} in B`,
      'no B instance restarted; no failure after the writer endpoint retry',
    ],
    details,
  );
}

/**
 * 4. Failback: rebuild A as a replica of B, let it catch up, switch back with zero acknowledged writes lost; then
 * the post-check (every service of A ready and writable), and B, passive again, serves catalog reads and refuses
 * its writes.
 */
async function failback(g: Gameday): Promise<ScenarioResult> {
  const failures: string[] = [];
  g.log('rebuilding A as a replica of B');
  const dirA2 = path.join(g.dir, 'region-a2');
  const rebuilt = await passiveStores(
    dirA2,
    {
      database: g.b.stores.database,
      cache: g.b.stores.cache,
      filesSource: g.b.stores.files.source,
      logins: g.b.stores.logins,
    },
    WRITER_HOSTS.rebuiltA,
  );
  const a2 = await startRegion({
    name: 'a',
    dir: dirA2,
    stores: rebuilt.stores,
    services: g.services,
    entries: g.entries,
    pemPath: g.pemPath,
    instances: INSTANCES_PER_REGION,
    slots: SLOTS,
    shutdownTimeoutSeconds: SHUTDOWN_TIMEOUT_SECONDS,
    version: 'v1',
    users: g.load.userCount,
  });
  g.a = a2;
  await g.front.repointA(a2.haproxy.options.port);
  const readyA2 = await regionReadiness(g, a2, false);
  failures.push(...readyA2.problems.map((p) => `rebuilt A not ready: ${p}`));
  const run = startLoad(g, 'failback', 20_000);
  await sleep(2000);
  // Planned switchover: freeze writes in B, let A catch up, promote A, steer traffic back, demote B.
  const freezeAt = now();
  g.marks.push({ at: freezeAt, label: 'switchover: B frozen' });
  const b = g.b.stores;
  const bDatabase = b.database as PostgresStandby;
  await bDatabase.adminQuery('ALTER SYSTEM SET default_transaction_read_only = on');
  await bDatabase.adminQuery('SELECT pg_reload_conf()');
  // The reload reaches each backend at its next command: wait until no transaction holds a write (an xid),
  // twice 100 ms apart, so nothing acknowledged by B can commit after the catch-up point below.
  for (let quiet = 0, deadline = Date.now() + 10_000; quiet < 2;) {
    const [row] = await bDatabase.adminQuery(
      'SELECT count(*)::int AS n FROM pg_stat_activity WHERE backend_xid IS NOT NULL AND pid <> pg_backend_pid()',
    );
    quiet = row!.n === 0 ? quiet + 1 : 0;
    if (Date.now() > deadline) throw new Error('B still had write transactions 10 s after the freeze');
    await sleep(100);
  }
  await b.cache.command('CLIENT', 'PAUSE', '60000', 'WRITE');
  await b.files.setReadOnly(true);
  const a2Database = rebuilt.stores.database as PostgresStandby;
  await a2Database.waitForCatchUp(20_000);
  await waitForCacheCatchUp(b.cache, rebuilt.stores.cache);
  await rebuilt.replication.flush();
  await rebuilt.replication.stop();
  await a2Database.promote();
  rebuilt.stores.writerEndpoint.repoint({ host: a2Database.host, port: a2Database.port });
  await rebuilt.stores.cache.promote();
  await rebuilt.stores.files.setReadOnly(false);
  await g.front.steerBack();
  await g.front.waitStatus('a', 'UP', 15_000);
  // Clients' connections to B end (in AWS: the DNS TTL and keep-alive; here at once).
  await g.front.shutdownSessions('b');
  const connectionsClosedAt = now();
  await deactivate(b.writerEndpoint);
  // B's cache becomes a replica before its clients' paused writes run: they then fail READONLY (a 503)
  // instead of being acknowledged by a server that the resync with A is about to overwrite.
  await b.cache.replicaOf(rebuilt.stores.cache);
  await b.cache.command('CLIENT', 'UNPAUSE');
  const switchedAt = now();
  g.marks.push({ at: switchedAt, label: 'switched back to A' });
  await sleep(6000);
  await run.stop();
  const firstWriteA = run.records
    .filter((r) => WRITES.has(r.op) && r.ok && regionOf(r) === 'a' && r.start >= freezeAt)
    .sort((x, y) => x.end - y.end)[0];
  if (!firstWriteA) failures.push('no write accepted in A after the switch back');
  const catalog = ofService(run.records, CATALOG_SERVICE);
  const firstCatalogWriteA = firstWriteOf(catalog, 'a', freezeAt);
  if (!firstCatalogWriteA) failures.push('no catalog write accepted in A after the switch back');
  const catalogReadsA = catalog.filter((r) => !WRITES.has(r.op) && r.ok && regionOf(r) === 'a').length;
  if (catalogReadsA === 0) failures.push('no catalog read answered in A after the switch back');
  const postCheck = await regionReadiness(g, a2, true);
  failures.push(...postCheck.problems);
  const passiveB = await passiveCatalogCheck(g, g.b);
  failures.push(...passiveB.problems);
  const writeUnavailableMs = firstWriteA ? Math.round(firstWriteA.end - freezeAt) : -1;
  // Zero acknowledged writes lost: every note and file acknowledged (and not already lost in the failover).
  const notes = g.load.acknowledgedNotes.filter((n) => !g.lostNoteIds.has(n.id));
  const found = await a2Database.adminQuery(NOTES_BY_ID, [notes.map((n) => n.id)]);
  const present = new Set(found.map((row) => String(row.id)));
  const missingNotes = notes.filter((n) => !present.has(n.id) && (g.lostAt === undefined || n.at > g.lostAt));
  if (missingNotes.length > 0)
    failures.push(`${missingNotes.length} notes acknowledged by B missing in A after the switch`);
  const filesByB = g.load.acknowledgedFiles.filter((f) => f.instanceId?.startsWith('i-b-'));
  const fileInA = await fileLocator(a2Database, rebuilt.stores.files.source);
  const missingFiles = filesByB.filter((f) => {
    try {
      return fs.readFileSync(fileInA(f), 'utf8') !== f.content;
    } catch {
      return true;
    }
  });
  if (missingFiles.length > 0) failures.push(`${missingFiles.length} files acknowledged by B missing in A`);
  // Every catalog item at its latest acknowledged version (but the versions lost with A at the loss) is in A.
  const lostAt = g.lostAt ?? -Infinity;
  const itemAcks = g.load.acknowledgedItems.filter((a) => !(g.lostItems.has(a.sku) && a.at <= lostAt));
  const itemsMissing = await itemsMissingIn(a2Database, itemAcks);
  if (itemsMissing.length > 0) {
    failures.push(
      `${itemsMissing.length} catalog items acknowledged missing (or older) in A after the switch: ` +
        itemsMissing
          .slice(0, 3)
          .map((i) => `${i.sku} v${i.version} by ${i.instanceId}`)
          .join(', '),
    );
  }
  const itemsByB = latestItems(itemAcks.filter((a) => a.instanceId?.startsWith('i-b-'))).size;
  const verify = await g.load.verifySessions(run);
  const broken = verify.filter((r) => !r.ok);
  if (broken.length > 0) failures.push(`${broken.length} sessions broken by the switch: ${broken[0]!.problem}`);
  const afterSwitch = run.records.filter((r) => r.start >= switchedAt + 2000);
  const lateErrors = afterSwitch.filter((r) => !r.ok);
  if (lateErrors.length > 0)
    failures.push(`${lateErrors.length} failed requests 2 s after the switch: ${lateErrors[0]!.problem}`);
  const resets = run.records.filter((r) => !r.ok && r.status === 0);
  const lateResets = resets.filter((r) => r.start > connectionsClosedAt);
  if (lateResets.length > 0)
    failures.push(`${lateResets.length} network errors on requests sent after B's connections closed`);
  const notReadOnly = run.records.filter(
    (r) => !r.ok && r.start < switchedAt + 2000 && !isReadOnlyRefusal(r) && r.status !== 0,
  );
  if (notReadOnly.length > 0)
    failures.push(`${notReadOnly.length} errors during the switch other than the read-only 503`);
  if (run.records.filter((r) => regionOf(r) === 'a' && r.start >= switchedAt).length === 0) {
    failures.push('no request answered by A after the switch back');
  }
  const details = {
    writeUnavailableMs,
    notesAcknowledgedByB: notes.filter((n) => n.instanceId?.startsWith('i-b-')).length,
    notesMissingInA: missingNotes.length,
    filesAcknowledgedByB: filesByB.length,
    filesMissingInA: missingFiles.length,
    catalogItemsChecked: latestItems(itemAcks).size,
    catalogItemsWrittenByB: itemsByB,
    catalogItemsMissingInA: itemsMissing.length,
    catalogWriteUnavailableMs: firstCatalogWriteA ? Math.round(firstCatalogWriteA.end - freezeAt) : -1,
    catalogReadsInAAfterSwitch: catalogReadsA,
    postCheck: postCheck.answers,
    passiveB: passiveB.answers,
    sessionsKept: verify.length - broken.length,
    answeredByAAfterSwitch: afterSwitch.filter((r) => regionOf(r) === 'a').length,
    // The front ends the connections to B at the switch (AWS clients move as their DNS answer and keep-alive
    // expire, meanwhile getting B's read-only 503 on writes): requests in flight on them fail with status 0.
    connectionResetsAtSwitch: resets.length,
    errorsByStatus: byStatus(run.records.filter((r) => !r.ok)),
  };
  return runResult(
    { name: 'failback', title: 'planned switchover back to a rebuilt A with zero acknowledged writes lost' },
    run,
    failures,
    [
      `A rebuilt as a replica of B, caught up, promoted; writes unavailable for ${writeUnavailableMs} ms (read-only 503s only)`,
      `zero acknowledged writes lost: all ${notes.length} acknowledged notes (${details.notesAcknowledgedByB} by B), ` +
        `all ${filesByB.length} files acknowledged by B and all ${details.catalogItemsChecked} catalog items ` +
        `(${itemsByB} last written in B) are in A`,
      `catalog: writes accepted in A ${details.catalogWriteUnavailableMs} ms after the freeze, ${catalogReadsA} ` +
        `reads answered in A; post-check: ${describeReadiness(g, true)} in A; B, passive again: ${passiveB.summary}`,
      `${verify.length - broken.length}/${verify.length} sessions kept across the switch`,
    ],
    details,
  );
}

/**
 * The catalog on a passive region's own load balancer (not the front): a write is refused with a 503, a list and
 * a read of an item the region has answer 200.
 */
async function passiveCatalogCheck(
  g: Gameday,
  region: Region,
): Promise<{ problems: string[]; answers: Record<string, unknown>; summary: string }> {
  const port = region.haproxy.options.port;
  const sku = `passive-check-${region.name}-${Date.now()}`;
  const ask = (urlPath: string, method: 'GET' | 'PUT' = 'GET', json?: unknown) =>
    getJson(port, g.ca, urlPath, method, json).catch((err: unknown) => ({ status: 0, body: errorMessage(err) }));
  const write = await ask(`/api/catalog/items/${sku}`, 'PUT', { name: 'refused', priceCents: 1 });
  const list = await ask('/api/catalog/items?limit=5');
  const known = [...latestItems(g.load.acknowledgedItems).values()].find((a) => !g.lostItems.has(a.sku));
  const read = known ? await ask(`/api/catalog/items/${known.sku}`) : { status: 0, body: 'no item acknowledged' };
  const problems: string[] = [];
  if (write.status !== 503)
    problems.push(`region ${region.name} (passive): catalog PUT answered ${write.status}, not 503`);
  if (list.status !== 200) problems.push(`region ${region.name} (passive): catalog list answered ${list.status}`);
  if (read.status !== 200) problems.push(`region ${region.name} (passive): catalog GET answered ${read.status}`);
  const message = (write.body as { error?: unknown } | undefined)?.error;
  return {
    problems,
    answers: { write, list: { status: list.status }, read },
    summary: `catalog PUT ${write.status} (${String(message)}), list ${list.status}, GET ${read.status}`,
  };
}

const SCENARIOS: { name: string; run: (g: Gameday) => Promise<ScenarioResult>; timeoutMs: number }[] = [
  { name: 'steady', run: steady, timeoutMs: 60_000 },
  { name: 'region-loss', run: regionLoss, timeoutMs: 90_000 },
  { name: 'promotion', run: promotion, timeoutMs: 90_000 },
  { name: 'failback', run: failback, timeoutMs: 180_000 },
];

async function main(): Promise<number> {
  const opts = parseArgs(process.argv.slice(2));
  if (!enterMountNamespace()) return 0;
  if (!fs.existsSync(HAPROXY_BIN)) throw new Error(`${HAPROXY_BIN} is missing: bash scripts/install-debian-deps.sh`);
  const program = startProgram('gameday', { wallLimitMs: WALL_LIMIT_MS, keep: opts.keep, tempPrefix: 'ha-gameday-' });
  const { dir, wallStart, log } = program;
  const results: ScenarioResult[] = [];
  let abortedBy: string | undefined;
  let g: Gameday | undefined;
  const services = drillServices();
  const backends = serviceBackends(services, () => SLOTS);
  try {
    const built = now();
    const entries = new Map(services.map((s) => [s.name, serviceEntry(s)]));
    log(
      `built ${[...entries.keys()].join(', ')} in ${Math.round(now() - built)} ms (lib/bundling.ts; cached by ` +
        'content)',
    );
    const cert = await makeCertificate(dir);
    const dirA = path.join(dir, 'region-a');
    const [database, cache] = await Promise.all([
      startPostgres({ dir: path.join(dirA, 'postgres') }),
      startRedis({ dir: path.join(dirA, 'redis') }),
    ]);
    onCleanup('stop A postgres', () => database.stop());
    onCleanup('stop A redis', () => cache.stop());
    const filesA = SharedFiles.create(path.join(dirA, 'files'), path.join(dirA, 'files-mount'), false);
    const writerA = await inactiveEndpoint({ host: WRITER_HOSTS.a, port: database.port });
    writerA.repoint({ host: database.host, port: database.port });
    const cacheA = await TcpProxy.start(cache);
    onCleanup('stop A cache endpoint', () => cacheA.close());
    const logins = await provisionServiceRoles(database, services, path.join(dir, 'database-logins'));
    log(
      `database roles (the deploy's statements): ${Object.values(logins)
        .map((l) => l.user)
        .join(', ')}`,
    );
    const storesA: RegionStores = {
      database,
      cache,
      files: filesA,
      writerEndpoint: writerA,
      cacheEndpoint: cacheA,
      logins,
    };
    const passive = await passiveStores(
      path.join(dir, 'region-b'),
      { database, cache, filesSource: filesA.source, logins },
      WRITER_HOSTS.b,
    );
    const common = {
      services,
      entries,
      pemPath: cert.haproxyPemPath,
      instances: INSTANCES_PER_REGION,
      slots: SLOTS,
      shutdownTimeoutSeconds: SHUTDOWN_TIMEOUT_SECONDS,
      version: 'v1',
      users: opts.users,
    };
    const [a, b] = await Promise.all([
      startRegion({ ...common, name: 'a', dir: dirA, stores: storesA }),
      startRegion({ ...common, name: 'b', dir: path.join(dir, 'region-b'), stores: passive.stores }),
    ]);
    const front = await FrontDoor.start(path.join(dir, 'front'), await freePort(), {
      a: a.haproxy.options.port,
      b: b.haproxy.options.port,
    });
    await front.waitStatus('b', 'UP', 30_000);
    const ids = (r: Region) =>
      regionInstances(r)
        .map((i: Instance) => i.id)
        .join(', ');
    log(`regions up: A ${ids(a)}; B ${ids(b)}`);
    log(
      `regional load balancers: ${backends
        .map((be) => `${be.name} ${be.criteria.length > 0 ? be.criteria.join(' or ') : 'every other path'}`)
        .join('; ')}`,
    );
    log(`front ${front.origin}: ${front.timings.source}`);
    const load = new LoadGenerator({
      origin: front.origin,
      ca: cert.certPem,
      users: opts.users,
      catalogUsers: opts.catalogUsers,
      catalogReadLagMs: CATALOG_READ_LAG_MS,
      services,
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
      thinkMs: THINK_MS,
    });
    onCleanup('close the virtual users', () => load.close());
    await load.signIn();
    g = {
      dir,
      front,
      load,
      ca: cert.certPem,
      pemPath: cert.haproxyPemPath,
      origin: wallStart,
      marks: [],
      services,
      entries,
      a,
      b,
      replication: passive.replication,
      lostNoteIds: new Set(),
      lostItems: new Map(),
      log: (m) => log(`  ${m}`),
    };
    for (const scenario of SCENARIOS) {
      log(`scenario ${scenario.name}`);
      const staleBefore = g.load.staleReads;
      const outcome = await withTimeout(`scenario ${scenario.name}`, scenario.run(g), scenario.timeoutMs);
      // Catalog reads after a write that showed an older version and were asked again (within CATALOG_READ_LAG_MS).
      outcome.details.catalogStaleReadsRetried = g.load.staleReads - staleBefore;
      results.push(outcome);
      const each = Object.entries(outcome.services ?? {}).map(([s, m]) => `${s} ${m.requests}/${m.errors}`);
      log(
        `${outcome.verdict} ${scenario.name} (${(outcome.metrics.durationMs / 1000).toFixed(1)} s; requests/errors ` +
          `${each.join(', ')}): ${outcome.reasons.join('; ')}`,
      );
    }
  } catch (err) {
    abortedBy = errorMessage(err);
    process.stderr.write(`gameday: ${abortedBy}\n`);
  }
  const ok =
    abortedBy === undefined && results.length === SCENARIOS.length && results.every((r) => r.verdict === 'PASS');
  const wallMs = Math.round(now() - wallStart);
  console.log(`\n${renderTable(results)}\n`);
  const settings = {
    services: services.map((s) => s.name),
    routing: Object.fromEntries(services.map((s) => [s.name, s.routing])),
    instancesPerRegion: Object.fromEntries(services.map((s) => [s.name, INSTANCES_PER_REGION])),
    virtualUsers: opts.users,
    catalogUsers: opts.catalogUsers,
    catalogReadLagMs: CATALOG_READ_LAG_MS,
    writerEndpointHosts: WRITER_HOSTS,
    loadBalancer: Object.fromEntries(backends.map((b) => [b.name, { ...b.timings, criteria: b.criteria }])),
    front: g?.front.timings,
    writerRetryMs: WRITER_RETRY_MS,
    node: process.version,
    cpus: os.cpus().length,
  };
  writeReport(opts.report, {
    ok,
    startedAt: new Date(Date.now() - wallMs).toISOString(),
    wallMs,
    settings,
    scenarios: results,
    abortedBy,
  });
  console.log(`report: ${path.relative(process.cwd(), opts.report)}`);
  if (g) {
    const svg = opts.report.replace(/-report\.json$|\.json$/, '') + '-timeline.svg';
    fs.writeFileSync(
      svg,
      renderTimeline(g.load.allRecords, g.origin, g.marks, 'Game day: requests per second by region'),
    );
    console.log(`timeline: ${path.relative(process.cwd(), svg)}`);
  }
  await cleanup();
  program.finish();
  console.log(`gameday ${ok ? 'PASSED' : 'FAILED'} in ${(wallMs / 1000).toFixed(1)} s`);
  return ok ? 0 : 1;
}

runMain('gameday', main);
