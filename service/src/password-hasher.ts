/**
 * The pool of password worker threads: argon2id hashing and verification off the event loop, with a bounded
 * queue. One hash takes about 80 ms of CPU and hash-wasm computes it synchronously; on the event loop it would
 * stall every other request of the instance for that long, so each runs in a worker thread (`runPasswordWorker` of
 * ./passwords.ts), and a request that finds every worker busy and the queue full is refused at once
 * with a 503 and Retry-After rather than queued without bound.
 *
 * The service ships as one esbuild bundle, so the worker runs that same file: server.ts starts the server in the
 * main thread and the worker loop in a thread whose `workerData` is {@link PASSWORD_WORKER_DATA}, and gives the
 * pool its own file as the entry.
 */
import { Worker } from 'node:worker_threads';
import { DependencyUnavailableError, RetryLaterError } from './errors';
import {
  ARGON2_PARAMETERS,
  DUMMY_PASSWORD_HASH,
  needsRehash,
  passwordWorkerData,
  type Argon2Parameters,
  type PasswordTask,
  type PasswordTaskResult,
} from './passwords';

/** The message of a request refused because every worker is busy and the queue is full. */
export const PASSWORD_HASHING_BUSY_MESSAGE = 'too many sign-ins at once; try again shortly';

/** The message of a request whose hash could not be computed because its worker failed. */
export const PASSWORD_HASHING_FAILED_MESSAGE = 'password check unavailable; try again shortly';

/** Retry-After of a request refused because the queue is full: a few hashes' time. */
export const PASSWORD_HASHING_RETRY_AFTER_SECONDS = 1;

/** The subset of a logger the pool uses. */
export interface HasherLogger {
  warn(obj: object, msg: string): void;
}

/** Options of {@link PasswordHasher}. */
export interface PasswordHasherOptions {
  /**
   * The worker's entry file: a file that calls `runPasswordWorker()` when its `workerData` is
   * {@link PASSWORD_WORKER_DATA} (the service's bundle, server.ts).
   */
  readonly entry: string;
  /** Worker threads, started as they are needed. */
  readonly workers: number;
  /** Most tasks waiting for a worker; one more is refused with a 503. */
  readonly maxQueue: number;
  /** Node.js options of the worker threads. @default - {@link workerExecArgv} of the entry */
  readonly execArgv?: readonly string[];
  /** Where worker failures are reported. @default - nowhere */
  readonly log?: HasherLogger;
  /**
   * The argon2id parameters of new hashes. The service always uses the default (server.ts sets none, and no
   * variable does); tests that are not about hashing pass cheaper ones, as Rails' `has_secure_password` uses
   * bcrypt's minimum cost in tests. @default {@link ARGON2_PARAMETERS}
   */
  readonly parameters?: Argon2Parameters;
}

/**
 * The Node.js options a worker needs to load `entry`: none for JavaScript (it inherits the process's, such as
 * `--enable-source-maps`); for a TypeScript entry (development with tsx, tests), tsx's CommonJS hook. Node.js 20
 * (20.20 here) does not apply the module hooks of `--import tsx` inside worker threads (the entry fails with
 * ERR_UNKNOWN_FILE_EXTENSION); `--require tsx/cjs` loads it.
 */
export function workerExecArgv(entry: string): string[] | undefined {
  return /\.[cm]?ts$/.test(entry) ? ['--require', 'tsx/cjs'] : undefined;
}

interface Task {
  readonly message: PasswordTask;
  resolve(value: string | boolean): void;
  reject(err: unknown): void;
}

interface Slot {
  readonly worker: Worker;
  task?: Task;
}

/** Password hashing and verification on a pool of worker threads, with a bounded queue. */
export class PasswordHasher {
  private readonly slots = new Set<Slot>();
  private readonly queue: Task[] = [];
  private nextId = 1;
  private closed = false;

  constructor(private readonly options: PasswordHasherOptions) {
    if (!Number.isInteger(options.workers) || options.workers < 1) {
      throw new Error(`PasswordHasher workers must be a positive integer (got ${options.workers})`);
    }
    if (!Number.isInteger(options.maxQueue) || options.maxQueue < 0) {
      throw new Error(`PasswordHasher maxQueue must be a non-negative integer (got ${options.maxQueue})`);
    }
  }

  private dummy?: Promise<string>;

  /** The argon2id parameters of new hashes. */
  get parameters(): Argon2Parameters {
    return this.options.parameters ?? ARGON2_PARAMETERS;
  }

