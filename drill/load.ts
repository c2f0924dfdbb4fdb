/**
 * The load generator, through the load balancer over HTTPS:
 *
 * - virtual users of the reference service sign up once (an account with a password of their own), sign in (a real
 *   session cookie each, and again whenever a session is lost) and then loop a mix of session, note and file
 *   requests, each on their own notes and files;
 * - catalog users loop the catalog API: PUT an item (their own SKUs) and GET it back, GET one of their items,
 *   list items.
 *
 * Every request is recorded with its start and end on the drill clock, its status (0 for a network error or
 * timeout), the service its path routes to (the listener rules), the instance and version that answered, and
 * whether the answer was what a user expects; an answer from an instance of another service is a failure.
 */
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'undici';
import type { ServiceDefinition } from '../lib/config/types';
import { CATALOG_SERVICE, drillServices, serviceOfInstance, serviceOfPath } from './services';
import { errorMessage, now, sleep } from './util';

/** The kinds of request a user makes. */
export type Operation =
  | 'signUp'
  | 'signIn'
  | 'getSession'
  | 'increment'
  | 'createNote'
  | 'getNote'
  | 'listNotes'
  | 'putFile'
  | 'getFile'
  | 'putItem'
  | 'getItem'
  | 'listItems'
  | 'probe';

/** The operations that write: in a passive region each is refused with a 503. */
export const WRITE_OPERATIONS: ReadonlySet<Operation> = new Set<Operation>([
  'signUp',
  'signIn',
  'increment',
  'createNote',
  'putFile',
  'putItem',
]);

/** One request as the user felt it. */
export interface RequestRecord {
  /** Virtual user number. */
  readonly vu: number;
  readonly op: Operation;
  readonly method: string;
  readonly path: string;
  /** The service the path routes to (the listener rules); undefined when no rule matches. */
  readonly service?: string;
  /** Drill clock at send and at the end of the response body (or the failure). */
  readonly start: number;
  readonly end: number;
  /** HTTP status; 0 for a network error or a timeout. */
  readonly status: number;
  /** Whether the user got what they asked for (status and body as the contract says). */
  readonly ok: boolean;
  /** Why it is not ok. */
  readonly problem?: string;
  /** x-instance-id of the answer (absent when the load balancer answered itself). */
  readonly instanceId?: string;
  /** x-service-version of the answer. */
  readonly version?: string;
  /** The session counter in the answer, for getSession and increment. */
  readonly counter?: number;
  /** The `error` of a JSON error answer (for example the read-only message of a 503). */
  readonly message?: string;
}

/** A note the service acknowledged with 201. */
export interface AcknowledgedNote {
  readonly id: string;
  readonly text: string;
  readonly vu: number;
  /** Drill clock when the acknowledgement arrived. */
  readonly at: number;
  /** x-instance-id of the instance that acknowledged it. */
  readonly instanceId?: string;
}

/** A file the service acknowledged with 201. */
export interface AcknowledgedFile {
  readonly name: string;
  /** The user name of its owner: the file is `users/<owner's account id>/<name>` in the files directory. */
  readonly owner: string;
  readonly content: string;
  readonly vu: number;
  /** Drill clock when the acknowledgement arrived. */
  readonly at: number;
  /** x-instance-id of the instance that acknowledged it. */
  readonly instanceId?: string;
}

/** A catalog item the service acknowledged with 200 or 201 (its latest version is what later reads must see). */
export interface AcknowledgedItem {
  readonly sku: string;
  /** The item's version, in its name (`item <sku> v<version>`): each PUT of a SKU writes the next one. */
  readonly version: number;
  readonly name: string;
  readonly vu: number;
  /** Drill clock when the acknowledgement arrived. */
  readonly at: number;
  /** x-instance-id of the instance that acknowledged it. */
  readonly instanceId?: string;
}

/** The name a catalog user gives version `version` of item `sku`. */
export function itemName(sku: string, version: number): string {
  return `item ${sku} v${version}`;
}

