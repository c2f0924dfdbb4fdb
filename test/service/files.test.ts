import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import {
  DependencyUnavailableError,
  HttpError,
  mapFilesError,
  READ_ONLY_FILES_MESSAGE,
} from '../../service/src/errors';
import { FileStore } from '../../service/src/files';
import {
  accessLines,
  closeAll,
  createTestApp,
  exchangeRaw,
  parseResponses,
  rawRequest,
  signIn,
  startBackends,
  tempUploads,
  testConfig,
  userFilesDir,
  waitFor,
  type Backends,
  type TestApp,
} from './helpers';

const MAX_UPLOAD_BYTES = 64 * 1024;

let backends: Backends;
let service: TestApp;
let cookie: string;
/** The directory of uploader's files (`<FILES_DIR>/users/<id>`). */
let userDir: string;

beforeAll(async () => {
  backends = await startBackends();
  service = await createTestApp(testConfig(backends, { maxUploadBytes: MAX_UPLOAD_BYTES }));
  cookie = await signIn(service.app, 'uploader');
  userDir = await userFilesDir(backends, 'uploader');
});

afterAll(() =>
  closeAll(
    () => service?.close(),
    () => backends?.stop(),
  ),
);

function upload(name: string, payload: Buffer | Readable | string, headers: Record<string, string> = {}) {
  return service.app.inject({
    method: 'PUT',
    url: `/files/${name}`,
    payload,
    headers: { cookie, 'content-type': 'application/octet-stream', ...headers },
  });
}

function listDir(): string[] {
  return fs.existsSync(userDir) ? fs.readdirSync(userDir).sort() : [];
}

describe('PUT and GET /files/:name', () => {
  test('uploads with 201 {name, size} and downloads the same bytes as application/octet-stream', async () => {
    const content = randomBytes(50_000);
    const put = await upload('photo-1.jpg', content);
    expect(put.statusCode).toBe(201);
    expect(put.json()).toEqual({ name: 'photo-1.jpg', size: 50_000 });
    expect(fs.readFileSync(path.join(userDir, 'photo-1.jpg')).equals(content)).toBe(true);

    const get = await service.app.inject({ url: '/files/photo-1.jpg', headers: { cookie } });
    expect(get.statusCode).toBe(200);
    expect(get.headers['content-type']).toBe('application/octet-stream');
    expect(get.headers['content-length']).toBe('50000');
    expect(get.rawPayload.equals(content)).toBe(true);
  });

  test('replaces an existing file', async () => {
    await upload('notes.txt', 'version 1');
    expect((await upload('notes.txt', 'version 2')).statusCode).toBe(201);
    expect((await service.app.inject({ url: '/files/notes.txt', headers: { cookie } })).body).toBe('version 2');
  });

  test('refuses an empty body with 400 and stores nothing', async () => {
    const before = listDir();
    const response = await upload('empty.bin', Buffer.alloc(0));
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({ error: 'request body is empty: an upload needs at least 1 byte' });
    expect(listDir()).toEqual(before);
  });

  test('refuses a streamed body that turns out empty with 400, and leaves no temporary file', async () => {
    const before = listDir();
    const response = await upload('empty-stream.bin', Readable.from([]));
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({ error: 'request body is empty: an upload needs at least 1 byte' });
    expect(listDir()).toEqual(before);
  });

  test.each([
    ['an empty body', undefined],
    ['a body', 'data'],
  ])('refuses a request without Content-Type and with %s with 415, and stores nothing', async (_case, payload) => {
    const before = listDir();
    const response = await service.app.inject({
      method: 'PUT',
      url: '/files/no-type.bin',
      payload,
      headers: { cookie },
    });
    expect(response.statusCode).toBe(415);
    expect(response.json()).toEqual({
      error: 'unsupported content type "none": this endpoint takes application/octet-stream',
    });
    expect(listDir()).toEqual(before);
  });

  test('refuses an unknown query parameter with 400', async () => {
    const withQuery = await service.app.inject({
      method: 'PUT',
      url: '/files/query.bin?overwrite=1',
      payload: 'data',
      headers: { cookie, 'content-type': 'application/octet-stream' },
    });
    expect(withQuery.statusCode).toBe(400);
    expect(withQuery.json()).toEqual({ error: 'unknown query parameter "overwrite"' });
  });

  test('answers 404 for a missing file', async () => {
    const response = await service.app.inject({ url: '/files/missing.txt', headers: { cookie } });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({ error: 'file missing.txt not found' });
  });

  test.each([
    ['PUT', 'application/octet-stream'],
    ['GET', undefined],
  ])('%s needs a session: 401 otherwise', async (method, contentType) => {
    const response = await service.app.inject({
      method: method as 'PUT' | 'GET',
      url: '/files/photo-1.jpg',
      payload: method === 'PUT' ? 'x' : undefined,
      headers: contentType ? { 'content-type': contentType } : {},
    });
    expect(response.statusCode).toBe(401);
    expect(response.json()).toEqual({ error: 'not signed in' });
  });

  test.each(['application/json', 'text/plain', 'multipart/form-data; boundary=x'])(
    'refuses Content-Type %s with 415',
    async (contentType) => {
      const response = await upload('x.bin', '{}', { 'content-type': contentType });
      expect(response.statusCode).toBe(415);
      expect(response.json()).toEqual({
        error: `unsupported content type "${contentType}": this endpoint takes application/octet-stream`,
      });
    },
  );
});

