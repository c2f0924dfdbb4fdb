/** jest global tear-down: removes the run directory made by test/global-setup.ts. */
import * as fs from 'fs';
import { RUN_DIR_VARIABLE } from './run-dir';

export default function globalTeardown(): void {
  const dir = process.env[RUN_DIR_VARIABLE];
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}
