import { NotesRepository } from '../../service/src/db';
import { closeAll, createTestApp, signIn, startBackends, testConfig, type Backends, type TestApp } from './helpers';

let backends: Backends;
let service: TestApp;
let cookie: string;
/** The account id of `writer`. */
let writerId: string;

beforeAll(async () => {
  backends = await startBackends();
  service = await createTestApp(testConfig(backends));
  cookie = await signIn(service.app, 'writer');
  writerId = String((await backends.pg.adminQuery("SELECT id FROM users WHERE name = 'writer'"))[0]!.id);
});

afterAll(() =>
  closeAll(
    () => service?.close(),
    () => backends?.stop(),
  ),
);

async function postNote(text: unknown, headers: Record<string, string> = { cookie }) {
  return service.app.inject({ method: 'POST', url: '/notes', payload: { text }, headers });
}

describe('POST /notes', () => {
  test('stores a note and answers 201 with id, text and createdAt', async () => {
    const before = Date.now();
    const response = await postNote('first note');
    expect(response.statusCode).toBe(201);
    const note = response.json();
    expect(Object.keys(note).sort()).toEqual(['createdAt', 'id', 'text']);
    expect(note).toMatchObject({ id: expect.any(Number), text: 'first note' });
    expect(Date.parse(note.createdAt)).toBeGreaterThanOrEqual(before - 1000);
    const rows = await backends.pg.adminQuery('SELECT owner_id::text, author, text FROM notes WHERE id = $1', [
      note.id,
    ]);
    expect(rows).toEqual([{ owner_id: writerId, author: 'writer', text: 'first note' }]);
  });

  test('needs a session: 401 otherwise', async () => {
    const response = await postNote('anonymous', {});
    expect(response.statusCode).toBe(401);
    expect(response.json()).toEqual({ error: 'not signed in' });
  });

  test('accepts 10000 characters', async () => {
    expect((await postNote('x'.repeat(10_000))).statusCode).toBe(201);
  });

  test.each([
    ['empty text', ''],
    ['10001 characters', 'x'.repeat(10_001)],
    ['an object', { a: 1 }],
  ])('refuses %s with 400', async (_case, text) => {
    const response = await postNote(text);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({ error: 'text must be a string of 1 to 10000 characters' });
  });

  test('refuses a body without text with 400', async () => {
    const response = await service.app.inject({ method: 'POST', url: '/notes', payload: {}, headers: { cookie } });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({ error: 'text is required; text must be a string of 1 to 10000 characters' });
  });

  test('refuses text/plain with 415', async () => {
    const response = await service.app.inject({
      method: 'POST',
      url: '/notes',
      payload: 'hello',
      headers: { cookie, 'content-type': 'text/plain' },
    });
    expect(response.statusCode).toBe(415);
    expect(response.json().error).toMatch(/^unsupported content type "text\/plain"/);
  });
});

describe('GET /notes', () => {
  beforeAll(async () => {
    await backends.pg.adminQuery(
      "INSERT INTO notes (owner_id, author, text) SELECT $1, 'writer', 'bulk ' || n FROM generate_series(1, 60) AS n",
      [writerId],
    );
  });

  test('lists 50 notes by default, newest first', async () => {
    const response = await service.app.inject({ headers: { cookie }, url: '/notes' });
    expect(response.statusCode).toBe(200);
    const { notes } = response.json();
    expect(notes).toHaveLength(50);
    expect(notes[0].text).toBe('bulk 60');
    const ids = notes.map((n: { id: number }) => n.id);
    expect(ids).toEqual([...ids].sort((x, y) => y - x));
  });

  test('honours limit', async () => {
    const response = await service.app.inject({ headers: { cookie }, url: '/notes?limit=2' });
    expect(response.json().notes.map((n: { text: string }) => n.text)).toEqual(['bulk 60', 'bulk 59']);
  });

  test('accepts limit=100', async () => {
    expect(
      (await service.app.inject({ headers: { cookie }, url: '/notes?limit=100' })).json().notes.length,
    ).toBeGreaterThan(60);
  });

  test.each(['0', '101', 'ten', '1.5'])('refuses limit=%s with 400', async (limit) => {
    const response = await service.app.inject({ headers: { cookie }, url: `/notes?limit=${limit}` });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({ error: 'limit must be an integer from 1 to 100' });
  });
});

