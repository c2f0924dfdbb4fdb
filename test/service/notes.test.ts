import { closeAll, createTestApp, signIn, startBackends, testConfig, type Backends, type TestApp } from './helpers';

let backends: Backends;
let service: TestApp;
let cookie: string;

beforeAll(async () => {
  backends = await startBackends();
  service = await createTestApp(testConfig(backends));
  cookie = await signIn(service.app, 'writer');
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
    const rows = await backends.pg.adminQuery('SELECT author, text FROM notes WHERE id = $1', [note.id]);
    expect(rows).toEqual([{ author: 'writer', text: 'first note' }]);
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
      "INSERT INTO notes (author, text) SELECT 'bulk', 'bulk ' || n FROM generate_series(1, 60) AS n",
    );
  });

  test('lists 50 notes by default, newest first', async () => {
    const response = await service.app.inject({ url: '/notes' });
    expect(response.statusCode).toBe(200);
    const { notes } = response.json();
    expect(notes).toHaveLength(50);
    expect(notes[0].text).toBe('bulk 60');
    const ids = notes.map((n: { id: number }) => n.id);
    expect(ids).toEqual([...ids].sort((x, y) => y - x));
  });

  test('honours limit', async () => {
    const response = await service.app.inject({ url: '/notes?limit=2' });
    expect(response.json().notes.map((n: { text: string }) => n.text)).toEqual(['bulk 60', 'bulk 59']);
  });

  test('accepts limit=100', async () => {
    expect((await service.app.inject({ url: '/notes?limit=100' })).json().notes.length).toBeGreaterThan(60);
  });

  test.each(['0', '101', 'ten', '1.5'])('refuses limit=%s with 400', async (limit) => {
    const response = await service.app.inject({ url: `/notes?limit=${limit}` });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({ error: 'limit must be an integer from 1 to 100' });
  });
});

describe('GET /notes/:id', () => {
  test('answers the note', async () => {
    const created = (await postNote('read me')).json();
    const response = await service.app.inject({ url: `/notes/${created.id}` });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual(created);
  });

  test('answers 404 for a missing note', async () => {
    const response = await service.app.inject({ url: '/notes/424242' });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({ error: 'note 424242 not found' });
  });

  test.each(['abc', '-1', '1e3', '9'.repeat(16)])('answers 400 for id %s', async (id) => {
    const response = await service.app.inject({ url: `/notes/${id}` });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({ error: 'note id must be a positive integer' });
  });
});
