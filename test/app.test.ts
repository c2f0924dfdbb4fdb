import * as fs from 'fs';
import * as path from 'path';
import { tempDir } from './helpers';
import { cliSynth, synthesized, synthesizedElsewhere } from './synthesized';

const ROOT = path.join(__dirname, '..');

function manifestOf(outdir: string) {
  return JSON.parse(fs.readFileSync(path.join(outdir, 'manifest.json'), 'utf8'));
}

/** The templates of a cloud assembly, by file name. */
function templatesIn(outdir: string): Record<string, string> {
  return Object.fromEntries(
    fs
      .readdirSync(outdir)
      .filter((f) => f.endsWith('.template.json'))
      .sort()
      .map((f) => [f, fs.readFileSync(path.join(outdir, f), 'utf8')]),
  );
}

describe('cdk synth without AWS credentials', () => {
  const demo = synthesized('demo');

  test('synthesizes the default environment (plain `cdk synth`)', () => {
    expect(demo.stderr).not.toMatch(/Error/);
    expect(demo.status).toBe(0);
  });

  test('writes templates for both regions of demo', () => {
    const templates = Object.keys(templatesIn(demo.outdir));
    expect(templates.filter((f) => f.endsWith('-us-east-1.template.json'))).toHaveLength(5);
    expect(templates.filter((f) => f.endsWith('-us-west-2.template.json'))).toHaveLength(5);
  });

  test('the manifest lists no missing context (nothing was looked up)', () => {
    expect(demo.manifest.missing ?? []).toEqual([]);
  });

  test('the cdk-nag report has no unsuppressed finding', () => {
    expect(demo.report('AwsSolutions')!.violations).toEqual([]);
  });

  test('synthesizes prod offline', () => {
    const prod = synthesized('prod');
    expect(prod.status).toBe(0);
    expect(prod.manifest.missing ?? []).toEqual([]);
    expect(fs.existsSync(path.join(prod.outdir, 'HaWeb-prod-Data-us-west-2.template.json'))).toBe(true);
  });

  test('an unknown environment fails with a clear error and writes nothing', () => {
    const bad = cliSynth(tempDir('cdk-synth-'), ['-c', 'env=nope']);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain('env "nope" is not a known environment');
    expect(fs.readdirSync(bad.outdir)).toEqual([]);
  });

  test('bin/app.ts passes the recorded facts of cdk.context.json (haweb:<env>:recorded) on: a bad one fails before any template', () => {
    const bad = cliSynth(tempDir('cdk-synth-'), ['-c', 'haweb:demo:recorded=nope']);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain('context haweb:demo:recorded must be an object');
    expect(fs.readdirSync(bad.outdir)).toEqual([]);
  });
});

describe('deterministic assets', () => {
  // The shared synthesis writes outside the checkout (`-o` in the run directory); the other runs in a second
  // checkout at another path, with the default `cdk.out` and a cold bundle cache (test/synthesized.ts).
  test('the templates are identical with another output directory and another checkout path', () => {
    const other = synthesizedElsewhere();
    expect(other.stderr).not.toMatch(/Error/);
    expect(other.status).toBe(0);
    expect(path.basename(other.outdir)).toBe('cdk.out');
    expect(path.dirname(other.outdir)).not.toBe(ROOT);
    expect(fs.existsSync(path.join(path.dirname(other.outdir), 'bin', 'app.ts'))).toBe(true);
    const expected = templatesIn(synthesized('demo').outdir);
    expect(Object.keys(expected)).toHaveLength(10);
    expect(templatesIn(other.outdir)).toEqual(expected);
    // Same asset folders, so the same bytes went into every asset hash.
    const assets = (dir: string) =>
      fs
        .readdirSync(dir)
        .filter((f) => f.startsWith('asset.'))
        .sort();
    expect(assets(other.outdir)).toEqual(assets(synthesized('demo').outdir));
    expect(manifestOf(other.outdir).missing ?? []).toEqual([]);
  });
});
