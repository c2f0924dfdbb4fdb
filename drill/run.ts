/**
 * `npm run drill`: a local game day. Runs staging's services, the reference service and the catalog, each
 * built by lib/bundling.ts, behind HAProxy (the ALB stand-in, routing by path as the listener rules do) with
 * real PostgreSQL and Redis on loopback, breaks things under load and reports what the users of each service
 * felt. See drill/README.md.
 *
 * Usage: tsx drill/run.ts [--scenario <name>[,<name>...]]... [--report <path>] [--users <n>]
 *        [--catalog-users <n>] [--keep]
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort } from '../support/local-servers';
import { cleanup, isShuttingDown, onCleanup, runMain } from './cleanup';
import type { DrillContext } from './context';
import { Fleet } from './fleet';
import { HAPROXY_BIN, HAProxy, serviceBackends } from './haproxy';
import { LoadGenerator } from './load';
import { renderTable, result, writeReport, type ScenarioResult } from './report';
import { durability } from './scenarios-data';
import { SCENARIOS } from './scenarios';
import {
  MAX_REQUESTS_PER_SCENARIO,
  REQUEST_TIMEOUT_MS,
  SHUTDOWN_TIMEOUT_SECONDS,
  startProgram,
  THINK_MS,
  WALL_LIMIT_MS,
} from './program';
import { makeCertificate, startDataTier } from './servers';
import {
  CATALOG_SERVICE,
  drillServices,
  loadEnvironment,
  REFERENCE_SERVICE,
  serviceEntry,
  serviceEnvironment,
} from './services';
import { errorMessage, now, withTimeout } from './util';
import { provisionServiceRoles } from './database-roles';

const ROOT = path.join(__dirname, '..');
const DEFAULT_REPORT = path.join(ROOT, 'drill', 'out', 'report.json');

/** Instances per service (the reference service as before; the catalog as its staging group's minimum). */
const INSTANCES: Readonly<Record<string, number>> = { [REFERENCE_SERVICE]: 3, [CATALOG_SERVICE]: 2 };
/** Server slots per backend: twice the instances, room for a rolling deploy's extra instance. */
const slotsOf = (service: string) => 2 * (INSTANCES[service] ?? 1);

interface Options {
  readonly scenarios: string[];
  readonly report: string;
  readonly users: number;
  readonly catalogUsers: number;
  readonly keep: boolean;
}

function usage(): string {
  return [
    'Usage: tsx drill/run.ts [--scenario <name>[,<name>...]]... [--report <path>] [--users <n>]',
    '                        [--catalog-users <n>] [--keep]',
    `  --scenario       run only these scenarios (in the drill's order): ${SCENARIOS.map((s) => s.name).join(', ')}`,
    `  --report         where to write the JSON report (default ${path.relative(process.cwd(), DEFAULT_REPORT)})`,
    '  --users          virtual users of the reference service, 1 to 64 (default 10)',
    '  --catalog-users  users of the catalog, 1 to 16 (default 2)',
    '  --keep           keep the temp dir (data, configs, logs) for inspection',
  ].join('\n');
}

