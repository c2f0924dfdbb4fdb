/**
 * What the drill and the game day do first: exit handlers, a wall-clock limit after which everything is cleaned
 * up and the program exits 2, a temporary directory removed at exit (kept with `--keep`), and a progress log
 * with the elapsed time.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cleanup, installExitHandlers, onExit } from './cleanup';
import { now } from './util';

/** A started program. */
export interface Program {
  /** Its temporary directory. */
  readonly dir: string;
  /** Drill clock at the start. */
  readonly wallStart: number;
  /** Prints `[  12.3s] message`. */
  log(message: string): void;
  /** Disarms the wall-clock limit (call at the end). */
  finish(): void;
}

/** Starts a program named `name` (for messages), with a temporary directory `<tmp>/<tempPrefix>XXXXXX`. */
export function startProgram(name: string, opts: { wallLimitMs: number; keep: boolean; tempPrefix: string }): Program {
  installExitHandlers();
  const wallStart = now();
  const watchdog = setTimeout(() => {
    process.stderr.write(`${name}: still running after ${opts.wallLimitMs / 1000} s, giving up\n`);
    void cleanup().finally(() => process.exit(2));
  }, opts.wallLimitMs);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), opts.tempPrefix));
  onExit(() => {
    if (opts.keep) console.log(`temp dir kept: ${dir}`);
    else fs.rmSync(dir, { recursive: true, force: true });
  });
  return {
    dir,
    wallStart,
    log: (message) => console.log(`[${((now() - wallStart) / 1000).toFixed(1).padStart(5)}s] ${message}`),
    finish: () => clearTimeout(watchdog),
  };
}

/** The drill and the game day give up after this long, whatever happens: 8 minutes. */
export const WALL_LIMIT_MS = 8 * 60_000;
/** A virtual user's time limit per request (headers and body): 5 s. */
export const REQUEST_TIMEOUT_MS = 5000;
/** Most requests one scenario's load may send. */
export const MAX_REQUESTS_PER_SCENARIO = 40_000;
/** A virtual user's pause between requests (jittered from half to 1.5 times): 20 ms. */
export const THINK_MS = 20;
/** SHUTDOWN_TIMEOUT_SECONDS of the instances. */
export const SHUTDOWN_TIMEOUT_SECONDS = 10;
