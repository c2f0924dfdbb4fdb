/**
 * The game day's two regions on loopback, each with its own stores, load balancer (HAProxy, the ALB stand-in,
 * a backend per service routed by path) and a fleet per service, and what connects them:
 *
 * - database: PostgreSQL; the passive region's is a hot standby of the active one (`pg_basebackup -R`), as the
 *   secondary cluster of an Aurora global database. Each region's instances reach it through the region's
 *   writer endpoint (a TCP forwarder: pointed at nothing while the region is passive, as AWS lists a secondary
 *   cluster's writer endpoint as inactive) and its reader endpoint (the server itself). As Aurora's endpoints,
 *   both answer on one port under two names: the server on 127.0.0.1, the writer endpoint on a loopback address
 *   of the region's own (127.0.0.2, ...) at the server's port, so every service gets the boot script's
 *   `DATABASE_HOST`, `DATABASE_READER_HOST` and one `DATABASE_PORT`;
 * - session cache: Redis; the passive region's is a replica of the active one (a Global Datastore secondary),
 *   reached through the region's primary endpoint (a TCP forwarder);
 * - shared files: a directory per region; the passive one receives the active one's files by a replication
 *   loop (EFS replication) and is bind-mounted read-only where the instances see it (EROFS), in the game day's
 *   own mount namespace, until promotion remounts it read-write.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  freePort,
  startPostgresStandby,
  startRedis,
  type PostgresServer,
  type PostgresStandby,
  type RedisServer,
} from '../support/local-servers';
import type { ServiceDefinition } from '../lib/config/types';
import { onCleanup } from './cleanup';
import { Fleet } from './fleet';
import { HAProxy, serviceBackends } from './haproxy';
import { replicationInfo } from './servers';
import { loadEnvironment, serviceEnvironment, type ServiceStores } from './services';
import { TcpProxy } from './tcp-proxy';
import { sleep } from './util';
import type { ServiceDatabaseLogins } from './database-roles';

/** A region's name in the game day: `a` is where the environment was created, `b` the other. */
export type RegionName = 'a' | 'b';

/** Runs `mount` with `args` in the game day's mount namespace; throws with its message on failure. */
function mount(...args: string[]): void {
  const result = spawnSync('mount', args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`mount ${args.join(' ')} failed: ${result.stderr.trim()}`);
}

/** The shared files of a region: the directory on disk and the mount the instances use. */
export class SharedFiles {
  /** Bind-mounts `source` at `mountpoint`, read-only when `readOnly`. */
  public static create(source: string, mountpoint: string, readOnly: boolean): SharedFiles {
    fs.mkdirSync(source, { recursive: true });
    fs.mkdirSync(mountpoint, { recursive: true });
    mount('--bind', source, mountpoint);
    const files = new SharedFiles(source, mountpoint);
    if (readOnly) mount('-o', 'remount,bind,ro', mountpoint);
    onCleanup(`unmount ${mountpoint}`, () => void spawnSync('umount', ['-l', mountpoint]));
    return files;
  }

  private constructor(
    /** The directory on disk (what the replication writes). */
    public readonly source: string,
    /** What the instances see as FILES_DIR. */
    public readonly mountpoint: string,
  ) {}

  /**
   * Remounts read-only (a replication destination) or read-write (replication deleted: promoted). Linux refuses
   * a read-only remount (EBUSY) while a file on the mount is open for writing (an upload in progress): it is
   * retried every 20 ms for up to 5 s.
   */
  public async setReadOnly(readOnly: boolean): Promise<void> {
    const deadline = Date.now() + 5000;
    for (;;) {
      try {
        mount('-o', `remount,bind,${readOnly ? 'ro' : 'rw'}`, this.mountpoint);
        return;
      } catch (err) {
        if (!/busy/i.test(String(err)) || Date.now() > deadline) throw err;
        await sleep(20);
      }
    }
  }
}

/**
 * EFS replication stand-in: copies every file of `from`, in every directory below it (the accounts' `users/<id>/`),
 * that is new or changed into `to` (a temporary file renamed into place), every `intervalMs`, until stopped.
 * Hidden files and directories (temporary uploads, health probes) are not copied. Lag is the interval plus one
 * pass.
 */
export class FileReplication {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;
  /** Files copied so far. */
  public copied = 0;

  constructor(
    public readonly from: string,
    public readonly to: string,
    private readonly intervalMs: number,
  ) {}

  /** Starts the loop. */
  public start(): void {
    this.timer ??= setInterval(() => void this.syncOnce(), this.intervalMs);
    onCleanup(`stop file replication ${this.from} -> ${this.to}`, () => this.stop());
  }

