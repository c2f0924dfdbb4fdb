/**
 * The entry point as a real process: the bundle the deploy ships (lib/bundling.ts, as `npm run build:service`
 * builds it), started with environment variables, stopped with signals.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { freePort } from '../../support/local-servers';
import {
  buildServiceBundle,
  closeAll,
  httpRequest,
  rawRequest,
  serverEnv,
  startBackends,
  tempUploads,
  TEST_PASSWORD,
  userFilesDir,
  waitFor,
  type Backends,
} from './helpers';

let backends: Backends;
let bundle: string;
const running = new Set<ChildProcess>();

beforeAll(async () => {
  backends = await startBackends();
  bundle = path.join(backends.root, 'dist', 'server.js');
  await buildServiceBundle(bundle);
});

afterAll(() =>
  closeAll(
    () => running.forEach((proc) => proc.kill('SIGKILL')),
    () => backends?.stop(),
  ),
);

interface ServerProcess {
  readonly proc: ChildProcess;
  readonly port: number;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code (or the signal's name). */
  readonly exited: Promise<number | string>;
}

async function startServer(extraEnv: Record<string, string> = {}, waitUntilHealthy = true): Promise<ServerProcess> {
  const port = await freePort();
  const proc = spawn(process.execPath, [bundle], {
    env: serverEnv(backends, port, extraEnv),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(proc);
  let output = '';
  proc.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  proc.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | string>((resolve) =>
    proc.on('exit', (code, signal) => {
      running.delete(proc);
      resolve(code ?? signal ?? 'unknown');
    }),
  );
  const server = { proc, port, output: () => output, exited };
  if (waitUntilHealthy) {
    await waitFor(
      async () => {
        if (proc.exitCode !== null) throw new Error(`server exited during start-up:\n${output}`);
        return (await httpRequest(port, { path: '/health' }).catch(() => undefined))?.status === 200;
      },
      15_000,
      'the server to answer /health',
    );
  }
  return server;
}

/** Resolves with the exit code, or fails when the process is still running after `timeoutMs`. */
async function exitWithin(server: ServerProcess, timeoutMs: number): Promise<number | string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`server still running after ${timeoutMs} ms:\n${server.output()}`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([server.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function refusesConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

function postJson(port: number, urlPath: string, body: unknown) {
  return httpRequest(port, {
    method: 'POST',
    path: urlPath,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

/** Signs up (a 409 means the account exists) and signs in `user`; the Cookie header value. */
async function signIn(port: number, user = 'shutdown-test'): Promise<string> {
  const credentials = { user, password: TEST_PASSWORD };
  expect([201, 409]).toContain((await postJson(port, '/users', credentials)).status);
  const response = await postJson(port, '/session', credentials);
  expect(response.status).toBe(201);
  return String(response.headers['set-cookie']).split(';')[0]!;
}

/** Starts an upload of `size` bytes and sends only the first `sent`; resolves once the server is writing it. */
async function startSlowUpload(server: ServerProcess, name: string, size: number, sent: number) {
  const cookie = await signIn(server.port);
  const request = rawRequest(
    server.port,
    `PUT /files/${name} HTTP/1.1\r\nHost: test\r\nContent-Type: application/octet-stream\r\n` +
      `Cookie: ${cookie}\r\nContent-Length: ${size}\r\n\r\n`,
  );
  request.socket.write(Buffer.alloc(sent, 1));
  await waitFor(() => tempUploads(backends.filesDir).length > 0, 5000, 'the upload to be in progress');
  return request;
}

describe('configuration errors', () => {
  test('exit 1 at start with one message naming the variable', async () => {
    const server = await startServer({ DATABASE_HOST: '', REDIS_PORT: 'sixty' }, false);
    expect(await exitWithin(server, 10_000)).toBe(1);
    expect(server.output()).toBe(
      'Invalid configuration: DATABASE_HOST is required; REDIS_PORT must be an integer from 1 to 65535 (got "sixty")\n',
    );
  });
});

describe('start-up', () => {
  test('applies migrations, serves, signs up and in with its own bundle as password worker, never logs a password', async () => {
    const server = await startServer();
    try {
      const ready = await httpRequest(server.port, { path: '/health/ready' });
      expect(ready.status).toBe(200);
      expect(ready.headers['x-service-version']).toBe('9.9.9-spawned');
      expect(ready.headers['x-instance-id']).toBe('i-spawned');
      // server.ts gives the password pool its own file: the worker threads run the bundle.
      await signIn(server.port, 'logged-user');
      const [row] = await backends.pg.adminQuery("SELECT password_hash FROM users WHERE name = 'logged-user'");
      expect(row!.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
      expect(server.output()).toContain('"msg":"migrations done"');
      expect(server.output()).toContain('"msg":"request"');
      expect(server.output()).not.toContain(backends.pg.password);
      expect(server.output()).not.toContain(backends.redis.password);
      expect(server.output()).not.toContain(TEST_PASSWORD);
    } finally {
      server.proc.kill('SIGTERM');
      await exitWithin(server, 10_000);
    }
  });
});

describe('graceful shutdown', () => {
  test('SIGTERM: health turns 503 at once, the in-flight request completes after the listener closes, exit 0', async () => {
    const server = await startServer({ SHUTDOWN_DRAIN_SECONDS: '1' });
    const upload = await startSlowUpload(server, 'in-flight.bin', 20_000, 10_000);

    const signalled = Date.now();
    server.proc.kill('SIGTERM');
    let health = await httpRequest(server.port, { path: '/health' });
    await waitFor(
      async () => {
        health = await httpRequest(server.port, { path: '/health' });
        return health.status === 503;
      },
      900,
      '/health to turn 503',
    );
    expect(JSON.parse(health.body)).toEqual({ status: 'draining', version: '9.9.9-spawned', instanceId: 'i-spawned' });
    const ready = await httpRequest(server.port, { path: '/health/ready' });
    expect(ready.status).toBe(503);

    // After the drain period the listener closes; the upload started before is still being served.
    await waitFor(() => refusesConnections(server.port), 5000, 'the listener to close');
    expect(Date.now() - signalled).toBeGreaterThanOrEqual(1000);
    expect(server.proc.exitCode).toBeNull();
    upload.socket.write(Buffer.alloc(10_000, 2));
    const response = await upload.response;
    expect(response).toMatch(/^HTTP\/1\.1 201 /);
    expect(response).toContain('{"name":"in-flight.bin","size":20000}');

    expect(await exitWithin(server, 10_000)).toBe(0);
    const userDir = await userFilesDir(backends, 'shutdown-test');
    expect(fs.statSync(path.join(userDir, 'in-flight.bin')).size).toBe(20_000);
    expect(server.output()).toContain('"msg":"shutdown: done"');
  });

  test('SIGINT stops the same way', async () => {
    const server = await startServer();
    server.proc.kill('SIGINT');
    expect(await exitWithin(server, 10_000)).toBe(0);
  });

  test('exits 1 when shutdown takes longer than SHUTDOWN_TIMEOUT_SECONDS', async () => {
    const server = await startServer({ SHUTDOWN_TIMEOUT_SECONDS: '1' });
    const upload = await startSlowUpload(server, 'never-finished.bin', 20_000, 1000);
    const signalled = Date.now();
    server.proc.kill('SIGTERM');
    expect(await exitWithin(server, 10_000)).toBe(1);
    expect(Date.now() - signalled).toBeGreaterThanOrEqual(900);
    expect(server.output()).toContain('shutdown: time limit reached, exiting');
    upload.socket.destroy();
    const userDir = await userFilesDir(backends, 'shutdown-test');
    expect(fs.existsSync(path.join(userDir, 'never-finished.bin'))).toBe(false);
  });
});
