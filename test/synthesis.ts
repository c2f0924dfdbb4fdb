/**
 * How the whole-app syntheses of a test run are made and shared (test/synthesized.ts reads them): each is made
 * once per run by the real CLI into the run directory (`HA_WEB_TEST_RUN_DIR`, made by test/global-setup.ts),
 * by the first process that asks for it (a jest worker, or a background process test/global-setup.ts starts for
 * a full run); every other process waits for that one's result. Imports nothing from aws-cdk-lib, so a
 * background process starts fast.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { RUN_DIR_VARIABLE } from './run-dir';

const ROOT = path.join(__dirname, '..');

/** How long a process waits for another's synthesis of the same name, in milliseconds. */
const WAIT_MS = 240_000;

/** The shipped environments' names. */
export type EnvironmentName = 'demo' | 'staging' | 'prod';

/** The outcome of one `cdk synth`. */
export interface SynthResult {
  outdir: string;
  status: number | null;
  stderr: string;
}

let ownRunDir: string | undefined;
export function runDir(): string {
  const shared = process.env[RUN_DIR_VARIABLE];
  if (shared) return shared;
  if (!ownRunDir) {
    ownRunDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ha-web-synth-'));
    const dir = ownRunDir;
    process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  }
  return ownRunDir;
}

const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** What test/synthesized.ts synthesizes: a shipped environment, or demo from a second checkout. */
export type SynthesisName = EnvironmentName | 'demo-elsewhere';

/** Every synthesis a full test run uses. */
export const SYNTHESES: readonly SynthesisName[] = ['demo', 'prod', 'staging', 'demo-elsewhere'];

/**
 * Synthesizes `name` into the run directory unless another process has or is doing so, and returns the result;
 * a process that finds the synthesis under way waits for it (up to 4 minutes) and takes it over if its owner
 * died.
 */
export function ensureSynthesized(name: SynthesisName): SynthResult {
  const base = path.join(runDir(), name);
  const lock = `${base}.lock`;
  const done = `${base}.json`;
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    if (fs.existsSync(done)) return JSON.parse(fs.readFileSync(done, 'utf8'));
    try {
      fs.mkdirSync(lock);
    } catch {
      // Another process holds the lock: wait for its result, or take over if it died.
      const owner = Number(readOr(path.join(lock, 'pid'), '0'));
      // An owner that died between taking the lock and writing its pid leaves a lock without one.
      const orphaned = !owner && Date.now() - mtimeOr(lock, Date.now()) > 10_000;
      if ((owner && !alive(owner)) || orphaned) fs.rmSync(lock, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new Error(`timed out waiting for the synth of ${name} (lock ${lock})`);
      else sleep(100);
      continue;
    }
    fs.writeFileSync(path.join(lock, 'pid'), String(process.pid));
    const result = name === 'demo-elsewhere' ? synthElsewhere(base) : runSynth(name, `${base}.out`);
    fs.writeFileSync(`${done}.tmp`, JSON.stringify(result));
    fs.renameSync(`${done}.tmp`, done);
    return result;
  }
}

function mtimeOr(file: string, fallback: number): number {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return fallback;
  }
}

function readOr(file: string, fallback: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
}

/**
 * Runs `cdk synth` as a newcomer would, with no AWS credentials or config: every AWS_* variable removed and
 * HOME pointing at an empty directory. `outdir` undefined: the CLI's default (`cdk.out` in `cwd`). Returns the
 * exit status and standard error; never throws on a failed synth.
 */
