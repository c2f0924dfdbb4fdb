/**
 * jest global set-up: a directory for this run's shared artifacts (the whole-app syntheses of
 * test/synthesis.ts, the PostgreSQL template of support/local-servers.ts), named to the workers through
 * HA_WEB_TEST_RUN_DIR and removed by test/global-teardown.ts. Run directories that a killed run left behind
 * (older than an hour) are removed here.
 *
 * It fills the build cache once (lib/bundling.ts: the Lambda bundles and every environment's service artifacts; the Control Tower rules'
 * parse check), so syntheses running side by side find it filled instead of each doing the same work; on a
 * filled cache this takes a fraction of a second. On a full run (no file pattern, no test name filter) it
 * then starts every synthesis in the background (test/synthesize.ts): they run alongside the first test files,
 * and the files that read them wait only for what is not done yet. A filtered run synthesizes only what its
 * files ask for.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Config } from '@jest/types';
import { artifactBundle, bundleFolder, lambdaBundles } from '../lib/bundling';
import { ControlTowerRules } from '../lib/compliance/control-tower';
import { ENVIRONMENTS } from '../lib/config';
import { BACKGROUND_PIDS, RUN_DIR_VARIABLE } from './run-dir';
import { SYNTHESES } from './synthesis';

const PREFIX = 'ha-web-test-run-';
const STALE_MS = 60 * 60 * 1000;

/** Whether jest runs every test file with every test (so every synthesis will be read). */
function isFullRun(config: Config.GlobalConfig): boolean {
  return (
    !config.testPathPattern &&
    !config.testNamePattern &&
    !config.onlyChanged &&
    !config.findRelatedTests &&
    !config.listTests &&
    config.watch !== true &&
    config.watchAll !== true
  );
}

export default function globalSetup(config: Config.GlobalConfig): void {
  for (const entry of fs.readdirSync(os.tmpdir())) {
    if (!entry.startsWith(PREFIX)) continue;
    const dir = path.join(os.tmpdir(), entry);
    try {
      if (Date.now() - fs.statSync(dir).mtimeMs > STALE_MS) fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      // Removed meanwhile by its own run.
    }
  }
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), PREFIX));
  process.env[RUN_DIR_VARIABLE] = runDir;
  bundleFolder(lambdaBundles());
  // Every service artifact with a build, of every environment (the same folder is built once).
  for (const service of Object.values(ENVIRONMENTS).flatMap((e) => e.services)) {
    const { directory, build } = service.artifact;
    if (directory !== undefined && build) bundleFolder(artifactBundle(directory, build));
  }
  new ControlTowerRules().assertParsable();
  if (!isFullRun(config)) return;
  const pids = SYNTHESES.map((name) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'synthesize.ts'), name], {
      cwd: path.join(__dirname, '..'),
      detached: true,
      stdio: 'ignore',
      env: process.env,
    });
    child.unref();
    return child.pid;
  });
  fs.writeFileSync(path.join(runDir, BACKGROUND_PIDS), pids.filter((p) => p !== undefined).join('\n'));
}
