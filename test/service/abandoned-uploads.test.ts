/**
 * Uploads their clients abandon, over real connections to a listening server, at each stage: while the session
 * is looked up, while the temporary file is being opened, and with a Content-Length shorter than the body (the
 * rest is not HTTP) before the client goes. None may leave a `.upload-*` file or a request that never ends: each
 * request leaves exactly one access-log line, written when its work is over. And a full file system is a 503.
 *
 * `open` of node:fs/promises is wrapped (calling through by default) so a test can hold the opening of temporary
 * files, or open /dev/full instead.
 */
jest.mock('node:fs/promises', () => {
  const actual = jest.requireActual<typeof import('node:fs/promises')>('node:fs/promises');
  // A plain pass-through: jest.fn(actual.open) itself left some opens pending under load.
  return { ...actual, open: jest.fn((...args: Parameters<typeof actual.open>) => actual.open(...args)) };
});

import * as fsp from 'node:fs/promises';
import * as net from 'node:net';
import { Redis } from 'ioredis';
import {
  accessLines,
  closeAll,
  createTestApp,
  listenOnLoopback,
  signIn,
  startBackends,
  tempUploads,
  testConfig,
  userFilesDir,
  waitFor,
  type Backends,
  type TestApp,
} from './helpers';

const realOpen = jest.requireActual<typeof import('node:fs/promises')>('node:fs/promises').open;
const open = fsp.open as jest.MockedFunction<typeof fsp.open>;

let backends: Backends;
let service: TestApp;
let port: number;
let cookie: string;
/** Requests that reached the server (its 'request' event). */
let received = 0;

beforeAll(async () => {
  backends = await startBackends();
  service = await createTestApp(testConfig(backends, { maxUploadBytes: 64 * 1024 }));
  service.app.server.on('request', () => received++);
  port = await listenOnLoopback(service.app);
  cookie = await signIn(service.app, 'uploader');
});

afterAll(() =>
  closeAll(
    () => service?.close(),
    () => backends?.stop(),
  ),
);

afterEach(() => {
  open.mockImplementation((...args) => realOpen(...args));
});

/** Pauses every command of the session store for `ms`: the session lookups of the uploads wait meanwhile. */
async function pauseSessionStore(ms: number): Promise<void> {
  const admin = new Redis({ host: backends.redis.host, port: backends.redis.port, password: backends.redis.password });
  try {
    await admin.call('CLIENT', 'PAUSE', String(ms), 'ALL');
  } finally {
    admin.disconnect();
  }
}

/** Opens a connection and sends an upload's head and the first part of its body (or all of `body`). */
function startUpload(name: string, declaredLength: number, body: string): net.Socket {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  socket.write(
    `PUT /files/${name} HTTP/1.1\r\nHost: test\r\nContent-Type: application/octet-stream\r\n` +
      `Cookie: ${cookie}\r\nContent-Length: ${declaredLength}\r\n\r\n${body}`,
  );
  return socket;
}

function openConnections(): Promise<number> {
  return new Promise((resolve, reject) =>
    service.app.server.getConnections((err, count) => (err ? reject(err) : resolve(count))),
  );
}

function linesOf(prefix: string): Record<string, unknown>[] {
  return accessLines(service).filter((line) => String(line.path ?? '').startsWith(`/files/${prefix}`));
}

/** {@link waitFor}, failing with what was left behind: temporary files and access-log lines. */
async function waitForUploads(check: () => boolean, what: string): Promise<void> {
  try {
    await waitFor(check, 3000, what);
  } catch (err) {
    const left = tempUploads(backends.filesDir).length;
    throw new Error(`${(err as Error).message}: ${left} temporary upload files left, ${linesOf('').length} lines`, {
      cause: err,
    });
  }
}

describe('an upload abandoned by its client', () => {
  test('at any stage leaves no temporary file, and each request one access-log line (50 uploads)', async () => {
    const firstLine = accessLines(service).length;
    const sockets: net.Socket[] = [];

    // 1. While the session is looked up (20), and with a Content-Length shorter than the body, the rest not HTTP
    //    (15): the clients leave before the session store answers.
    await pauseSessionStore(600);
    const seen = received;
    for (let i = 0; i < 20; i++) sockets.push(startUpload(`lookup-${i}.bin`, 4096, 'x'.repeat(100)));
    for (let i = 0; i < 15; i++) sockets.push(startUpload(`short-${i}.bin`, 5, 'hello, and then some junk\r\n\r\n'));
    await waitFor(() => received - seen === 35, 2000, 'the 35 requests to reach the server');
    sockets.splice(0).forEach((socket) => socket.destroy());

    // Once the session store answers again, these 35 go on, and must stop without a trace.
    await waitForUploads(
      () => linesOf('lookup-').length === 20 && linesOf('short-').length === 15,
      'the 35 uploads abandoned during the session lookup to end',
    );
    expect(tempUploads(backends.filesDir)).toEqual([]);

    // 2. While the temporary file is being opened (15): the clients leave before the open completes.
    let releaseOpens!: () => void;
    const opensHeld = new Promise<void>((resolve) => (releaseOpens = resolve));
    let holding = 0;
    open.mockImplementation(async (file, ...rest) => {
      if (String(file).includes('/.upload-')) {
        holding++;
        await opensHeld;
      }
      return realOpen(file, ...rest);
    });
    for (let i = 0; i < 15; i++) sockets.push(startUpload(`opening-${i}.bin`, 4096, 'y'.repeat(100)));
    await waitFor(() => holding === 15, 2000, 'the 15 temporary files to be opening');
    sockets.splice(0).forEach((socket) => socket.destroy());
    await waitFor(async () => (await openConnections()) === 0, 2000, 'the server to see the connections close');
    releaseOpens();

    await waitForUploads(
      () => linesOf('').length === 50 && accessLines(service).length - firstLine === 65,
      'one line for each of the 50 uploads and each of the 15 junk tails',
    );
    expect(tempUploads(backends.filesDir)).toEqual([]);
    const uploads = linesOf('');
    expect(new Set(uploads.map((line) => line.path)).size).toBe(50);
    for (const line of uploads) {
      expect(line).toMatchObject({ clientIp: '127.0.0.1', method: 'PUT', status: 499, aborted: true });
    }
    const junk = accessLines(service)
      .slice(firstLine)
      .filter((line) => line.clientError !== undefined);
    expect(junk).toHaveLength(15);
    for (const line of junk)
      expect(line).toMatchObject({ status: 499, clientError: 'HPE_INVALID_METHOD', aborted: true });
    // Nothing was stored under any of the names.
    const userDir = await userFilesDir(backends, 'uploader');
    expect((await fsp.readdir(userDir)).filter((name) => /^(lookup|short|opening)-/.test(name))).toEqual([]);
  });
});

describe('shared files that are full', () => {
  test('an upload into a full file system (ENOSPC) is a 503 "full", and leaves no temporary file', async () => {
    open.mockImplementation(async (file, ...rest) =>
      String(file).includes('/.upload-') ? realOpen('/dev/full', 'w') : realOpen(file, ...rest),
    );
    const response = await service.app.inject({
      method: 'PUT',
      url: '/files/too-much.bin',
      payload: 'data',
      headers: { cookie, 'content-type': 'application/octet-stream' },
    });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toEqual({ error: 'shared files are full; uploads resume once space is freed' });
    expect(tempUploads(backends.filesDir)).toEqual([]);
    expect(service.logs).toContainEqual(
      expect.objectContaining({ dependency: 'files', err: expect.objectContaining({ code: 'ENOSPC' }) }),
    );
  });
});