export function cliSynth(
  outdir: string | undefined,
  args: string[] = [],
  cwd: string = ROOT,
  extraEnv: Record<string, string> = {},
): SynthResult {
  const out = outdir ?? path.join(cwd, 'cdk.out');
  fs.rmSync(out, { recursive: true, force: true });
  if (outdir) fs.mkdirSync(outdir, { recursive: true });
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'ha-web-home-'));
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')));
  try {
    const cdk = path.join(cwd, 'node_modules', '.bin', 'cdk');
    const r = spawnSync(cdk, ['synth', '--quiet', '--no-notices', ...(outdir ? ['-o', outdir] : []), ...args], {
      cwd,
      // No CLI telemetry from test runs: each synth would otherwise start a sender process that tries the network
      // (aws-cdk's CDK_DISABLE_CLI_TELEMETRY).
      env: { ...env, ...extraEnv, HOME: home, CI: 'true', CDK_DISABLE_CLI_TELEMETRY: 'true' },
      encoding: 'utf8',
      timeout: 180_000,
    });
    return { outdir: out, status: r.status, stderr: `${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
}

/**
 * demo is the default environment: it is synthesized with no `-c env` and every rule set on, exactly as the
 * README's first command does. staging and prod skip aws-cdk-lib's built-in CloudFormation Validate
 * (`CDK_VALIDATION=false`, its documented switch): no test reads that rule set's findings (under the CLI it
 * reports none), it costs about 5 s per environment on a cold cache, and CI runs it on every environment's
 * templates in `npm run lint:templates`. cdk-nag and the Control Tower rules run on all three.
 */
function runSynth(name: EnvironmentName, outdir: string): SynthResult {
  return name === 'demo'
    ? cliSynth(outdir)
    : cliSynth(outdir, ['-c', `env=${name}`], ROOT, { CDK_VALIDATION: 'false' });
}

/**
 * A second checkout of the project at another path (`<base>.checkout`, in the run directory): the project's
 * files copied, every package of node_modules hard-linked (its files keep real paths inside the checkout, as
 * after `npm ci` there), and of the build cache only the validation results, so every bundle is built again at
 * the new path. When the run directory is on another file system than node_modules (hard links cannot cross
 * one), the packages are copied instead: slower, the same result. (Not under node_modules/.cache: esbuild treats
 * sources below a node_modules folder differently, so the bundles would differ for that reason alone.)
 */
function secondCheckout(base: string): string {
  const modules = path.join(ROOT, 'node_modules');
  const packages = fs
    .readdirSync(modules)
    .filter((e) => e !== '.cache')
    .map((e) => path.join(modules, e));
  const validation = path.join(modules, '.cache', 'ha-web', 'validation');
  const dir = `${base}.checkout`;
  const cache = path.join(dir, 'node_modules', '.cache', 'ha-web');
  const copy = (flags: string) =>
    spawnSync('cp', [flags, ...packages, path.join(dir, 'node_modules')], { encoding: 'utf8' }).status === 0 &&
    (!fs.existsSync(validation) || spawnSync('cp', [flags, validation, cache], { encoding: 'utf8' }).status === 0);
  fs.mkdirSync(cache, { recursive: true });
  if (!copy('-al')) {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(cache, { recursive: true });
    if (!copy('-a')) throw new Error(`cannot copy the packages of ${modules} into ${dir}`);
  }
  const skip = new Set(['node_modules', '.git', 'cdk.out'].map((f) => path.join(ROOT, f)));
  for (const entry of fs.readdirSync(ROOT)) {
    const from = path.join(ROOT, entry);
    if (!skip.has(from)) fs.cpSync(from, path.join(dir, entry), { recursive: true });
  }
  return dir;
}

/**
 * Plain `cdk synth` (demo, the default `cdk.out`) in a second checkout at another path, after demo's own
 * synthesis: the checkout then starts with its validation results (only the bundle cache is left out), so only
 * what the comparison is about, the bundles and the templates, is made again.
 */
function synthElsewhere(base: string): SynthResult {
  ensureSynthesized('demo');
  return cliSynth(undefined, [], secondCheckout(base));
}

/**
 * demo synthesized by plain `cdk synth` in a second checkout of the project at another path, into the default
 * `cdk.out` there, on a cold bundle cache; once per test run. {@link synthesized}('demo') writes outside the
 * checkout (`-o` in the run directory): the two must give the same templates.
 */
export function synthesizedElsewhere(): SynthResult {
  return ensureSynthesized('demo-elsewhere');
}