/** The version in an item's name made by {@link itemName}, or undefined. */
export function itemVersion(name: unknown): number | undefined {
  const match = typeof name === 'string' ? / v(\d+)$/.exec(name) : null;
  return match ? Number(match[1]) : undefined;
}

/** The latest acknowledged version of each SKU. */
export function latestItems(acks: readonly AcknowledgedItem[]): Map<string, AcknowledgedItem> {
  const latest = new Map<string, AcknowledgedItem>();
  for (const a of acks) if ((latest.get(a.sku)?.version ?? 0) < a.version) latest.set(a.sku, a);
  return latest;
}

/** Options of {@link LoadGenerator}. */
export interface LoadOptions {
  /** The load balancer's HTTPS origin. */
  readonly origin: string;
  /** The certificate to trust (PEM); nothing else is trusted. */
  readonly ca: string;
  /** Number of virtual users of the reference service. */
  readonly users: number;
  /**
   * Number of catalog users.
   * @default 0
   */
  readonly catalogUsers?: number;
  /**
   * How long a read of an item just written may lag behind it (the catalog reads through the reader endpoint,
   * which does not promise read-your-write): a GET after a PUT that answers the old version or 404 is asked again
   * until it shows the write or this bound passes. 0 where the reader is the writer (the one-region drill): the
   * first answer must show it.
   * @default 0
   */
  readonly catalogReadLagMs?: number;
  /**
   * The services and their listener rules, to tell which service a request is for.
   * @default - the drill's services (drillServices())
   */
  readonly services?: readonly ServiceDefinition[];
  /** Per-request timeout (headers and body). */
  readonly requestTimeoutMs: number;
  /** Pause between a user's requests (uniformly jittered from half to 1.5 times). */
  readonly thinkMs: number;
}

/** Limits of one run of the load. */
export interface RunLimits {
  /** The run stops by itself after this long. */
  readonly maxDurationMs: number;
  /** The run stops by itself after this many requests. */
  readonly maxRequests: number;
}

/** What every user has: a number, a name and its own connections (as separate browsers have). */
interface Client {
  readonly n: number;
  readonly name: string;
  readonly agent: Agent;
  cookie?: string;
}

/** A user of the reference service. */
interface VirtualUser extends Client {
  /** The account's password. */
  readonly password: string;
  /** Whether its account exists (signed up, or a sign-up answered 409: made by an earlier attempt). */
  signedUp: boolean;
  /** Highest counter the service acknowledged to this user's current session. */
  lastCounter: number;
  readonly notes: AcknowledgedNote[];
  fileSequence: number;
}

/** What a catalog user wrote to one of its SKUs. */
interface ItemState {
  /** Highest version sent (acknowledged or not: a PUT that timed out may still have been applied). */
  attempted: number;
  /** Highest version acknowledged; 0 when none (or forgotten: lost with a region). */
  acknowledged: number;
}

/** A user of the catalog: writes and reads its own SKUs. */
interface CatalogUser extends Client {
  readonly items: Map<string, ItemState>;
  skuSequence: number;
}

interface Reply {
  readonly status: number;
  readonly text: string;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly error?: string;
}

/** The JSON body of a reply, or undefined. */
function parsed(reply: Reply): unknown {
  try {
    return JSON.parse(reply.text);
  } catch {
    return undefined;
  }
}

/** A running (or finished) load run. */
export class LoadRun {
  /** Every request of this run, in completion order. */
  public readonly records: RequestRecord[] = [];
  /** Drill clock at the start and (once stopped) the end of the run. */
  public readonly startedAt = now();
  public endedAt?: number;
  private stopping = false;
  private readonly loops: Promise<void>[] = [];
  private readonly deadline: number;

  public constructor(
    /** The scenario this run belongs to. */
    public readonly label: string,
    private readonly limits: RunLimits,
  ) {
    this.deadline = this.startedAt + limits.maxDurationMs;
  }

  /** Whether the users should keep going. */
  public get running(): boolean {
    return !this.stopping && this.records.length < this.limits.maxRequests && now() < this.deadline;
  }

  /** @internal */
  public addLoop(loop: Promise<void>): void {
    this.loops.push(loop);
  }

