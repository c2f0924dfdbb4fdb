/**
 * jest global set-up: a directory for this run's shared artifacts (the whole-app syntheses of
 * test/synthesized.ts), named to the workers through HA_WEB_TEST_RUN_DIR and removed by test/global-teardown.ts.
 * Run directories that a killed run left behind (older than an hour) are removed here.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { RUN_DIR_VARIABLE } from './run-dir';

const PREFIX = 'ha-web-test-run-';
const STALE_MS = 60 * 60 * 1000;

export default function globalSetup(): void {
  for (const entry of fs.readdirSync(os.tmpdir())) {
    if (!entry.startsWith(PREFIX)) continue;
    const dir = path.join(os.tmpdir(), entry);
    try {
      if (Date.now() - fs.statSync(dir).mtimeMs > STALE_MS) fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      // Removed meanwhile by its own run.
    }
  }
  process.env[RUN_DIR_VARIABLE] = fs.mkdtempSync(path.join(os.tmpdir(), PREFIX));
}
