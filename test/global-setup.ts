/**
 * jest global set-up: a directory for this run's shared artifacts (the whole-app syntheses of
 * test/synthesized.ts, the PostgreSQL template of support/local-servers.ts), named to the workers through
 * HA_WEB_TEST_RUN_DIR and removed by test/global-teardown.ts. Run directories that a killed run left behind
 * (older than an hour) are removed here.
 *
 * It also fills the build cache once (lib/bundling.ts: the Lambda and service bundles; the Control Tower rules'
 * parse check), so the syntheses that the workers start side by side find it filled instead of each doing the
 * same work on a cold cache. On a filled cache this takes a fraction of a second.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { bundleFolder, lambdaBundles, serviceBundle } from '../lib/bundling';
import { ControlTowerRules } from '../lib/compliance/control-tower';
import { SERVICE_SOURCE_DIR } from '../lib/constructs/service-bundle';
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
  bundleFolder(lambdaBundles());
  bundleFolder(serviceBundle(SERVICE_SOURCE_DIR));
  // Validating no template runs only the parse check of every rules file (and records a clean result).
  new ControlTowerRules().validate({ stackTemplates: [] } as never);
}