  /** Stops the loop; resolves when a pass in progress has finished. */
  public async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => 0);
  }

  /**
   * A complete pass that starts after this call: waits for a pass in progress (it may have listed the
   * directory before the latest files arrived), then runs a new one. Returns the files that pass copied.
   */
  public async flush(): Promise<number> {
    await this.running?.catch(() => 0);
    return this.syncOnce();
  }

  /** One pass (never two at once: joins the one in progress); returns the number of files copied. */
  public syncOnce(): Promise<number> {
    this.running ??= this.pass().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async pass(): Promise<number> {
    const copied = await this.copyDirectory('');
    this.copied += copied;
    return copied;
  }

  /** Copies the new and changed files of `from/dir` into `to/dir`, and its directories' recursively. */
  private async copyDirectory(dir: string): Promise<number> {
    let copied = 0;
    const entries = await fs.promises.readdir(path.join(this.from, dir), { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const relative = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        await fs.promises.mkdir(path.join(this.to, relative), { recursive: true }).catch(() => undefined);
        copied += await this.copyDirectory(relative);
        continue;
      }
      const source = path.join(this.from, relative);
      const target = path.join(this.to, relative);
      try {
        const [s, t] = await Promise.all([fs.promises.stat(source), fs.promises.stat(target).catch(() => undefined)]);
        if (!s.isFile() || (t && t.size === s.size && t.mtimeMs >= s.mtimeMs)) continue;
        const temp = path.join(this.to, dir, `.replicating-${entry.name}`);
        await fs.promises.copyFile(source, temp);
        await fs.promises.rename(temp, target);
        copied++;
      } catch {
        // Renamed or removed meanwhile: the next pass sees it.
      }
    }
    return copied;
  }
}

/**
 * Starts a TCP forwarder on `listen` to a port where nothing listens: a writer endpoint that is inactive. Its
 * name is `listen.host`, a loopback address of the region's own, and its port the database server's.
 */
export async function inactiveEndpoint(listen: { host: string; port: number }): Promise<TcpProxy> {
  const endpoint = await TcpProxy.start({ host: '127.0.0.1', port: await freePort() }, listen);
  onCleanup(`stop the writer endpoint ${listen.host}:${listen.port}`, () => endpoint.close());
  return endpoint;
}

/** Points an endpoint at nothing (the writer endpoint of a region that became passive). */
export async function deactivate(endpoint: TcpProxy): Promise<void> {
  endpoint.repoint({ host: '127.0.0.1', port: await freePort() });
}

/** One region's stores and endpoints. */
export interface RegionStores {
  /** PostgreSQL: the primary, or a hot standby. */
  readonly database: PostgresServer | PostgresStandby;
  /** Redis: the primary, or a replica. */
  readonly cache: RedisServer;
  /** The shared files. */
  readonly files: SharedFiles;
  /** The region's writer endpoint of the database (on its own loopback address, at the database's port). */
  readonly writerEndpoint: TcpProxy;
  /** The region's primary endpoint of the cache. */
  readonly cacheEndpoint: TcpProxy;
  /** Each service's database role and password file: the same in every region (the roles replicate). */
  readonly logins: ServiceDatabaseLogins;
}

/** One region: stores, load balancer and a fleet per service. */
export interface Region {
  readonly name: RegionName;
  readonly stores: RegionStores;
  readonly haproxy: HAProxy;
  /** One fleet per service, in the drill's service order. */
  readonly fleets: readonly Fleet[];
}

/** The fleet of `service` in `region`. */
export function regionFleet(region: Region, service: string): Fleet {
  const found = region.fleets.find((f) => f.service === service);
  if (!found) throw new Error(`region ${region.name} runs no ${service} fleet`);
  return found;
}

/** Every instance in service in `region`, of every service. */
export function regionInstances(region: Region): Fleet['active'] {
  return region.fleets.flatMap((f) => f.active);
}

/** A region's stores as the instances reach them (the boot script's endpoints). */
export function regionServiceStores(stores: RegionStores): ServiceStores {
  const db = stores.database;
  return {
    database: {
      writerHost: stores.writerEndpoint.host,
      readerHost: db.host,
      port: db.port,
      name: db.database,
      logins: stores.logins,
    },
    cache: { host: '127.0.0.1', port: stores.cacheEndpoint.port, password: stores.cache.password },
    filesDir: stores.files.mountpoint,
  };
}

