import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { tempDir } from './helpers';

const ROOT = path.join(__dirname, '..');
const CDK = path.join(ROOT, 'node_modules', '.bin', 'cdk');

/**
 * Runs `cdk synth` as a newcomer would, with no AWS credentials or config:
 * every AWS_* variable removed and HOME pointing at an empty directory.
 */
function synth(...args: string[]) {
  const outdir = tempDir('cdk-synth-');
  const home = tempDir('home-');
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')));
  const result = spawnSync(CDK, ['synth', '--quiet', '--no-notices', '-o', outdir, ...args], {
    cwd: ROOT,
    env: { ...env, HOME: home, CI: 'true' },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { ...result, outdir };
}

function manifestOf(outdir: string) {
  return JSON.parse(fs.readFileSync(path.join(outdir, 'manifest.json'), 'utf8'));
}

describe('cdk synth without AWS credentials', () => {
  const demo = synth();

  test('synthesizes the default environment', () => {
    expect(demo.stderr).not.toMatch(/Error/);
    expect(demo.status).toBe(0);
  });

  test('writes templates for both regions of demo', () => {
    const templates = fs.readdirSync(demo.outdir).filter((f) => f.endsWith('.template.json'));
    expect(templates.filter((f) => f.endsWith('-us-east-1.template.json'))).toHaveLength(5);
    expect(templates.filter((f) => f.endsWith('-us-west-2.template.json'))).toHaveLength(5);
  });

  test('the manifest lists no missing context (nothing was looked up)', () => {
    expect(manifestOf(demo.outdir).missing ?? []).toEqual([]);
  });

  test('the cdk-nag report has no unsuppressed finding', () => {
    const report = JSON.parse(fs.readFileSync(path.join(demo.outdir, 'validation-report.json'), 'utf8'));
    const nag = report.pluginReports.find((p: { pluginName: string }) => p.pluginName === 'AwsSolutions');
    expect(nag.violations).toEqual([]);
  });

  test('synthesizes prod offline', () => {
    const prod = synth('-c', 'env=prod');
    expect(prod.status).toBe(0);
    expect(manifestOf(prod.outdir).missing ?? []).toEqual([]);
    expect(fs.existsSync(path.join(prod.outdir, 'HaWeb-prod-Data-us-west-2.template.json'))).toBe(true);
  });

  test('an unknown environment fails with a clear error and writes nothing', () => {
    const bad = synth('-c', 'env=nope');
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain('env "nope" is not a known environment');
    expect(fs.readdirSync(bad.outdir)).toEqual([]);
  });
});