describe('GET /notes/:id', () => {
  test('answers the note', async () => {
    const created = (await postNote('read me')).json();
    const response = await service.app.inject({ headers: { cookie }, url: `/notes/${created.id}` });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual(created);
  });

  test('answers 404 for a missing note', async () => {
    const response = await service.app.inject({ headers: { cookie }, url: '/notes/424242' });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({ error: 'note 424242 not found' });
  });

  test.each(['0', '00', '007', 'abc', '-1', '1e3', '+1', '9'.repeat(16)])('answers 400 for id %s', async (id) => {
    const response = await service.app.inject({ headers: { cookie }, url: `/notes/${id}` });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({ error: 'note id must be a positive integer (1 to 15 digits, no leading zero)' });
  });
});

describe('input that must not slip through (400, nothing stored)', () => {
  async function noteCount(): Promise<number> {
    return Number((await backends.pg.adminQuery('SELECT count(*) AS n FROM notes'))[0]!.n);
  }

  function postRaw(body: Buffer | string, contentType = 'application/json') {
    return service.app.inject({
      method: 'POST',
      url: '/notes',
      payload: body,
      headers: { cookie, 'content-type': contentType },
    });
  }

  test('a NUL character (which PostgreSQL text cannot hold) is a 400 naming the field, not a 500', async () => {
    const before = await noteCount();
    const response = await postRaw('{"text":"a\\u0000b"}');
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({ error: 'text contains the NUL character (U+0000), which is not accepted' });
    expect(await noteCount()).toBe(before);
  });

  test.each([
    ['a lone high surrogate', '{"text":"a\\ud800b"}', 'U+D800'],
    ['a lone low surrogate', '{"text":"\\udc00"}', 'U+DC00'],
    ['a reversed pair', '{"text":"\\udc00\\ud800"}', 'U+DC00'],
  ])('%s is a 400, never stored as U+FFFD', async (_case, body, unit) => {
    const before = await noteCount();
    const response = await postRaw(body);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({ error: `text is not valid Unicode: it contains a lone surrogate (${unit})` });
    expect(await noteCount()).toBe(before);
  });

  test('a surrogate pair (an emoji, escaped or not) is valid and stored as sent', async () => {
    const response = await postRaw('{"text":"\\ud83d\\ude00 \u{1F600}"}');
    expect(response.statusCode).toBe(201);
    expect(response.json().text).toBe('\u{1F600} \u{1F600}');
  });

  test.each([
    [
      'a byte that is never UTF-8',
      Buffer.from([0x7b, 0x22, 0x74, 0x65, 0x78, 0x74, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]),
    ],
    ['a truncated sequence', Buffer.concat([Buffer.from('{"text":"'), Buffer.from([0xe2, 0x82]), Buffer.from('"}')])],
    [
      'an encoded surrogate (CESU-8)',
      Buffer.concat([Buffer.from('{"text":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')]),
    ],
    ['an overlong encoding', Buffer.concat([Buffer.from('{"text":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}')])],
  ])('%s in the raw body is a 400, never stored as U+FFFD', async (_case, body) => {
    const before = await noteCount();
    const response = await postRaw(body);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({ error: 'request body is not valid UTF-8' });
    expect(await noteCount()).toBe(before);
  });

  test('a charset other than UTF-8 is a 415', async () => {
    const response = await postRaw('{"text":"x"}', 'application/json; charset=latin1');
    expect(response.statusCode).toBe(415);
    expect(response.json()).toEqual({ error: 'unsupported charset "latin1": JSON bodies are UTF-8' });
  });

  test('an unknown field is a 400 naming it, never dropped', async () => {
    const before = await noteCount();
    const response = await service.app.inject({
      method: 'POST',
      url: '/notes',
      payload: { text: 'x', author: 'mallory' },
      headers: { cookie },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({ error: 'unknown field "author"' });
    expect(await noteCount()).toBe(before);
  });

  test.each([
    ['a number', 123],
    ['a boolean', true],
    ['an array', ['x']],
    ['null', null],
  ])('text as %s is a 400, never coerced', async (_case, text) => {
    const response = await postNote(text);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({ error: 'text must be a string of 1 to 10000 characters' });
  });

  test('a __proto__ field is a 400', async () => {
    const response = await postRaw('{"text":"x","__proto__":{"admin":true}}');
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({ error: 'request body has the forbidden field "__proto__"' });
  });

  test.each([
    ['an unknown parameter', '/notes?limit=5&debug=1', 'unknown query parameter "debug"'],
    ['a repeated limit', '/notes?limit=5&limit=6', 'limit must be an integer from 1 to 100'],
    ['a limit with a sign', '/notes?limit=+5', 'limit must be an integer from 1 to 100'],
    ['a parameter on a note', '/notes/1?x=1', 'unknown query parameter "x"'],
  ])('%s in the query string is a 400 naming it', async (_case, url, error) => {
    const response = await service.app.inject({ headers: { cookie }, url });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({ error });
  });

  test('a client without a session gets its 401 before the body is read, even an invalid one', async () => {
    expect((await postRaw('{"not json')).statusCode).toBe(400);
    const anonymous = await service.app.inject({
      method: 'POST',
      url: '/notes',
      payload: '{"not json',
      headers: { 'content-type': 'application/json' },
    });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.json()).toEqual({ error: 'not signed in' });
  });

  test('a signed-in body up to MAX_JSON_BODY_BYTES is read; a larger one is a 413', async () => {
    // 10000 escaped characters: 60 KB of JSON, above the 16 KiB of the routes open to anyone.
    const escaped = `{"text":"${'\\u00e9'.repeat(10_000)}"}`;
    expect((await postRaw(escaped)).statusCode).toBe(201);
    const tooLarge = await postRaw(`{"text":"${'x'.repeat(128 * 1024)}"}`);
    expect(tooLarge.statusCode).toBe(413);
    expect(tooLarge.json()).toEqual({ error: 'request body is larger than 131072 bytes' });
  });
});

describe('database data errors (SQLSTATE classes 22 and 23) are 4xx, not 500', () => {
  test('a value PostgreSQL cannot store (22021: NUL) is a 400 with its reason', async () => {
    const notes = new NotesRepository(service.pool);
    await expect(notes.create(writerId, 'writer', 'a\u0000b')).rejects.toMatchObject({
      statusCode: 400,
      message: expect.stringMatching(/^value refused by the database: invalid byte sequence for encoding "UTF8": 0x00/),
    });
  });

  test('a constraint violation (23514: the note length check) is a 400 with its reason', async () => {
    const notes = new NotesRepository(service.pool);
    await expect(notes.create(writerId, 'writer', 'x'.repeat(10_001))).rejects.toMatchObject({
      statusCode: 400,
      message: expect.stringMatching(/^value refused by the database: .*notes_text_length/),
    });
  });
});

describe('ownership (issue 13): a note belongs to the account that wrote it', () => {
  let other: string;
  let writerNote: { id: number; text: string };

  beforeAll(async () => {
    other = await signIn(service.app, 'other-writer');
    writerNote = (await postNote("writer's secret")).json();
    expect((await postNote("other's note", { cookie: other })).statusCode).toBe(201);
  });

  test.each(['/notes', '/notes?limit=5', '/notes/1'])('GET %s needs a session: 401 without one', async (url) => {
    const response = await service.app.inject({ url });
    expect(response.statusCode).toBe(401);
    expect(response.json()).toEqual({ error: 'not signed in' });
  });

  test("the list holds the caller's notes only", async () => {
    const texts = async (c: string) =>
      (await service.app.inject({ url: '/notes?limit=100', headers: { cookie: c } }))
        .json()
        .notes.map((n: { text: string }) => n.text);
    expect(await texts(other)).toEqual(["other's note"]);
    expect(await texts(cookie)).toContain("writer's secret");
    expect(await texts(cookie)).not.toContain("other's note");
  });

  test("another account's note is a 404 with the body of a missing one: its ID says nothing", async () => {
    const stolen = await service.app.inject({ url: `/notes/${writerNote.id}`, headers: { cookie: other } });
    expect(stolen.statusCode).toBe(404);
    expect(stolen.json()).toEqual({ error: `note ${writerNote.id} not found` });
    const own = await service.app.inject({ url: `/notes/${writerNote.id}`, headers: { cookie } });
    expect(own.json()).toEqual(writerNote);
  });

  test('a note written before accounts existed (no owner) belongs to no account', async () => {
    const [row] = await backends.pg.adminQuery(
      "INSERT INTO notes (author, text) VALUES ('writer', 'from the old service') RETURNING id",
    );
    const response = await service.app.inject({ url: `/notes/${String(row!.id)}`, headers: { cookie } });
    expect(response.statusCode).toBe(404);
    const list = await service.app.inject({ url: '/notes?limit=100', headers: { cookie } });
    expect(list.body).not.toContain('from the old service');
  });
});
