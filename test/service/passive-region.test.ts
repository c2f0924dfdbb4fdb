/**
 * The service in the passive region, as a real process on real read-only stores (issue 10), then promoted:
 *
 * - database: a PostgreSQL hot standby of the primary (`pg_basebackup -R`) behind the reader endpoint, and a
 *   writer endpoint that does not answer (a TCP forwarder to a closed port: AWS lists a secondary cluster's
 *   writer endpoint as inactive);
 * - session store: a Redis replica of the primary (read-only, as a Global Datastore secondary);
 * - shared files: a directory the test writes as the replication does, bind-mounted read-only into the
 *   service's own mount namespace (`unshare -m`), so the service gets EROFS as on an EFS replication
 *   destination.
 *
 * Promotion does what the region switch does in AWS: the standby is promoted and the writer endpoint points at
 * it, the replica becomes a primary, the files become writable. The same process must then take writes.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { READ_ONLY_CACHE_MESSAGE, READ_ONLY_DATABASE_MESSAGE, READ_ONLY_FILES_MESSAGE } from '../../service/src/errors';
import { waitForReplicaLink } from '../../drill/gameday-regions';
import { TcpProxy } from '../../drill/tcp-proxy';
import {
  freePort,
  startPostgresStandby,
  startRedis,
  type PostgresStandby,
  type RedisServer,
} from '../../support/local-servers';
import {
  buildServiceBundle,
  closeAll,
  createTestApp,
  httpRequest,
  serverEnv,
  signIn,
  startBackends,
  tempUploads,
  TEST_PASSWORD,
  testConfig,
  userFilesDir,
  waitFor,
  type Backends,
  type HttpResponse,
} from './helpers';

let primary: Backends;
let standby: PostgresStandby;
let replica: RedisServer;
let writerEndpoint: TcpProxy;
/** What the replication writes: the directory the service sees, read-only, at {@link filesMount}. */
let replicated: string;
let filesMount: string;
let service: { proc: ChildProcess; port: number; output: () => string };
/** A session made in the primary region (replicated to the passive one). */
let primaryCookie: string;
/** alice's files directory in the replicated files (`users/<id>`). */
let aliceFiles: string;