describe('file names', () => {
  test.each([
    ['..%2F..%2Fetc%2Fpasswd', '../../etc/passwd'],
    ['..%2Fescape.txt', '../escape.txt'],
    ['a..b', 'a..b'],
  ])('refuses %s with 400: path traversal', async (encoded, decoded) => {
    const before = listDir();
    for (const method of ['PUT', 'GET'] as const) {
      const response =
        method === 'PUT'
          ? await upload(encoded, 'evil')
          : await service.app.inject({ url: `/files/${encoded}`, headers: { cookie } });
      expect(response.statusCode).toBe(400);
      expect(response.json()).toEqual({
        error: `file name "${decoded}" refused: path traversal ("..", "/") is not allowed`,
      });
    }
    expect(listDir()).toEqual(before);
    expect(fs.existsSync(path.join(backends.root, 'escape.txt'))).toBe(false);
  });

  test.each(['.hidden', '-dash', 'sp%20ace', 'x'.repeat(129), 'semi%3Bcolon'])('refuses %s with 400', async (name) => {
    const response = await upload(name, 'data');
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toMatch(/refused: use 1-128 characters A-Z a-z 0-9 \. _ -, starting with a letter/);
  });

  test('accepts 128 characters', async () => {
    expect((await upload('y'.repeat(128), 'data')).statusCode).toBe(201);
  });

  test.each([129, 256, 257, 300, 1000, 5000])(
    'refuses a name of %d characters with 400 (never 414)',
    async (length) => {
      for (const method of ['PUT', 'GET'] as const) {
        const response =
          method === 'PUT'
            ? await upload('z'.repeat(length), 'data')
            : await service.app.inject({ url: `/files/${'z'.repeat(length)}`, headers: { cookie } });
        expect(response.statusCode).toBe(400);
        expect(response.json()).toEqual({
          error: `file name "${'z'.repeat(64)}..." refused: use 1-128 characters A-Z a-z 0-9 . _ -, starting with a letter or digit`,
        });
      }
    },
  );
});