  /** Asks every user to stop after its current request and waits for them. */
  public async stop(): Promise<RequestRecord[]> {
    this.stopping = true;
    await Promise.all(this.loops);
    this.endedAt ??= now();
    return this.records;
  }
}

/** Virtual users and everything they were acknowledged. */
export class LoadGenerator {
  /** Every note the service acknowledged with 201, over all runs. */
  public readonly acknowledgedNotes: AcknowledgedNote[] = [];
  /** Every file the service acknowledged with 201, over all runs. */
  public readonly acknowledgedFiles: AcknowledgedFile[] = [];
  /** Every catalog item version the catalog acknowledged, over all runs. */
  public readonly acknowledgedItems: AcknowledgedItem[] = [];
  /** Reads after a write that answered an older version (or 404) and were asked again (catalogReadLagMs). */
  public staleReads = 0;
  /** Every request of every run, sign-ins included. */
  public readonly allRecords: RequestRecord[] = [];
  private readonly users: VirtualUser[];
  private readonly catalogUsers: CatalogUser[];
  private readonly services: readonly ServiceDefinition[];
  private current?: LoadRun;

  public constructor(private readonly opts: LoadOptions) {
    const tag = randomBytes(3).toString('hex');
    // One agent per user: its own connections, as separate browsers have.
    const agent = () => new Agent({ connect: { ca: opts.ca }, keepAliveTimeout: 4000, connections: 2 });
    this.users = Array.from({ length: opts.users }, (_, i) => ({
      n: i + 1,
      name: `vu${i + 1}-${tag}`,
      password: randomBytes(18).toString('base64url'),
      signedUp: false,
      agent: agent(),
      lastCounter: 0,
      notes: [],
      fileSequence: 0,
    }));
    this.catalogUsers = Array.from({ length: opts.catalogUsers ?? 0 }, (_, i) => ({
      n: opts.users + i + 1,
      name: `cu${i + 1}-${tag}`,
      agent: agent(),
      items: new Map(),
      skuSequence: 0,
    }));
    this.services = opts.services ?? drillServices();
  }

  /** Number of virtual users of the reference service. */
  public get userCount(): number {
    return this.users.length;
  }

  /** Number of catalog users. */
  public get catalogUserCount(): number {
    return this.catalogUsers.length;
  }

  /**
   * Forgets the acknowledged versions of `skus` (lost with a region: the recovery point): later reads of them
   * no longer expect those versions, and a PUT may create them again (201).
   */
  public forgetItems(skus: Iterable<string>): void {
    const lost = new Set(skus);
    for (const user of this.catalogUsers) {
      for (const [sku, state] of user.items) if (lost.has(sku)) state.acknowledged = 0;
    }
  }

  /** Virtual user numbers and the counter each last saw acknowledged. */
  public counters(): Map<number, number> {
    return new Map(this.users.map((u) => [u.n, u.lastCounter]));
  }

  /** The user name {@link probe} sends the reference service's requests as (its files are under its account). */
  public get probeUser(): string {
    return this.users[0]!.name;
  }

  /** Signs every user up (POST /users) and in (POST /session); throws if any fails. */
  public async signIn(): Promise<void> {
    const run = new LoadRun('sign-in', { maxDurationMs: 30_000, maxRequests: 2 * this.users.length });
    await Promise.all(this.users.map((u) => this.signInUser(u, run)));
    const failed = run.records.filter((r) => !r.ok);
    if (failed.length > 0) throw new Error(`sign-in failed: ${failed.map((r) => r.problem).join('; ')}`);
  }

  /** Starts every user's loop; the run stops at its limits or when `stop()` is called. */
  public start(label: string, limits: RunLimits): LoadRun {
    if (this.current?.running) throw new Error(`load run "${this.current.label}" still running`);
    const run = new LoadRun(label, limits);
    this.current = run;
    for (const user of this.users) run.addLoop(this.loop(user, run));
    for (const user of this.catalogUsers) run.addLoop(this.catalogLoop(user, run));
    return run;
  }

