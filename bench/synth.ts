// Synth wall time of the whole app against an empty one-stack app, through
// the real CLI, both with the project's cdk.json: the median of <runs> warm
// runs of each, alternated, and one cold whole-app run first. Usage:
//   npm run bench:synth [-- <runs>]
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.join(__dirname, '..');
const CDK = path.join(ROOT, 'node_modules', '.bin', 'cdk');
const runs = Number(process.argv[2] ?? 5);

function timeSynth(app: string | undefined): number {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-synth-'));
  const args = ['synth', '--quiet', '--no-notices', '-o', out, ...(app ? ['--app', app] : [])];
  const start = process.hrtime.bigint();
  const r = spawnSync(CDK, args, { cwd: ROOT, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  fs.rmSync(out, { recursive: true, force: true });
  if (r.status !== 0) throw new Error(`cdk synth failed:\n${r.stderr}`);
  return ms;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// Cold: the build cache (bundles, validation results) removed, as on a clean clone after `npm ci`.
fs.rmSync(path.join(ROOT, 'node_modules', '.cache', 'ha-web'), { recursive: true, force: true });
const coldWholeAppMs = Math.round(timeSynth(undefined));
const whole: number[] = [];
const empty: number[] = [];
for (let i = 0; i < runs; i++) {
  whole.push(timeSynth(undefined));
  empty.push(timeSynth('node --import tsx bench/empty-app.ts'));
}
const result = {
  runs,
  wholeAppMedianMs: Math.round(median(whole)),
  emptyAppMedianMs: Math.round(median(empty)),
  ratio: Number((median(whole) / median(empty)).toFixed(2)),
  coldWholeAppMs,
  machine: { cpus: os.availableParallelism(), node: process.version },
};
console.log(JSON.stringify(result, null, 2));
