/**
 * Teardown of everything the drill starts, on a normal end, a failure and Ctrl-C.
 *
 * Steps run once, last registered first, each bounded in time. Child processes are also killed with
 * SIGKILL from the process 'exit' handler, so nothing outlives the drill even when a step hangs.
 */
import type { ChildProcess } from 'node:child_process';
import { errorMessage, withTimeout } from './util';

type Step = { readonly name: string; readonly run: () => Promise<void> | void };

const STEP_TIMEOUT_MS = 15_000;

const steps: Step[] = [];
const children = new Set<ChildProcess>();
const onExitSync: Array<() => void> = [];
let cleaning: Promise<void> | undefined;

/** Registers a child process to SIGKILL if it still runs when the drill exits. */
export function trackChild(child: ChildProcess): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
}

/** Registers a teardown step; steps run last registered first. */
export function onCleanup(name: string, run: () => Promise<void> | void): void {
  steps.push({ name, run });
}

/** Registers a synchronous step that also runs from the 'exit' handler (e.g. removing the temp dir). */
export function onExit(run: () => void): void {
  onExitSync.push(run);
}

function killChildren(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

function runExitSteps(): void {
  while (onExitSync.length > 0) {
    try {
      onExitSync.pop()!();
    } catch {
      // Best effort: the process is exiting.
    }
  }
}

/** Whether teardown has begun (a signal arrived or the drill is ending): start nothing new. */
export function isShuttingDown(): boolean {
  return cleaning !== undefined;
}

/** Runs every teardown step once (later calls wait for the first). Never throws. */
export function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    while (steps.length > 0) {
      const step = steps.pop()!;
      try {
        await withTimeout(`cleanup step "${step.name}"`, Promise.resolve().then(step.run), STEP_TIMEOUT_MS);
      } catch (err) {
        process.stderr.write(`drill: cleanup: ${errorMessage(err)}\n`);
      }
    }
    killChildren();
    runExitSteps();
  })();
  return cleaning;
}

/**
 * Installs SIGINT/SIGTERM handlers (clean up, then exit 130/143) and an 'exit' handler that kills
 * leftover children and runs the synchronous steps.
 */
export function installExitHandlers(): void {
  const onSignal = (signal: NodeJS.Signals, code: number) => {
    process.stderr.write(`\ndrill: ${signal}: cleaning up\n`);
    // A second signal skips the graceful steps.
    process.once(signal, () => process.exit(code));
    void cleanup().finally(() => process.exit(code));
  };
  process.once('SIGINT', () => onSignal('SIGINT', 130));
  process.once('SIGTERM', () => onSignal('SIGTERM', 143));
  process.on('exit', () => {
    killChildren();
    runExitSteps();
  });
}

/**
 * Runs a program's `main` and exits with the code it returns; on a throw, prints `<name>: <message>`, cleans up
 * and exits 2.
 */
export function runMain(name: string, main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    async (err: unknown) => {
      process.stderr.write(`${name}: ${errorMessage(err)}\n`);
      await cleanup();
      process.exit(2);
    },
  );
}
