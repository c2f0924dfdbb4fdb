import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { tempDir } from './helpers';
import { cliSynth, synthesized } from './synthesized';

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

/**
 * A second checkout of the project at another path: the project's files copied, node_modules hard-linked (its
 * files keep real paths inside the checkout, as after `npm ci` there) without the build cache, so every
 * bundle is built again at the new path. Falls back to a folder under node_modules/.cache when the
 * temporary directory is on another file system (hard links cannot cross one).
 */
function secondCheckout(): string {
  const candidates = [os.tmpdir(), path.join(ROOT, 'node_modules', '.cache', 'ha-web')];
  for (const parent of candidates) {
    fs.mkdirSync(parent, { recursive: true });
    const dir = fs.mkdtempSync(path.join(parent, 'ha-web-checkout-'));
    process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
    try {
      execFileSync('cp', ['-al', path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules')], { stdio: 'pipe' });
    } catch {
      fs.rmSync(dir, { recursive: true, force: true });
      continue;
    }
    fs.rmSync(path.join(dir, 'node_modules', '.cache', 'ha-web', 'bundles'), { recursive: true, force: true });
    const skip = new Set(['node_modules', '.git', 'cdk.out'].map((f) => path.join(ROOT, f)));
    for (const entry of fs.readdirSync(ROOT)) {
      const from = path.join(ROOT, entry);
      if (!skip.has(from)) fs.cpSync(from, path.join(dir, entry), { recursive: true });
    }
    return dir;
  }
  throw new Error(`cannot hard-link node_modules into any of ${candidates.join(', ')}`);
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
});

describe('deterministic assets', () => {
  // The shared synthesis writes outside the checkout (`-o` in the temporary directory); this one runs in a
  // second checkout at another path, with the default `cdk.out` and a cold bundle cache.
  test('the templates are identical with another output directory and another checkout path', () => {
    const checkout = secondCheckout();
    const other = cliSynth(undefined, [], checkout);
    expect(other.stderr).not.toMatch(/Error/);
    expect(other.status).toBe(0);
    expect(other.outdir).toBe(path.join(checkout, 'cdk.out'));
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