describe('upload limit', () => {
  test('answers 413 for a declared Content-Length above MAX_UPLOAD_BYTES and writes nothing', async () => {
    const before = listDir();
    const response = await upload('too-big.bin', Buffer.alloc(MAX_UPLOAD_BYTES + 1));
    expect(response.statusCode).toBe(413);
    expect(response.json()).toEqual({ error: `file is larger than the upload limit of ${MAX_UPLOAD_BYTES} bytes` });
    expect(listDir()).toEqual(before);
  });

  test('answers 413 for a streamed body that grows past the limit, and leaves no file', async () => {
    const before = listDir();
    const chunks = Array.from({ length: 20 }, () => Buffer.alloc(8 * 1024, 1));
    const response = await upload('streamed.bin', Readable.from(chunks));
    expect(response.statusCode).toBe(413);
    expect(response.headers.connection).toBe('close');
    await waitFor(() => tempUploads(backends.filesDir).length === 0, 2000, 'temp files removed');
    expect(listDir()).toEqual(before);
  });

  test('accepts exactly MAX_UPLOAD_BYTES', async () => {
    const response = await upload('just-fits.bin', Buffer.alloc(MAX_UPLOAD_BYTES));
    expect(response.json()).toEqual({ name: 'just-fits.bin', size: MAX_UPLOAD_BYTES });
  });
});

describe('over a real connection', () => {
  let port: number;

  beforeAll(async () => {
    await service.app.listen({ port: 0, host: '127.0.0.1' });
    port = (service.app.server.address() as { port: number }).port;
  });

  test('a chunked upload past the limit gets its 413 before the connection closes', async () => {
    const request = rawRequest(
      port,
      'PUT /files/chunked.bin HTTP/1.1\r\nHost: test\r\nContent-Type: application/octet-stream\r\n' +
        `Cookie: ${cookie}\r\nTransfer-Encoding: chunked\r\n\r\n`,
    );
    const chunk = Buffer.alloc(16 * 1024, 1);
    for (let i = 0; i < 6; i++) {
      request.socket.write(`${chunk.length.toString(16)}\r\n`);
      request.socket.write(chunk);
      request.socket.write('\r\n');
    }
    const response = await request.response;
    expect(response).toMatch(/^HTTP\/1\.1 413 /);
    expect(response).toContain(`file is larger than the upload limit of ${MAX_UPLOAD_BYTES} bytes`);
    await waitFor(() => tempUploads(backends.filesDir).length === 0, 2000, 'temp files removed');
    expect(fs.existsSync(path.join(userDir, 'chunked.bin'))).toBe(false);
  });

  test('a name too long for a request head is a 431 with the service headers', async () => {
    const response = await exchangeRaw(
      port,
      `GET /files/${'n'.repeat(20_000)} HTTP/1.1\r\nHost: test\r\nCookie: ${cookie}\r\n\r\n`,
    );
    const [answer] = parseResponses(response);
    expect(answer).toMatchObject({
      status: 431,
      headers: { 'x-instance-id': 'i-test-a', 'x-service-version': '1.2.3-test' },
    });
  });

  test('a Content-Length shorter than the body: the declared bytes are the upload (201), the rest a 400', async () => {
    const before = accessLines(service).length;
    const response = await exchangeRaw(
      port,
      'PUT /files/short.bin HTTP/1.1\r\nHost: test\r\nContent-Type: application/octet-stream\r\n' +
        `Cookie: ${cookie}\r\nContent-Length: 5\r\n\r\nhello, and more than was declared`,
    );
    const answers = parseResponses(response);
    expect(answers.map((a) => a.status)).toEqual([201, 400]);
    expect(JSON.parse(answers[0]!.body)).toEqual({ name: 'short.bin', size: 5 });
    expect(answers[1]!.headers).toMatchObject({ 'x-instance-id': 'i-test-a', connection: 'close' });
    expect(fs.readFileSync(path.join(userDir, 'short.bin'), 'utf8')).toBe('hello');
    expect(tempUploads(backends.filesDir)).toEqual([]);
    await waitFor(() => accessLines(service).length >= before + 2, 2000, 'both lines');
    expect(accessLines(service).slice(before)).toEqual([
      expect.objectContaining({ method: 'PUT', path: '/files/short.bin', status: 201 }),
      expect.objectContaining({ status: 400, clientError: 'HPE_INVALID_METHOD' }),
    ]);
  });

  test('a client without a session gets its 401 at once, without the body being read, and the connection closes', async () => {
    const request = rawRequest(
      port,
      'PUT /files/anonymous.bin HTTP/1.1\r\nHost: test\r\nContent-Type: application/octet-stream\r\n' +
        `Content-Length: ${MAX_UPLOAD_BYTES}\r\n\r\n`,
    );
    const response = await request.response;
    expect(response).toMatch(/^HTTP\/1\.1 401 /);
    expect(response.toLowerCase()).toContain('connection: close');
    expect(tempUploads(backends.filesDir)).toEqual([]);
  });

  test('an aborted upload leaves no partial file and keeps the previous version', async () => {
    await upload('report.pdf', 'complete version 1');

    const request = rawRequest(
      port,
      'PUT /files/report.pdf HTTP/1.1\r\nHost: test\r\nContent-Type: application/octet-stream\r\n' +
        `Cookie: ${cookie}\r\nContent-Length: 60000\r\n\r\n`,
    );
    request.socket.write(Buffer.alloc(20_000, 7));
    await waitFor(
      () => tempUploads(backends.filesDir).some((name) => fs.statSync(path.join(backends.filesDir, name)).size > 0),
      5000,
      'the upload to be streaming into a temp file',
    );
    request.socket.destroy();

    await waitFor(() => tempUploads(backends.filesDir).length === 0, 5000, 'the temp file to be removed');
    expect(fs.readFileSync(path.join(userDir, 'report.pdf'), 'utf8')).toBe('complete version 1');
    const get = await service.app.inject({ url: '/files/report.pdf', headers: { cookie } });
    expect(get.body).toBe('complete version 1');
  });
});

