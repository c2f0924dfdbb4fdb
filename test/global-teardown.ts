/**
 * jest global tear-down: stops the background syntheses still running (a run that stopped early: a failed
 * file under --bail, an interrupted run), each with its process group (the CLI and the app it started), then
 * removes the run directory made by test/global-setup.ts.
 */
import * as fs from 'fs';
import * as path from 'path';
import { BACKGROUND_PIDS, RUN_DIR_VARIABLE } from './run-dir';

export default function globalTeardown(): void {
  const dir = process.env[RUN_DIR_VARIABLE];
  if (!dir) return;
  let pids: number[] = [];
  try {
    pids = fs.readFileSync(path.join(dir, BACKGROUND_PIDS), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    // Not a full run: nothing was started in the background.
  }
  for (const pid of pids) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // Finished already.
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
}