  /**
   * Sends one GET outside the user loops and records it in `run` (used for probes): as the first catalog user
   * when the path is the catalog's and there is one, else as the first user of the reference service.
   */
  public async probe(
    run: LoadRun,
    path: string,
    headers: Record<string, string>,
    expectStatus: number,
  ): Promise<RequestRecord> {
    const forCatalog = serviceOfPath(path, this.services) === CATALOG_SERVICE;
    const user: Client = (forCatalog && this.catalogUsers[0]) || this.users[0]!;
    const start = now();
    const reply = await this.send(user, 'GET', path, headers);
    return this.record(run, user, 'probe', 'GET', path, start, reply, () =>
      reply.status === expectStatus ? undefined : `expected ${expectStatus}`,
    );
  }

  /** Checks every user's session through the load balancer: GET /session must answer 200 with its counter. */
  public async verifySessions(run: LoadRun): Promise<RequestRecord[]> {
    return Promise.all(this.users.map((u) => this.getSession(u, run)));
  }

  /** Closes every user's connections. */
  public async close(): Promise<void> {
    await Promise.all([...this.users, ...this.catalogUsers].map((u) => u.agent.close().catch(() => undefined)));
  }

  private async loop(user: VirtualUser, run: LoadRun): Promise<void> {
    // Spread the users' first requests over one think time.
    await sleep(Math.random() * this.opts.thinkMs);
    while (run.running) {
      const roll = Math.random();
      if (!user.cookie) await this.signInUser(user, run);
      else if (roll < 0.2) await this.getSession(user, run);
      else if (roll < 0.45) await this.increment(user, run);
      else if (roll < 0.65) await this.createNote(user, run);
      else if (roll < 0.82) await this.getNote(user, run);
      else if (roll < 0.95) await this.listNotes(user, run);
      else await this.putAndGetFile(user, run);
      await sleep(this.opts.thinkMs * (0.5 + Math.random()));
    }
  }

  /**
   * Signs the user in, first signing it up if its account does not exist yet (once: a 409 means an earlier
   * sign-up made it, one whose answer was lost). In a read-only region either step answers 503, as every write.
   */
  private async signInUser(user: VirtualUser, run: LoadRun): Promise<void> {
    const credentials = { user: user.name, password: user.password };
    const json = { 'content-type': 'application/json' };
    if (!user.signedUp) {
      const started = now();
      const signUp = await this.send(user, 'POST', '/users', json, credentials);
      const made = this.record(run, user, 'signUp', 'POST', '/users', started, signUp, () => {
        if (signUp.status !== 201 && signUp.status !== 409) return 'expected 201 (or 409: the account exists)';
        user.signedUp = true;
        return undefined;
      });
      if (!made.ok || !run.running) return;
    }
    const start = now();
    const reply = await this.send(user, 'POST', '/session', json, credentials);
    this.record(run, user, 'signIn', 'POST', '/session', start, reply, () => {
      if (reply.status !== 201) return 'expected 201';
      const setCookie = ([] as string[]).concat(reply.headers['set-cookie'] ?? []);
      const sid = setCookie.find((c) => c.startsWith('sid='));
      if (!sid) return 'no sid cookie';
      const attributes = sid.toLowerCase();
      for (const wanted of ['secure', 'httponly', 'samesite=lax']) {
        if (!attributes.includes(wanted)) return `sid cookie lacks ${wanted}`;
      }
      user.cookie = sid.split(';')[0];
      user.lastCounter = 0;
      return undefined;
    });
  }

  private async getSession(user: VirtualUser, run: LoadRun): Promise<RequestRecord> {
    const start = now();
    const floor = user.lastCounter;
    const reply = await this.send(user, 'GET', '/session');
    return this.record(run, user, 'getSession', 'GET', '/session', start, reply, (body) => {
      if (reply.status === 401) return this.sessionLost(user);
      if (reply.status !== 200) return 'expected 200';
      const b = body as { user?: unknown; counter?: unknown };
      if (b.user !== user.name) return `session of "${String(b.user)}", expected "${user.name}"`;
      if (typeof b.counter !== 'number') return 'no counter';
      if (b.counter < floor) return `counter went back from ${floor} to ${b.counter}`;
      return undefined;
    });
  }

