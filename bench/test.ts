// Wall time of `npm test` (the README's test command): one cold run, every cache this project's tests fill
// removed first (the bundle and validation caches, tsc's build info, jest's
// transform cache, tsx's compile cache), then warm runs; each with the time of each part (concurrently's --timings). Usage:
//   npm run bench:test [-- <warm runs>]        (default 3)
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.join(__dirname, '..');
const warmRuns = Number(process.argv[2] ?? 3);

/** Removes every cache `npm test` fills, as on a clean clone after `npm ci`. */
function clearCaches(): void {
  fs.rmSync(path.join(ROOT, 'node_modules', '.cache', 'ha-web'), { recursive: true, force: true });
  // tsx's compile cache (the app and the background syntheses run through tsx).
  fs.rmSync(path.join(os.tmpdir(), `tsx-${process.getuid?.() ?? ''}`), { recursive: true, force: true });
  const jest = spawnSync(path.join(ROOT, 'node_modules', '.bin', 'jest'), ['--clearCache'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  if (jest.status !== 0) throw new Error(`jest --clearCache failed:\n${jest.stderr}`);
}

interface Run {
  wallSeconds: number;
  /** Seconds per part of `npm test`, as concurrently reports them. */
  parts: Record<string, number>;
}

function runTests(): Run {
  const start = process.hrtime.bigint();
  const r = spawnSync('npm', ['test'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } });
  const wallSeconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (r.status !== 0) throw new Error(`npm test failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  // concurrently's timings table: "--> │ name │ duration (ms) │ exit code │ killed │ command │".
  const parts: Record<string, number> = {};
  for (const line of `${r.stdout}\n${r.stderr}`.split('\n')) {
    if (!line.includes('│')) continue;
    const [name, duration] = line
      .split('│')
      .slice(1)
      .map((c) => c.trim());
    if (name && /^[\d,]+$/.test(duration ?? ''))
      parts[name] = Number((Number(duration.replaceAll(',', '')) / 1000).toFixed(1));
  }
  return { wallSeconds: Number(wallSeconds.toFixed(1)), parts };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

clearCaches();
const cold = runTests();
const warm: Run[] = [];
for (let i = 0; i < warmRuns; i++) warm.push(runTests());
console.log(
  JSON.stringify(
    {
      machine: { cpus: os.availableParallelism(), node: process.version },
      cold,
      warm,
      warmMedianSeconds: warm.length ? median(warm.map((w) => w.wallSeconds)) : undefined,
    },
    null,
    2,
  ),
);