/** Options of {@link startRegion}. */
export interface StartRegionOptions {
  readonly name: RegionName;
  readonly dir: string;
  readonly stores: RegionStores;
  /** The services the region runs, and each one's built entry. */
  readonly services: readonly ServiceDefinition[];
  readonly entries: ReadonlyMap<string, string>;
  readonly pemPath: string;
  /** Instances per service. */
  readonly instances: number;
  /** Server slots per backend. */
  readonly slots: number;
  readonly shutdownTimeoutSeconds: number;
  /** Version label of the instances. */
  readonly version: string;
  /** Virtual users of the reference service the load generator runs (its sign-ups come from one address). */
  readonly users: number;
}

/** Starts a region's load balancer and a fleet per service over its stores; waits until every instance is ready. */
export async function startRegion(opts: StartRegionOptions): Promise<Region> {
  const haproxy = await HAProxy.start({
    dir: path.join(opts.dir, 'haproxy'),
    port: await freePort(),
    pemPath: opts.pemPath,
    backends: serviceBackends(opts.services, () => opts.slots),
  });
  const stores = regionServiceStores(opts.stores);
  const fleets = opts.services.map((service) => {
    const backend = haproxy.backend(service.name);
    return new Fleet({
      service,
      entry: opts.entries.get(service.name)!,
      logDir: path.join(opts.dir, 'instances'),
      environment: {
        ...serviceEnvironment(service, stores),
        ...loadEnvironment(service, opts.users),
        // Retries of pending migrations and upload sweeps after a promotion, within a second.
        MAINTENANCE_INTERVAL_SECONDS: '1',
      },
      region: opts.name,
      backend,
      shutdownDrainSeconds: Math.ceil(backend.timings.drainMs / 1000),
      shutdownTimeoutSeconds: opts.shutdownTimeoutSeconds,
    });
  });
  await Promise.all(fleets.map((f) => f.launchMany(opts.version, opts.instances)));
  // The catalog creates its table in the active region at its first start; the passive one gets it by replication.
  await Promise.all(fleets.map((f) => f.waitReady(20_000)));
  return { name: opts.name, stores: opts.stores, haproxy, fleets };
}

/**
 * Stores of a passive region made from the active one's: a hot standby of its database, a replica of its
 * cache, and files replicated from its directory into `dir/files`, mounted read-only at `dir/files-mount`; its
 * writer endpoint, inactive, on `writerHost` at the standby's port.
 */
export async function passiveStores(
  dir: string,
  active: { database: PostgresServer; cache: RedisServer; filesSource: string; logins: ServiceDatabaseLogins },
  writerHost: string,
): Promise<{ stores: RegionStores; replication: FileReplication }> {
  const database = await startPostgresStandby({ dir: path.join(dir, 'postgres'), primary: active.database });
  onCleanup(`stop ${dir} postgres`, () => database.stop());
  const cache = await startRedis({ dir: path.join(dir, 'redis'), replicaOf: active.cache });
  onCleanup(`stop ${dir} redis`, () => cache.stop());
  await waitForReplicaLink(cache);
  const files = SharedFiles.create(path.join(dir, 'files'), path.join(dir, 'files-mount'), true);
  const replication = new FileReplication(active.filesSource, files.source, 200);
  await replication.flush();
  replication.start();
  const writer = await inactiveEndpoint({ host: writerHost, port: database.port });
  const cacheProxy = await TcpProxy.start(cache);
  onCleanup('stop a cache endpoint forwarder', () => cacheProxy.close());
  return {
    stores: { database, cache, files, writerEndpoint: writer, cacheEndpoint: cacheProxy, logins: active.logins },
    replication,
  };
}

/** Waits (up to 20 s) for a Redis replica's link to its primary to be up. */
export async function waitForReplicaLink(cache: RedisServer): Promise<void> {
  const deadline = Date.now() + 20_000;
  while ((await replicationInfo(cache)).get('master_link_status') !== 'up') {
    if (Date.now() > deadline) throw new Error(`Redis replica :${cache.port} did not sync within 20 s`);
    await sleep(50);
  }
}

/**
 * Waits (up to 20 s) until `replica` has processed everything `primary` had written when called (its
 * `slave_repl_offset` reaches the primary's `master_repl_offset`).
 */
export async function waitForCacheCatchUp(primary: RedisServer, replica: RedisServer): Promise<void> {
  const target = Number((await replicationInfo(primary)).get('master_repl_offset') ?? -1);
  const deadline = Date.now() + 20_000;
  while (Number((await replicationInfo(replica)).get('slave_repl_offset') ?? -1) < target) {
    if (Date.now() > deadline) throw new Error(`Redis replica :${replica.port} did not catch up within 20 s`);
    await sleep(20);
  }
}