function parseArgs(argv: readonly string[]): Options {
  const scenarios: string[] = [];
  let report = DEFAULT_REPORT;
  let users = 10;
  let catalogUsers = 2;
  let keep = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new Error(`${arg} needs a value\n${usage()}`);
      return v;
    };
    if (arg === '--scenario') scenarios.push(...value().split(',').filter(Boolean));
    else if (arg === '--report') report = path.resolve(value());
    else if (arg === '--users') users = Number(value());
    else if (arg === '--catalog-users') catalogUsers = Number(value());
    else if (arg === '--keep') keep = true;
    else if (arg === '--help' || arg === '-h') {
      console.log(usage());
      process.exit(0);
    } else throw new Error(`unknown argument "${arg}"\n${usage()}`);
  }
  const unknown = scenarios.filter((s) => !SCENARIOS.some((k) => k.name === s));
  if (unknown.length > 0) {
    throw new Error(`unknown scenario(s) ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);
  }
  if (!Number.isInteger(users) || users < 1 || users > 64) throw new Error(`--users must be 1 to 64 (got ${users})`);
  if (!Number.isInteger(catalogUsers) || catalogUsers < 1 || catalogUsers > 16) {
    throw new Error(`--catalog-users must be 1 to 16 (got ${catalogUsers})`);
  }
  return { scenarios, report, users, catalogUsers, keep };
}

function preflight(): void {
  for (const bin of [HAPROXY_BIN, '/usr/lib/postgresql/15/bin/pg_ctl', '/usr/bin/redis-server']) {
    if (!fs.existsSync(bin)) throw new Error(`${bin} is missing: run scripts/install-debian-deps.sh`);
  }
}

function versionOf(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', timeout: 5000 }).split('\n')[0].trim();
  } catch {
    return 'unknown';
  }
}

/** Where a failed run's logs go: next to the report, named after it (report.json -> report-logs/). */
function logsDirOf(reportFile: string): string {
  return `${reportFile.replace(/\.json$/, '')}-logs`;
}

/** Copies the instances', HAProxy's and the data tier's logs next to the report, for CI artefacts. */
function keepLogs(dir: string, reportFile: string): string {
  const target = logsDirOf(reportFile);
  fs.rmSync(target, { recursive: true, force: true });
  fs.mkdirSync(target, { recursive: true });
  const wanted = [
    ...(fs.existsSync(path.join(dir, 'instances')) ? fs.readdirSync(path.join(dir, 'instances')) : []).map((f) =>
      path.join('instances', f),
    ),
    'haproxy/haproxy.log',
    'haproxy/haproxy.cfg',
    'postgres/postgres.log',
    'redis-a/redis.log',
    'redis-b/redis.log',
  ];
  for (const rel of wanted) {
    const from = path.join(dir, rel);
    if (fs.existsSync(from)) fs.copyFileSync(from, path.join(target, rel.replace(/\//g, '-')));
  }
  return target;
}

async function main(): Promise<number> {
  const opts = parseArgs(process.argv.slice(2));
  preflight();
  const program = startProgram('drill', { wallLimitMs: WALL_LIMIT_MS, keep: opts.keep, tempPrefix: 'ha-drill-' });
  const { dir, wallStart, log } = program;
  const startedAt = new Date().toISOString();
  const services = drillServices();
  const backends = serviceBackends(services, slotsOf);
  const settings: Record<string, unknown> = {
    services: services.map((s) => s.name),
    routing: Object.fromEntries(services.map((s) => [s.name, s.routing])),
    loadBalancer: {
      retries: '2, on connection failure only (retry-on conn-failure), with redispatch',
      backends: Object.fromEntries(backends.map((b) => [b.name, { ...b.timings, criteria: b.criteria }])),
    },
    instances: INSTANCES,
    serverSlots: Object.fromEntries(backends.map((b) => [b.name, b.slots])),
    virtualUsers: opts.users,
    catalogUsers: opts.catalogUsers,
    thinkMs: THINK_MS,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    maxRequestsPerScenario: MAX_REQUESTS_PER_SCENARIO,
    shutdownTimeoutSeconds: SHUTDOWN_TIMEOUT_SECONDS,
    node: process.version,
    haproxy: versionOf(HAPROXY_BIN, ['-v']),
    redis: versionOf('/usr/bin/redis-server', ['--version']),
    postgres: versionOf('/usr/lib/postgresql/15/bin/postgres', ['--version']),
    cpus: os.cpus().length,
  };

  const results: ScenarioResult[] = [];
  let abortedBy: string | undefined;
  try {
    log(`temp dir ${dir}`);
    const built = now();
    const entries = new Map(services.map((s) => [s.name, serviceEntry(s)]));
    log(
      `built ${[...entries].map(([name, entry]) => `${name} (${path.relative(ROOT, entry)})`).join(', ')} in ` +
        `${Math.round(now() - built)} ms (lib/bundling.ts; cached by content)`,
    );
    for (const b of backends) {
      const t = b.timings;
      log(
        `load balancer ${b.name}: ${b.criteria.length > 0 ? b.criteria.join(' or ') : 'every other path'}; inter ` +
          `${t.checkIntervalMs} ms, fall ${t.unhealthyThreshold}, rise ${t.healthyThreshold}, check timeout ` +
          `${t.checkTimeoutMs} ms, drain ${t.drainMs} ms (${t.source})`,
      );
    }
    const [data, cert] = await Promise.all([startDataTier(dir), makeCertificate(dir)]);
    log(
      `PostgreSQL :${data.postgres.port}, Redis primary :${data.redisPrimary.port}, replica ` +
        `:${data.redisReplica.port}, Redis endpoint proxy :${data.redisEndpoint.port}`,
    );
    const haproxy = await HAProxy.start({
      dir: path.join(dir, 'haproxy'),
      port: await freePort(),
      pemPath: cert.haproxyPemPath,
      backends,
    });
    log(`HAProxy ${haproxy.origin} (TLS), ${backends.map((b) => `${b.name} ${b.slots} server slots`).join(', ')}`);
    const filesDir = path.join(dir, 'files');
    fs.mkdirSync(filesDir, { recursive: true });
    // One region, one database server: the writer endpoint is the local primary, and so is the reader, both set
    // as the boot script sets them (DATABASE_HOST and DATABASE_READER_HOST): the reference service runs its
    // two-endpoint pool here too, through the database restart.
    const pg = data.postgres;
    // Each service as its own least-privilege role, made with the deploy's statements (drill/database-roles.ts).
    const logins = await provisionServiceRoles(pg, services, path.join(dir, 'database-logins'));
    log(
      `database roles (the deploy's statements): ${Object.values(logins)
        .map((l) => l.user)
        .join(', ')}`,
    );
    const stores = {
      database: {
        writerHost: pg.host,
        readerHost: pg.host,
        port: pg.port,
        name: pg.database,
        logins,
      },
      cache: { host: '127.0.0.1', port: data.redisEndpoint.port, password: data.redisPrimary.password },
      filesDir,
    };
    const fleets = services.map((service) => {
      const backend = haproxy.backend(service.name);
      return new Fleet({
        service,
        entry: entries.get(service.name)!,
        logDir: path.join(dir, 'instances'),
        environment: { ...serviceEnvironment(service, stores), ...loadEnvironment(service, opts.users) },
        backend,
        shutdownDrainSeconds: Math.ceil(backend.timings.drainMs / 1000),
        shutdownTimeoutSeconds: SHUTDOWN_TIMEOUT_SECONDS,
      });
    });
    // Every fleet at once; then each instance ready (the catalog creates its table at its first start).
    const launched = await Promise.all(fleets.map((f) => f.launchMany('v1', INSTANCES[f.service] ?? 1)));
    await Promise.all(fleets.map((f) => f.waitReady(20_000)));
    log(
      `fleets UP and ready: ${launched
        .flat()
        .map((i) => `${i.id} :${i.port} ${i.service}/srv${i.slot}`)
        .join(', ')}`,
    );
    const load = new LoadGenerator({
      origin: haproxy.origin,
      ca: cert.certPem,
      users: opts.users,
      catalogUsers: opts.catalogUsers,
      services,
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
      thinkMs: THINK_MS,
    });
    onCleanup('close the virtual users', () => load.close());
    await load.signIn();
    log(`${opts.users} virtual users signed in; ${opts.catalogUsers} catalog users`);

    const ctx: DrillContext = {
      data,
      haproxy,
      fleets,
      load,
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
      maxRequestsPerScenario: MAX_REQUESTS_PER_SCENARIO,
      log: (m) => log(`  ${m}`),
    };
    const selected = SCENARIOS.filter((s) => opts.scenarios.length === 0 || opts.scenarios.includes(s.name));
    for (const scenario of selected) {
      if (isShuttingDown()) break;
      log(`scenario ${scenario.name}: ${scenario.title}`);
      let outcome: ScenarioResult;
      try {
        outcome = await withTimeout(`scenario ${scenario.name}`, scenario.run(ctx), scenario.timeoutMs);
      } catch (err) {
        const zero = { requests: 0, errors: 0, errorWindowMs: 0, p50Ms: 0, p99Ms: 0, rps: 0, durationMs: 0 };
        outcome = result(scenario.name, scenario.title, [`aborted: ${errorMessage(err)}`], [], zero, {}, []);
      }
      results.push(outcome);
      const m = outcome.metrics;
      const each = Object.entries(outcome.services ?? {}).map(([s, sm]) => `${s} ${sm.requests}/${sm.errors}`);
      log(
        `${outcome.verdict} ${scenario.name}: ${m.requests} requests, ${m.errors} errors (${each.join(', ')}), ` +
          `p99 ${m.p99Ms} ms, ${(m.durationMs / 1000).toFixed(1)} s`,
      );
      if (outcome.reasons[0]?.startsWith('aborted:')) {
        // A scenario that threw may have left the system half-way (e.g. a stuck load run): stop here.
        abortedBy = `${scenario.name}: ${outcome.reasons[0]}`;
        break;
      }
    }
    results.push(await durability(ctx));
  } catch (err) {
    abortedBy = errorMessage(err);
    process.stderr.write(`drill: ${abortedBy}\n`);
  }

  const ok = abortedBy === undefined && results.length > 0 && results.every((r) => r.verdict === 'PASS');
  const wallMs = Math.round(now() - wallStart);
  console.log(`\n${renderTable(results)}\n`);
  writeReport(opts.report, { ok, startedAt, wallMs, settings, scenarios: results, abortedBy });
  console.log(`report: ${path.relative(process.cwd(), opts.report)}`);
  if (!ok) console.log(`logs: ${path.relative(process.cwd(), keepLogs(dir, opts.report))}`);
  else fs.rmSync(logsDirOf(opts.report), { recursive: true, force: true });
  await cleanup();
  program.finish();
  console.log(`drill ${ok ? 'PASSED' : 'FAILED'} in ${(wallMs / 1000).toFixed(1)} s`);
  return ok ? 0 : 1;
}

runMain('drill', main);
