/**
 * The load generator: virtual users that sign in once (a real session cookie each) and then loop a mix of
 * session, note and file requests through the load balancer over HTTPS. Every request is recorded with its
 * start and end on the drill clock, its status (0 for a network error or timeout), the instance and version
 * that answered, and whether the answer was what a user expects.
 */
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'undici';
import { errorMessage, now, sleep } from './util';

/** The kinds of request a virtual user makes. */
export type Operation =
  'signIn' | 'getSession' | 'increment' | 'createNote' | 'getNote' | 'listNotes' | 'putFile' | 'getFile' | 'probe';

/** One request as the user felt it. */
export interface RequestRecord {
  /** Virtual user number. */
  readonly vu: number;
  readonly op: Operation;
  readonly method: string;
  readonly path: string;
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
  readonly content: string;
  readonly vu: number;
  /** Drill clock when the acknowledgement arrived. */
  readonly at: number;
  /** x-instance-id of the instance that acknowledged it. */
  readonly instanceId?: string;
}

/** Options of {@link LoadGenerator}. */
export interface LoadOptions {
  /** The load balancer's HTTPS origin. */
  readonly origin: string;
  /** The certificate to trust (PEM); nothing else is trusted. */
  readonly ca: string;
  /** Number of virtual users. */
  readonly users: number;
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

interface VirtualUser {
  readonly n: number;
  readonly name: string;
  readonly agent: Agent;
  cookie?: string;
  /** Highest counter the service acknowledged to this user's current session. */
  lastCounter: number;
  readonly notes: AcknowledgedNote[];
  fileSequence: number;
}

interface Reply {
  readonly status: number;
  readonly text: string;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly error?: string;
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
  /** Every request of every run, sign-ins included. */
  public readonly allRecords: RequestRecord[] = [];
  private readonly users: VirtualUser[];
  private current?: LoadRun;

  public constructor(private readonly opts: LoadOptions) {
    const tag = randomBytes(3).toString('hex');
    this.users = Array.from({ length: opts.users }, (_, i) => ({
      n: i + 1,
      name: `vu${i + 1}-${tag}`,
      // One agent per user: its own connections, as separate browsers have.
      agent: new Agent({ connect: { ca: opts.ca }, keepAliveTimeout: 4000, connections: 2 }),
      lastCounter: 0,
      notes: [],
      fileSequence: 0,
    }));
  }

  /** Virtual user numbers and the counter each last saw acknowledged. */
  public counters(): Map<number, number> {
    return new Map(this.users.map((u) => [u.n, u.lastCounter]));
  }

  /** Signs every user in (POST /session); throws if any sign-in fails. */
  public async signIn(): Promise<void> {
    const run = new LoadRun('sign-in', { maxDurationMs: 30_000, maxRequests: this.users.length });
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
    return run;
  }

  /** Sends one request outside the user loops and records it in `run` (used for probes). */
  public async probe(
    run: LoadRun,
    path: string,
    headers: Record<string, string>,
    expectStatus: number,
  ): Promise<RequestRecord> {
    const user = this.users[0];
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
    await Promise.all(this.users.map((u) => u.agent.close().catch(() => undefined)));
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

  private async signInUser(user: VirtualUser, run: LoadRun): Promise<void> {
    const start = now();
    const reply = await this.send(
      user,
      'POST',
      '/session',
      { 'content-type': 'application/json' },
      { user: user.name },
    );
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
      this.acknowledgedFiles.push({ name, content, vu: user.n, at: now(), instanceId: Array.isArray(id) ? id[0] : id });
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

  private sessionLost(user: VirtualUser): string {
    // Sign in again at the next turn, so one loss does not spill into the next scenarios.
    user.cookie = undefined;
    return `session lost (401) at counter ${user.lastCounter}`;
  }

  private record(
    run: LoadRun,
    user: VirtualUser,
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
    if (!problem) problem = check(body ?? {});
    if (!problem && (!instanceId || !version)) problem = 'no x-instance-id or x-service-version header';
    if (problem && reply.status > 0 && !problem.includes(String(reply.status))) problem += ` (got ${reply.status})`;
    const counter = (body as { counter?: unknown } | undefined)?.counter;
    const message = (body as { error?: unknown } | undefined)?.error;
    const rec: RequestRecord = {
      vu: user.n,
      op,
      method,
      path,
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
    user: VirtualUser,
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