  private async increment(user: VirtualUser, run: LoadRun): Promise<void> {
    const start = now();
    const reply = await this.send(user, 'POST', '/session/counter');
    this.record(run, user, 'increment', 'POST', '/session/counter', start, reply, (body) => {
      if (reply.status === 401) return this.sessionLost(user);
      if (reply.status !== 200 && reply.status !== 201) return 'expected 200';
      const counter = (body as { counter?: unknown }).counter;
      if (typeof counter !== 'number') return 'no counter';
      if (counter <= user.lastCounter) return `counter went from ${user.lastCounter} to ${counter}`;
      user.lastCounter = counter;
      return undefined;
    });
  }

  private async createNote(user: VirtualUser, run: LoadRun): Promise<void> {
    const text = `note from ${user.name} #${randomBytes(4).toString('hex')}`;
    const start = now();
    const reply = await this.send(user, 'POST', '/notes', { 'content-type': 'application/json' }, { text });
    this.record(run, user, 'createNote', 'POST', '/notes', start, reply, (body) => {
      if (reply.status !== 201) return 'expected 201';
      const b = body as { id?: unknown; text?: unknown };
      if ((typeof b.id !== 'string' && typeof b.id !== 'number') || b.text !== text) return 'unexpected note body';
      const id = reply.headers['x-instance-id'];
      const note = { id: String(b.id), text, vu: user.n, at: now(), instanceId: Array.isArray(id) ? id[0] : id };
      user.notes.push(note);
      this.acknowledgedNotes.push(note);
      return undefined;
    });
  }

  private async getNote(user: VirtualUser, run: LoadRun): Promise<void> {
    if (user.notes.length === 0) return this.createNote(user, run);
    const note = user.notes[Math.floor(Math.random() * user.notes.length)];
    const path = `/notes/${encodeURIComponent(note.id)}`;
    const start = now();
    const reply = await this.send(user, 'GET', path);
    this.record(run, user, 'getNote', 'GET', path, start, reply, (body) => {
      if (reply.status === 404) return `acknowledged note ${note.id} not found`;
      if (reply.status !== 200) return 'expected 200';
      return (body as { text?: unknown }).text === note.text ? undefined : 'note text differs';
    });
  }

  private async listNotes(user: VirtualUser, run: LoadRun): Promise<void> {
    const start = now();
    const reply = await this.send(user, 'GET', '/notes?limit=5');
    this.record(run, user, 'listNotes', 'GET', '/notes?limit=5', start, reply, (body) => {
      if (reply.status !== 200) return 'expected 200';
      const notes = (body as { notes?: unknown }).notes;
      return Array.isArray(notes) && notes.length <= 5 ? undefined : 'expected at most 5 notes';
    });
  }

  private async putAndGetFile(user: VirtualUser, run: LoadRun): Promise<void> {
    const name = `${user.name}-${++user.fileSequence}.txt`;
    const content = `file ${name} ${randomBytes(16).toString('hex')}\n`;
    const path = `/files/${name}`;
    let start = now();
    const put = await this.send(user, 'PUT', path, { 'content-type': 'application/octet-stream' }, content);
    const stored = this.record(run, user, 'putFile', 'PUT', path, start, put, () => {
      if (put.status !== 201) return 'expected 201';
      const id = put.headers['x-instance-id'];
      this.acknowledgedFiles.push({
        name,
        owner: user.name,
        content,
        vu: user.n,
        at: now(),
        instanceId: Array.isArray(id) ? id[0] : id,
      });
      return undefined;
    });
    if (!stored.ok || !run.running) return;
    start = now();
    // Often answered by another instance: the files directory is shared, as EFS is.
    const get = await this.send(user, 'GET', path);
    this.record(run, user, 'getFile', 'GET', path, start, get, () => {
      if (get.status !== 200) return 'expected 200';
      return get.text === content ? undefined : 'file content differs';
    });
  }