describe('interrupted uploads of dead instances', () => {
  test('removeStaleUploads deletes old temporary files only', async () => {
    const old = path.join(backends.filesDir, '.upload-dead-instance');
    const young = path.join(backends.filesDir, '.upload-in-progress');
    fs.writeFileSync(old, 'partial');
    fs.writeFileSync(young, 'partial');
    const dayAgo = new Date(Date.now() - 25 * 3600 * 1000);
    fs.utimesSync(old, dayAgo, dayAgo);
    const removed = await new FileStore(backends.filesDir).removeStaleUploads(24 * 3600 * 1000);
    expect(removed).toEqual(['.upload-dead-instance']);
    expect(fs.existsSync(old)).toBe(false);
    expect(fs.existsSync(young)).toBe(true);
    fs.rmSync(young);
  });
});

describe('a store that refuses writes or is gone (each system error a 503, never a 500)', () => {
  const failing = (code: string) => Object.assign(new Error(`${code}: simulated`), { code });

  test.each([
    ['EROFS', 'read-only file system (the EFS replication destination)', READ_ONLY_FILES_MESSAGE, HttpError],
    ['EACCES', 'permission refused', READ_ONLY_FILES_MESSAGE, DependencyUnavailableError],
    ['EPERM', 'operation refused', READ_ONLY_FILES_MESSAGE, DependencyUnavailableError],
    [
      'ENOSPC',
      'file system full',
      'shared files are full; uploads resume once space is freed',
      DependencyUnavailableError,
    ],
    [
      'EDQUOT',
      'quota reached',
      'shared files are full; uploads resume once space is freed',
      DependencyUnavailableError,
    ],
    ['EIO', 'I/O error', 'shared files unavailable; try again shortly', DependencyUnavailableError],
    ['ESTALE', 'stale NFS handle', 'shared files unavailable; try again shortly', DependencyUnavailableError],
    ['ENOENT', 'directory gone', 'shared files unavailable; try again shortly', DependencyUnavailableError],
  ])('mapFilesError(%s: %s) is a 503: %s', (code, _what, message, kind) => {
    const mapped = mapFilesError(failing(code));
    expect(mapped).toBeInstanceOf(kind);
    expect(mapped).toMatchObject({ statusCode: 503, message });
  });

  test('mapFilesError leaves client errors and errors without a system code alone', () => {
    const tooLarge = new HttpError(413, 'too large');
    const bug = new TypeError('x is undefined');
    expect(mapFilesError(tooLarge)).toBe(tooLarge);
    expect(mapFilesError(bug)).toBe(bug);
  });

  test('an upload into a directory that is gone answers 503, not 500', async () => {
    const gone = await createTestApp(testConfig(backends, { filesDir: path.join(backends.root, 'unmounted') }));
    try {
      const goneCookie = await signIn(gone.app, 'uploader');
      const response = await gone.app.inject({
        method: 'PUT',
        url: '/files/a.txt',
        payload: 'x',
        headers: { 'content-type': 'application/octet-stream', cookie: goneCookie },
      });
      expect(response.statusCode).toBe(503);
      expect(response.json()).toEqual({ error: 'shared files unavailable; try again shortly' });
    } finally {
      await gone.close();
    }
  });

  test('the readiness probe of a missing directory fails; of a writable one reports writable: true', async () => {
    await expect(new FileStore(path.join(backends.root, 'unmounted')).probe()).rejects.toThrow(/ENOENT/);
    await expect(new FileStore(backends.filesDir).probe()).resolves.toEqual({ writable: true });
    expect(fs.readdirSync(backends.filesDir).filter((n) => n.startsWith('.health-'))).toEqual([]);
  });
});