  /** Whether a stored hash was made with other parameters than this pool's: replaced at the next sign-in. */
  needsRehash(encoded: string): boolean {
    return needsRehash(encoded, this.parameters);
  }

  /**
   * A hash of a password nobody knows with this pool's parameters, to verify a sign-in of a name without an
   * account against (the same work as a wrong password): the constant of ./passwords.ts for the default
   * parameters, else one made once.
   */
  dummyHash(): Promise<string> {
    if (!this.needsRehash(DUMMY_PASSWORD_HASH)) return Promise.resolve(DUMMY_PASSWORD_HASH);
    this.dummy ??= this.hash(`no account ${Math.random()}`);
    return this.dummy;
  }

  /** Tasks running or waiting. */
  get pending(): number {
    return this.queue.length + [...this.slots].filter((s) => s.task !== undefined).length;
  }

  /** The PHC-encoded argon2id hash of a normalised password, with the current parameters. */
  async hash(password: string): Promise<string> {
    return (await this.submit({ id: this.nextId++, op: 'hash', password })) as string;
  }

  /** Whether a normalised password matches a PHC-encoded hash. */
  async verify(password: string, hash: string): Promise<boolean> {
    return (await this.submit({ id: this.nextId++, op: 'verify', password, hash })) as boolean;
  }

  /** Stops the workers; tasks still running or waiting fail with a 503. */
  async close(): Promise<void> {
    this.closed = true;
    const unavailable = new DependencyUnavailableError('passwords', PASSWORD_HASHING_FAILED_MESSAGE);
    for (const task of this.queue.splice(0)) task.reject(unavailable);
    const slots = [...this.slots];
    this.slots.clear();
    for (const slot of slots) slot.task?.reject(unavailable);
    await Promise.all(slots.map((slot) => slot.worker.terminate()));
  }

  private submit(message: PasswordTask): Promise<string | boolean> {
    return new Promise((resolve, reject) => {
      if (this.closed) {
        reject(new DependencyUnavailableError('passwords', PASSWORD_HASHING_FAILED_MESSAGE));
        return;
      }
      const task: Task = { message, resolve, reject };
      const idle = [...this.slots].find((s) => s.task === undefined);
      if (idle !== undefined) {
        this.run(idle, task);
      } else if (this.slots.size < this.options.workers) {
        this.run(this.spawn(), task);
      } else if (this.queue.length < this.options.maxQueue) {
        this.queue.push(task);
      } else {
        reject(new RetryLaterError(503, PASSWORD_HASHING_BUSY_MESSAGE, PASSWORD_HASHING_RETRY_AFTER_SECONDS));
      }
    });
  }

  private spawn(): Slot {
    const worker = new Worker(this.options.entry, {
      workerData: passwordWorkerData(this.parameters),
      execArgv: (this.options.execArgv ?? workerExecArgv(this.options.entry)) as string[] | undefined,
    });
    // An idle worker does not keep the process alive; a busy one does (see run).
    worker.unref();
    const slot: Slot = { worker };
    this.slots.add(slot);
    worker.on('message', (result: PasswordTaskResult) => this.finish(slot, result));
    worker.on('error', (err: Error) => this.fail(slot, err));
    worker.on('exit', (code) => this.fail(slot, new Error(`password worker exited with code ${code}`)));
    return slot;
  }

  private run(slot: Slot, task: Task): void {
    slot.task = task;
    slot.worker.ref();
    slot.worker.postMessage(task.message);
  }

  private finish(slot: Slot, result: PasswordTaskResult): void {
    const task = slot.task;
    if (task === undefined || task.message.id !== result.id) return;
    slot.task = undefined;
    slot.worker.unref();
    if (result.ok) task.resolve(result.value);
    else task.reject(new Error(`password worker: ${result.error}`));
    this.next(slot);
  }

  private next(slot: Slot): void {
    const queued = this.queue.shift();
    if (queued !== undefined) this.run(slot, queued);
  }

  /** A worker died (its entry failed to load, or it crashed): its task fails with a 503, the queue moves on. */
  private fail(slot: Slot, err: Error): void {
    if (!this.slots.delete(slot)) return;
    if (!this.closed) this.options.log?.warn({ err: { message: err.message } }, 'password worker failed');
    slot.task?.reject(new DependencyUnavailableError('passwords', PASSWORD_HASHING_FAILED_MESSAGE, err));
    void slot.worker.terminate();
    // The queued tasks get a new worker (or wait for another one to finish).
    const queued = this.queue.shift();
    if (queued !== undefined && !this.closed) this.run(this.spawn(), queued);
  }
}