  private async catalogLoop(user: CatalogUser, run: LoadRun): Promise<void> {
    await sleep(Math.random() * this.opts.thinkMs);
    while (run.running) {
      const roll = Math.random();
      if (roll < 0.4) await this.putAndGetItem(user, run);
      else if (roll < 0.75) await this.getItem(user, run);
      else await this.listItems(user, run);
      await sleep(this.opts.thinkMs * (0.5 + Math.random()));
    }
  }

  /** A new SKU while the user has few, else now and then; otherwise one of its own SKUs again. */
  private nextSku(user: CatalogUser): string {
    if (user.items.size < 8 || Math.random() < 0.2) {
      const sku = `${user.name}-${++user.skuSequence}`;
      user.items.set(sku, { attempted: 0, acknowledged: 0 });
      return sku;
    }
    const skus = [...user.items.keys()];
    return skus[Math.floor(Math.random() * skus.length)]!;
  }

  /** Checks an item answer against what the user was acknowledged: undefined when it shows that write or a later one. */
  private itemProblem(sku: string, state: ItemState, status: number, body: unknown): string | undefined {
    if (status === 404) return `acknowledged item ${sku} not found`;
    if (status !== 200) return 'expected 200';
    const b = body as { sku?: unknown; name?: unknown; priceCents?: unknown };
    const version = itemVersion(b.name);
    if (b.sku !== sku || version === undefined || b.priceCents !== version) return 'unexpected item body';
    return version < state.acknowledged
      ? `item ${sku} behind: v${version}, acknowledged v${state.acknowledged}`
      : undefined;
  }

  private async putAndGetItem(user: CatalogUser, run: LoadRun): Promise<void> {
    const sku = this.nextSku(user);
    const state = user.items.get(sku)!;
    const version = ++state.attempted;
    const name = itemName(sku, version);
    const path = `/api/catalog/items/${sku}`;
    // A SKU never written is created (201); one acknowledged before is replaced (200), unless a region lost it
    // (forgotten) or a write may have been lost (catalogReadLagMs: the game day); one whose writes all failed may
    // have been applied anyway.
    const strict = (this.opts.catalogReadLagMs ?? 0) === 0;
    const expected = version === 1 ? [201] : state.acknowledged > 0 && strict ? [200] : [200, 201];
    let start = now();
    const put = await this.send(
      user,
      'PUT',
      path,
      { 'content-type': 'application/json' },
      { name, priceCents: version },
    );
    const stored = this.record(run, user, 'putItem', 'PUT', path, start, put, (body) => {
      if (!expected.includes(put.status)) return `expected ${expected.join(' or ')}`;
      const b = body as { sku?: unknown; name?: unknown; priceCents?: unknown };
      if (b.sku !== sku || b.name !== name || b.priceCents !== version) return 'unexpected item body';
      state.acknowledged = version;
      const id = put.headers['x-instance-id'];
      this.acknowledgedItems.push({
        sku,
        version,
        name,
        vu: user.n,
        at: now(),
        instanceId: Array.isArray(id) ? id[0] : id,
      });
      return undefined;
    });
    if (!stored.ok || !run.running) return;
    start = now();
    const lagMs = this.opts.catalogReadLagMs ?? 0;
    let get = await this.send(user, 'GET', path);
    // The reader endpoint may lag: ask again (bounded) until the write shows, as a client that needs it would.
    while (lagMs > 0 && now() - start < lagMs && this.itemProblem(sku, state, get.status, parsed(get)) !== undefined) {
      this.staleReads++;
      await sleep(50);
      get = await this.send(user, 'GET', path);
    }
    this.record(run, user, 'getItem', 'GET', path, start, get, (body) =>
      this.itemProblem(sku, state, get.status, body),
    );
  }

  private async getItem(user: CatalogUser, run: LoadRun): Promise<void> {
    const known = [...user.items.entries()].filter(([, s]) => s.acknowledged > 0);
    if (known.length === 0) return this.putAndGetItem(user, run);
    const [sku, state] = known[Math.floor(Math.random() * known.length)]!;
    const path = `/api/catalog/items/${sku}`;
    const start = now();
    const reply = await this.send(user, 'GET', path);
    this.record(run, user, 'getItem', 'GET', path, start, reply, (body) =>
      this.itemProblem(sku, state, reply.status, body),
    );
  }