beforeAll(async () => {
  primary = await startBackends();
  // Written in the primary region before the loss: a note, a session, a file.
  const writer = await createTestApp(testConfig(primary));
  try {
    primaryCookie = await signIn(writer.app, 'alice');
    const note = await writer.app.inject({
      method: 'POST',
      url: '/notes',
      payload: { text: 'written in the primary region' },
      headers: { cookie: primaryCookie },
    });
    expect(note.statusCode).toBe(201);
  } finally {
    await writer.close();
  }
  standby = await startPostgresStandby({ dir: path.join(primary.root, 'standby'), primary: primary.pg });
  await standby.waitForCatchUp();
  replica = await startRedis({ dir: path.join(primary.root, 'replica'), replicaOf: primary.redis });
  await waitForReplicaLink(replica);
  replicated = primary.filesDir;
  aliceFiles = await userFilesDir(primary, 'alice', replicated);
  fs.mkdirSync(aliceFiles, { recursive: true });
  fs.writeFileSync(path.join(aliceFiles, 'report.txt'), 'replicated from the primary region\n');
  filesMount = path.join(primary.root, 'files-mount');
  fs.mkdirSync(filesMount);
  // Nothing listens behind it yet: the inactive writer endpoint of a secondary cluster.
  writerEndpoint = await TcpProxy.start({ host: '127.0.0.1', port: await freePort() });

  const bundle = path.join(primary.root, 'dist', 'server.js');
  await buildServiceBundle(bundle);
  const port = await freePort();
  const env = serverEnv(primary, port, {
    DATABASE_HOST: '127.0.0.1',
    DATABASE_PORT: String(writerEndpoint.port),
    DATABASE_READER_HOST: standby.host,
    DATABASE_READER_PORT: String(standby.port),
    REDIS_HOST: replica.host,
    REDIS_PORT: String(replica.port),
    REDIS_PASSWORD: replica.password,
    FILES_DIR: filesMount,
    MAINTENANCE_INTERVAL_SECONDS: '1',
    INSTANCE_ID: 'i-passive',
  });
  // The service's own mount namespace: the replicated directory, bind-mounted read-only at FILES_DIR.
  const script = 'mount --bind "$1" "$2" && mount -o remount,bind,ro "$2" && shift 2 && exec "$@"';
  const proc = spawn(
    'unshare',
    ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', replicated, filesMount, process.execPath, bundle],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  proc.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  proc.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  service = { proc, port, output: () => output };
  await waitFor(
    async () => {
      if (proc.exitCode !== null) throw new Error(`the passive service exited during start-up:\n${output}`);
      return (await httpRequest(port, { path: '/health' }).catch(() => undefined))?.status === 200;
    },
    20_000,
    'the passive service to answer /health',
  );
}, 90_000);

afterAll(() =>
  closeAll(
    () => service?.proc.kill('SIGKILL'),
    () => writerEndpoint?.close(),
    () => replica?.stop(),
    () => standby?.stop(),
    () => primary?.stop(),
  ),
);

function request(method: string, url: string, body?: string | Buffer, contentType = 'application/json') {
  return httpRequest(service.port, {
    method,
    path: url,
    headers: {
      cookie: primaryCookie,
      ...(body === undefined ? {} : { 'content-type': contentType }),
    },
    body,
  });
}

const json = (r: HttpResponse) => JSON.parse(r.body) as Record<string, any>;

/** Sign-in bodies: alice signed up in the primary region; bob has no account until the promotion. */
const alice = JSON.stringify({ user: 'alice', password: TEST_PASSWORD });
const bob = JSON.stringify({ user: 'bob', password: TEST_PASSWORD });

describe('the passive region: every store a read-only replica', () => {
  test('the service never wrote through the read-only mount (EROFS in its namespace)', () => {
    const inside = spawnSync('nsenter', [`--target=${service.proc.pid}`, '--mount', 'touch', `${filesMount}/x`], {
      encoding: 'utf8',
    });
    expect(inside.status).not.toBe(0);
    expect(inside.stderr).toMatch(/Read-only file system/);
  });

  test('/health/ready answers 200 ready, each store reporting writable: false', async () => {
    const response = await request('GET', '/health/ready');
    expect(response.status).toBe(200);
    expect(json(response)).toMatchObject({
      status: 'ready',
      database: { ok: true, writable: false },
      cache: { ok: true, writable: false },
      files: { ok: true, writable: false, reason: 'EROFS' },
    });
  });

  test('serves every read: the session made in the primary, notes, files', async () => {
    const session = await request('GET', '/session');
    expect(session.status).toBe(200);
    expect(json(session)).toMatchObject({ user: 'alice' });
    const notes = await request('GET', '/notes');
    expect(notes.status).toBe(200);
    expect(JSON.stringify(json(notes))).toContain('written in the primary region');
    const file = await request('GET', '/files/report.txt');
    expect(file.status).toBe(200);
    expect(file.body).toBe('replicated from the primary region\n');
  });

  test.each([
    ['sign-in', 'POST', '/session', alice, 'application/json', READ_ONLY_CACHE_MESSAGE],
    [
      'sign-in with a wrong password',
      'POST',
      '/session',
      alice.replace('staple', 'stapler'),
      'application/json',
      READ_ONLY_CACHE_MESSAGE,
    ],
    ['sign-up', 'POST', '/users', bob, 'application/json', READ_ONLY_CACHE_MESSAGE],
    ['note', 'POST', '/notes', JSON.stringify({ text: 'in B' }), 'application/json', READ_ONLY_DATABASE_MESSAGE],
    ['upload', 'PUT', '/files/new.txt', 'new file', 'application/octet-stream', READ_ONLY_FILES_MESSAGE],
    ['session counter', 'POST', '/session/counter', undefined, 'application/json', READ_ONLY_CACHE_MESSAGE],
    ['sign-out', 'DELETE', '/session', undefined, 'application/json', READ_ONLY_CACHE_MESSAGE],
  ])('answers a write (%s) 503 with the read-only message, never 500', async (_what, method, url, body, type, msg) => {
    const response = await request(method, url, body, type);
    expect(response.status).toBe(503);
    expect(json(response)).toEqual({ error: msg });
  });

  test('leaves no temporary upload file and keeps running', () => {
    expect(tempUploads(replicated)).toEqual([]);
    expect(fs.existsSync(path.join(aliceFiles, 'new.txt'))).toBe(false);
    expect(service.proc.exitCode).toBeNull();
  });
});

describe('after promotion, the same process takes writes with no restart', () => {
  beforeAll(async () => {
    await standby.promote();
    writerEndpoint.repoint({ host: standby.host, port: standby.port });
    await replica.promote();
    const remount = spawnSync(
      'nsenter',
      [`--target=${service.proc.pid}`, '--mount', 'mount', '-o', 'remount,bind,rw', filesMount],
      { encoding: 'utf8' },
    );
    if (remount.status !== 0) throw new Error(`remount failed: ${remount.stderr}`);
  }, 90_000);

  test('/health/ready reports every store writable, within the writer retry time', async () => {
    await waitFor(
      async () => {
        const body = json(await request('GET', '/health/ready'));
        return body.database?.writable === true && body.cache?.writable === true && body.files?.writable === true;
      },
      15_000,
      'every store to report writable',
    );
  });

  test('a note, a sign-up, a sign-in and an upload are accepted', async () => {
    expect((await request('POST', '/notes', JSON.stringify({ text: 'written after promotion' }))).status).toBe(201);
    const upload = await request('PUT', '/files/after.txt', 'after promotion', 'application/octet-stream');
    expect(upload.status).toBe(201);
    expect(fs.readFileSync(path.join(aliceFiles, 'after.txt'), 'utf8')).toBe('after promotion');
    expect((await request('POST', '/users', bob)).status).toBe(201);
    // Last: signing in again replaces the session the other requests use.
    expect((await request('POST', '/session', bob)).status).toBe(201);
  });

  test('it is the process started read-only (no restart) and it logged no 500', () => {
    expect(service.proc.exitCode).toBeNull();
    const statuses = service
      .output()
      .split('\n')
      .filter((line) => line.includes('"msg":"request"'))
      .map((line) => (JSON.parse(line) as { status: number }).status);
    expect(statuses.length).toBeGreaterThan(5);
    expect(statuses.filter((s) => s >= 500 && s !== 503)).toEqual([]);
  });
});