describe('ownership (issue 13): a file belongs to the account that uploaded it', () => {
  let other: string;
  let otherDir: string;

  beforeAll(async () => {
    other = await signIn(service.app, 'other-uploader');
    otherDir = await userFilesDir(backends, 'other-uploader');
    expect((await upload('shared-name.txt', "uploader's report")).statusCode).toBe(201);
  });

  test("another account's file is a 404 with the body of a missing one", async () => {
    const stolen = await service.app.inject({ url: '/files/shared-name.txt', headers: { cookie: other } });
    expect(stolen.statusCode).toBe(404);
    expect(stolen.json()).toEqual({ error: 'file shared-name.txt not found' });
  });

  test("an upload of a name another account has creates the uploader's own file and never touches the other", async () => {
    expect((await upload('shared-name.txt', "other's report", { cookie: other })).statusCode).toBe(201);
    const read = async (c: string) =>
      (await service.app.inject({ url: '/files/shared-name.txt', headers: { cookie: c } })).body;
    expect(await read(cookie)).toBe("uploader's report");
    expect(await read(other)).toBe("other's report");
    expect(fs.readFileSync(path.join(userDir, 'shared-name.txt'), 'utf8')).toBe("uploader's report");
    expect(fs.readFileSync(path.join(otherDir, 'shared-name.txt'), 'utf8')).toBe("other's report");
  });

  test('files live in <FILES_DIR>/users/<account id>/, its directories made at the first upload, mode 0750', () => {
    expect(fs.readdirSync(path.join(backends.filesDir, 'users')).sort()).toEqual(
      [path.basename(userDir), path.basename(otherDir)].sort(),
    );
    for (const dir of [path.join(backends.filesDir, 'users'), userDir, otherDir]) {
      // The process umask may remove bits of 0750; none beyond it are set (mkdir's default would give 0755).
      expect(fs.statSync(dir).mode & 0o777 & ~0o750).toBe(0);
    }
    expect(fs.existsSync(path.join(backends.filesDir, 'shared-name.txt'))).toBe(false);
  });

  test('a file at the top of FILES_DIR (from before accounts existed) belongs to no account', async () => {
    fs.writeFileSync(path.join(backends.filesDir, 'legacy.txt'), 'old and shared');
    const response = await service.app.inject({ url: '/files/legacy.txt', headers: { cookie } });
    expect(response.statusCode).toBe(404);
  });
});