  private async listItems(user: CatalogUser, run: LoadRun): Promise<void> {
    // From the user's own SKUs on (`after` is exclusive, and every one of them starts with its name and a dash).
    const path = `/api/catalog/items?limit=5&after=${user.name}`;
    const start = now();
    const reply = await this.send(user, 'GET', path);
    this.record(run, user, 'listItems', 'GET', path, start, reply, (body) => {
      if (reply.status !== 200) return 'expected 200';
      const b = body as { items?: unknown; next?: unknown };
      if (!Array.isArray(b.items) || b.items.length > 5) return 'expected at most 5 items';
      if (b.next !== null && typeof b.next !== 'string') return 'expected next to be a SKU or null';
      const bad = b.items.find((i: { sku?: unknown }) => typeof i?.sku !== 'string' || i.sku <= user.name);
      return bad ? `item ${JSON.stringify(bad)} is not after ${user.name}` : undefined;
    });
  }

  private sessionLost(user: VirtualUser): string {
    // Sign in again at the next turn, so one loss does not spill into the next scenarios.
    user.cookie = undefined;
    return `session lost (401) at counter ${user.lastCounter}`;
  }

  private record(
    run: LoadRun,
    user: Client,
    op: Operation,
    method: string,
    path: string,
    start: number,
    reply: Reply,
    check: (body: unknown) => string | undefined,
  ): RequestRecord {
    const header = (name: string) => {
      const value = reply.headers[name];
      return Array.isArray(value) ? value[0] : value;
    };
    const instanceId = header('x-instance-id');
    const version = header('x-service-version');
    let body: unknown;
    let problem: string | undefined = reply.error;
    if (!problem && reply.text && String(header('content-type')).includes('json')) {
      try {
        body = JSON.parse(reply.text);
      } catch {
        problem = 'invalid JSON';
      }
    }
    const service = serviceOfPath(path, this.services);
    if (!problem) problem = check(body ?? {});
    if (!problem && (!instanceId || !version)) problem = 'no x-instance-id or x-service-version header';
    const servedBy = serviceOfInstance(
      instanceId,
      this.services.map((s) => s.name),
    );
    if (!problem && instanceId && servedBy !== service) {
      problem = `routed to ${instanceId}, not an instance of ${service ?? 'any service'}`;
    }
    if (problem && reply.status > 0 && !problem.includes(String(reply.status))) problem += ` (got ${reply.status})`;
    const counter = (body as { counter?: unknown } | undefined)?.counter;
    const message = (body as { error?: unknown } | undefined)?.error;
    const rec: RequestRecord = {
      vu: user.n,
      op,
      method,
      path,
      service,
      start,
      end: now(),
      status: reply.status,
      ok: problem === undefined,
      problem,
      instanceId,
      version,
      counter: typeof counter === 'number' ? counter : undefined,
      message: typeof message === 'string' ? message : undefined,
    };
    run.records.push(rec);
    this.allRecords.push(rec);
    return rec;
  }

  private async send(
    user: Client,
    method: 'GET' | 'POST' | 'PUT',
    path: string,
    headers: Record<string, string> = {},
    body?: unknown,
  ): Promise<Reply> {
    const timeout = this.opts.requestTimeoutMs;
    try {
      const res = await request(`${this.opts.origin}${path}`, {
        dispatcher: user.agent,
        method,
        headers: { ...(user.cookie ? { cookie: user.cookie } : {}), ...headers },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
        headersTimeout: timeout,
        bodyTimeout: timeout,
        signal: AbortSignal.timeout(timeout),
      });
      const text = await res.body.text();
      return { status: res.statusCode, text, headers: res.headers };
    } catch (err) {
      return { status: 0, text: '', headers: {}, error: `network: ${errorMessage(err)}` };
    }
  }
}
