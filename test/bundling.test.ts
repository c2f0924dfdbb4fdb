import * as fs from 'fs';
import * as path from 'path';
import type { BundleKind } from '../lib/bundling';
import * as bundling from '../lib/bundling';
import { ENVIRONMENTS } from '../lib/config';
import { tempDir } from './helpers';

// lib/bundling.ts keys and places its cache by the repository root it is loaded from (`__dirname/..`). To test it
// without building into this repository's cache, and to move "the repository" to another absolute path, each
// test loads a copy of the module from a small stand-in checkout in a temporary folder: the same bytes, with
// that checkout as its root and `<checkout>/node_modules/.cache/ha-web` as its cache. Each load is a fresh
// module, as in a new `cdk synth` process (the module remembers what it built in this process).

type Bundling = typeof bundling;

const MODULE_SOURCE = path.join(__dirname, '..', 'lib', 'bundling.ts');
const ESBUILD_PACKAGE = path.dirname(require.resolve('esbuild/package.json'));

/** Sources of the tiny kind: two entries, one of them importing a third file. */
const TINY_SOURCES: Record<string, string> = {
  'src/a.ts': "import { greet } from './shared';\nexport const a = greet('a');\n",
  'src/b.ts': 'export const b: number = 2;\n',
  'src/shared.ts': 'export const greet = (name: string): string => `hello ${name}`;\n',
};

/** A stand-in checkout: lib/bundling.ts, esbuild, a lock file, a tsconfig and `files` (path → text). */
function checkout(files: Record<string, string> = TINY_SOURCES, root = tempDir('bundling-checkout-')): string {
  const all: Record<string, string> = {
    'lib/bundling.ts': fs.readFileSync(MODULE_SOURCE, 'utf8'),
    'package-lock.json': '{"lockfileVersion": 3}\n',
    'tsconfig.json': '{"compilerOptions": {"strict": true}}\n',
    ...files,
  };
  for (const [file, text] of Object.entries(all)) write(root, file, text);
  fs.mkdirSync(path.join(root, 'node_modules'), { recursive: true });
  fs.symlinkSync(ESBUILD_PACKAGE, path.join(root, 'node_modules', 'esbuild'), 'dir');
  return root;
}

/** A copy of a checkout at another absolute path, without its build cache. */
function copyOf(root: string): string {
  const copy = path.join(tempDir('bundling-elsewhere-'), 'deeper', 'repo');
  fs.cpSync(root, copy, { recursive: true, filter: (src) => !src.includes(`${path.sep}.cache`) });
  return copy;
}

function write(root: string, file: string, text: string): void {
  fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
  fs.writeFileSync(path.join(root, file), text);
}

/**
 * lib/bundling.ts as loaded from `root` by a new process, with esbuild's `buildSync` spied on (and esbuild's
 * version replaced when given).
 */
function load(root: string, esbuildVersion?: string): { mod: Bundling; buildSync: jest.SpyInstance } {
  let mod!: Bundling;
  let buildSync!: jest.SpyInstance;
  jest.isolateModules(() => {
    const esbuild = jest.requireActual('esbuild');
    const spy = jest.fn(esbuild.buildSync);
    jest.doMock('esbuild', () => ({ ...esbuild, buildSync: spy, version: esbuildVersion ?? esbuild.version }));
    mod = jest.requireActual(path.join(root, 'lib', 'bundling.ts'));
    buildSync = spy as unknown as jest.SpyInstance;
  });
  return { mod, buildSync };
}

/** The tiny kind of a checkout: entries `a` and `b`, sources under `src/`. */
function tinyKind(root: string, overrides: Partial<BundleKind> = {}): BundleKind {
  return {
    name: 'tiny',
    entryPoints: { a: path.join(root, 'src', 'a.ts'), b: path.join(root, 'src', 'b.ts') },
    workingDir: root,
    sourceDirs: [path.join(root, 'src')],
    outputFile: 'index.js',
    options: { platform: 'node', format: 'cjs', sourcemap: 'linked' },
    ...overrides,
  };
}

/** Every file under `dir`, relative path → contents. */
function filesIn(dir: string): Record<string, string> {
  return Object.fromEntries(
    (fs.readdirSync(dir, { recursive: true }) as string[])
      .filter((f) => fs.statSync(path.join(dir, f)).isFile())
      .sort()
      .map((f) => [f.split(path.sep).join('/'), fs.readFileSync(path.join(dir, f), 'utf8')]),
  );
}

/** The entries of the bundles folder of a checkout's cache (finished and in-progress builds). */
function bundlesIn(root: string): string[] {
  const dir = path.join(root, 'node_modules', '.cache', 'ha-web', 'bundles');
  return fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
}

describe('cacheDir', () => {
  test('is node_modules/.cache/ha-web of the repository the module is loaded from', () => {
    expect(bundling.cacheDir()).toBe(path.join(__dirname, '..', 'node_modules', '.cache', 'ha-web'));
    const root = checkout();
    expect(load(root).mod.cacheDir()).toBe(path.join(root, 'node_modules', '.cache', 'ha-web'));
  });
});

describe('bundleKey', () => {
  const root = checkout();
  const { mod } = load(root);
  const key = mod.bundleKey(tinyKind(root));

  /** The key of the tiny kind after `change` to a copy of the checkout, loaded with the given esbuild version. */
  function keyAfter(change: (copy: string) => Partial<BundleKind> | void, esbuildVersion?: string): string {
    const copy = copyOf(root);
    const overrides = change(copy) ?? {};
    return load(copy, esbuildVersion).mod.bundleKey(tinyKind(copy, overrides));
  }

  test('is 32 hex digits and the same for the same sources', () => {
    expect(key).toMatch(/^[0-9a-f]{32}$/);
    expect(mod.bundleKey(tinyKind(root))).toBe(key);
  });

  test('is the same when the repository is checked out at another absolute path', () => {
    expect(keyAfter(() => {})).toBe(key);
  });

  test('changes when an entry point changes a byte', () => {
    expect(keyAfter((copy) => write(copy, 'src/b.ts', 'export const b: number = 3;\n'))).not.toBe(key);
  });

  test('changes when a file that only an entry imports changes', () => {
    expect(keyAfter((copy) => write(copy, 'src/shared.ts', 'export const greet = (n: string) => n;\n'))).not.toBe(key);
  });

  test('changes when a file is added to a source folder', () => {
    expect(keyAfter((copy) => write(copy, 'src/unused.ts', 'export {};\n'))).not.toBe(key);
  });

  test('ignores node_modules and dist inside a source folder', () => {
    expect(keyAfter((copy) => write(copy, 'src/dist/a.js', 'old output\n'))).toBe(key);
    expect(keyAfter((copy) => write(copy, 'src/node_modules/x/index.js', 'x\n'))).toBe(key);
  });

  test('changes when the lock file or tsconfig.json changes', () => {
    expect(keyAfter((copy) => write(copy, 'package-lock.json', '{"lockfileVersion": 2}\n'))).not.toBe(key);
    expect(keyAfter((copy) => write(copy, 'tsconfig.json', '{}\n'))).not.toBe(key);
  });

  test('changes when an entry point is added, removed or renamed', () => {
    const src = (copy: string, f: string) => path.join(copy, 'src', f);
    expect(keyAfter((c) => ({ entryPoints: { a: src(c, 'a.ts') } }))).not.toBe(key);
    expect(keyAfter((c) => ({ entryPoints: { a: src(c, 'a.ts'), c: src(c, 'b.ts') } }))).not.toBe(key);
    expect(
      keyAfter((c) => ({ entryPoints: { a: src(c, 'a.ts'), b: src(c, 'b.ts'), s: src(c, 'shared.ts') } })),
    ).not.toBe(key);
  });

  test('changes when a build option, the output file name or the esbuild version changes', () => {
    const options = tinyKind(root).options;
    expect(keyAfter(() => ({ options: { ...options, minify: true } }))).not.toBe(key);
    expect(keyAfter(() => ({ outputFile: 'main.js' }))).not.toBe(key);
    expect(keyAfter(() => {}, '0.0.1')).not.toBe(key);
  });
});

describe('bundleFolder', () => {
  test('builds every entry into <entry>/<outputFile> and its map, nothing else, in the cache', () => {
    const root = checkout();
    const { mod } = load(root);
    const kind = tinyKind(root);
    const folder = mod.bundleFolder(kind);
    expect(folder).toBe(path.join(mod.cacheDir(), 'bundles', `tiny-${mod.bundleKey(kind)}`, 'out'));
    const files = filesIn(folder);
    expect(Object.keys(files)).toEqual(['a/index.js', 'a/index.js.map', 'b/index.js', 'b/index.js.map']);
    expect(files['a/index.js']).toContain('hello ${name}');
    expect(files['a/index.js']).toMatch(/\/\/# sourceMappingURL=index\.js\.map\n$/);
  });

  test('gives the same bytes, with source map paths relative to the working folder, at another absolute path', () => {
    const root = checkout();
    const copy = copyOf(root);
    const here = filesIn(load(root).mod.bundleFolder(tinyKind(root)));
    const there = filesIn(load(copy).mod.bundleFolder(tinyKind(copy)));
    expect(there).toEqual(here);
    expect(JSON.parse(here['a/index.js.map']).sources).toEqual(['src/a.ts', 'src/shared.ts']);
    expect(JSON.parse(here['b/index.js.map']).sources).toEqual(['src/b.ts']);
    for (const text of Object.values(here)) expect(text).not.toContain(root);
  });

  test('builds once: a second call, in this process or the next, reuses the folder', () => {
    const root = checkout();
    const first = load(root);
    const kind = tinyKind(root);
    const folder = first.mod.bundleFolder(kind);
    const complete = path.join(folder, '..', 'complete');
    const before = fs.statSync(complete);
    expect(first.mod.bundleFolder(kind)).toBe(folder);
    const next = load(root);
    expect(next.mod.bundleFolder(kind)).toBe(folder);
    expect(first.buildSync).toHaveBeenCalledTimes(1);
    expect(next.buildSync).not.toHaveBeenCalled();
    expect(fs.statSync(complete)).toMatchObject({ ino: before.ino, mtimeMs: before.mtimeMs });
    expect(fs.readFileSync(complete, 'utf8')).toBe(`tiny-${first.mod.bundleKey(kind)}`);
  });

  test('builds again, the same bytes, after the cache is deleted', () => {
    const root = checkout();
    const kind = tinyKind(root);
    const folder = load(root).mod.bundleFolder(kind);
    const bytes = filesIn(folder);
    fs.rmSync(load(root).mod.cacheDir(), { recursive: true });
    const next = load(root);
    expect(next.mod.bundleFolder(kind)).toBe(folder);
    expect(next.buildSync).toHaveBeenCalledTimes(1);
    expect(filesIn(folder)).toEqual(bytes);
  });

  test('builds in a side folder and renames it into place: the final folder never holds a partial build', () => {
    const root = checkout();
    const { mod, buildSync } = load(root);
    const kind = tinyKind(root);
    const final = path.join(mod.cacheDir(), 'bundles', `tiny-${mod.bundleKey(kind)}`);
    const actual = jest.requireActual('esbuild').buildSync;
    let during: { outdir: string; finalExists: boolean } | undefined;
    buildSync.mockImplementation((options) => {
      during = { outdir: options.outdir, finalExists: fs.existsSync(final) };
      return actual(options);
    });
    mod.bundleFolder(kind);
    expect(during!.finalExists).toBe(false);
    expect(path.dirname(during!.outdir)).toMatch(new RegExp(`^${final}\\.building-`));
    expect(bundlesIn(root)).toEqual([path.basename(final)]);
  });

  test("a source that does not compile throws esbuild's error and leaves no folder behind", () => {
    const root = checkout({ ...TINY_SOURCES, 'src/b.ts': 'export const = 2;\n' });
    const { mod } = load(root);
    expect(() => mod.bundleFolder(tinyKind(root))).toThrow(/Build failed with 1 error[\s\S]*src\/b\.ts:1:\d+: ERROR/);
    expect(bundlesIn(root)).toEqual([]);
    // Nothing left blocks the build once the source is fixed.
    write(root, 'src/b.ts', TINY_SOURCES['src/b.ts']);
    expect(fs.existsSync(path.join(mod.bundleFolder(tinyKind(root)), 'b', 'index.js'))).toBe(true);
  });
});

describe('fixed faults', () => {
  test('the key does not depend on where sources outside the repository are (a kind over a temporary folder)', () => {
    const { mod } = load(checkout());
    const sources = (dir: string) => {
      for (const [file, text] of Object.entries(TINY_SOURCES)) write(dir, file, text);
      return dir;
    };
    const here = sources(tempDir('bundling-kind-'));
    const there = sources(path.join(tempDir('bundling-kind-'), 'elsewhere'));
    expect(mod.bundleKey(tinyKind(here))).toBe(mod.bundleKey(tinyKind(there)));
  });

  test('deleting the cache while the process runs builds again, not a path that is gone', () => {
    const root = checkout();
    const { mod, buildSync } = load(root);
    const first = mod.bundleFolder(tinyKind(root));
    fs.rmSync(path.join(root, 'node_modules', '.cache'), { recursive: true, force: true });
    const again = mod.bundleFolder(tinyKind(root));
    expect(again).toBe(first);
    expect(fs.existsSync(path.join(again, 'a', 'index.js'))).toBe(true);
    expect(buildSync).toHaveBeenCalledTimes(2);
  });

  test('a folder left without its completion marker (an interrupted delete) does not block the build', () => {
    const root = checkout();
    const { mod } = load(root);
    const folder = path.dirname(mod.bundleFolder(tinyKind(root)));
    fs.rmSync(path.join(folder, 'complete'));
    fs.rmSync(path.join(folder, 'out', 'b'), { recursive: true });
    const { mod: next } = load(root);
    const out = next.bundleFolder(tinyKind(root));
    expect(Object.keys(filesIn(out))).toEqual(['a/index.js', 'a/index.js.map', 'b/index.js', 'b/index.js.map']);
    expect(fs.existsSync(path.join(folder, 'complete'))).toBe(true);
  });
});

describe('the real kinds list every repository file their entry points import', () => {
  /** Repository files reached from `entries` through relative imports, resolved as esbuild does for .ts. */
  function imported(entries: readonly string[]): string[] {
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = fs.readFileSync(file, 'utf8');
      for (const m of text.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
        const base = path.resolve(path.dirname(file), m[1]!);
        const found = [`${base}.ts`, path.join(base, 'index.ts'), base].find(
          (f) => fs.existsSync(f) && fs.statSync(f).isFile(),
        );
        if (found) visit(found);
      }
    };
    entries.forEach(visit);
    return [...seen];
  }

  /** Every service artifact with a build of every environment, once per distinct artifact. */
  const artifacts = [
    ...new Map(
      Object.values(ENVIRONMENTS)
        .flatMap((e) => e.services.map((s) => [e.name, s] as const))
        .filter(([, s]) => s.artifact.directory !== undefined && s.artifact.build !== undefined)
        .map(([env, s]) => [JSON.stringify(s.artifact), [`${s.name} (${env})`, s.artifact] as const]),
    ).values(),
  ];

  test('the environments have service artifacts with a build: at least the reference service and the catalog example', () => {
    expect(artifacts.map(([, a]) => a.directory)).toEqual(expect.arrayContaining(['service', 'services/catalog']));
  });

  test.each<[string, () => BundleKind]>([
    ['lambda', () => bundling.lambdaBundles()],
    ...artifacts.map(
      ([name, a]) =>
        [`service artifact ${name}`, () => bundling.artifactBundle(a.directory!, a.build!)] as [
          string,
          () => BundleKind,
        ],
    ),
  ])('%s', (_name, kindOf) => {
    const kind = kindOf();
    const covered = (f: string) => kind.sourceDirs.some((d) => f === d || f.startsWith(d + path.sep));
    const files = imported(Object.values(kind.entryPoints));
    expect(files.length).toBeGreaterThan(3);
    // The lambda kind once listed only lambda/, and preflight imports lib/stack-outputs.ts: a change of it kept
    // the old bundle (two checkouts then gave preflight different asset hashes).
    expect(files.filter((f) => !covered(f))).toEqual([]);
  });

  test('the check sees an import from outside the folder: the catalog example imports the reference service', () => {
    const catalog = artifacts.find(([, a]) => a.directory === 'services/catalog')![1];
    const kind = bundling.artifactBundle(catalog.directory!, catalog.build!);
    const outside = imported(Object.values(kind.entryPoints)).filter(
      (f) => !f.startsWith(path.join(bundling.REPO_ROOT, 'services', 'catalog') + path.sep),
    );
    expect(outside).toEqual([
      path.join(bundling.REPO_ROOT, 'service', 'src', 'db-auth.ts'),
      path.join(bundling.REPO_ROOT, 'service', 'src', 'errors.ts'),
    ]);
    // Without its extra sources, the kind would not cover it.
    const bare = bundling.artifactBundle(catalog.directory!, { entry: catalog.build!.entry });
    expect(bare.sourceDirs.some((d) => outside[0]!.startsWith(d + path.sep))).toBe(false);
  });
});

describe('lambdaBundles', () => {
  const FUNCTIONS: Record<string, string> = {
    'lambda/README.md': '# functions\n',
    'lambda/beta/index.ts': "import { log } from '../shared/log';\nexport const handler = async () => log('beta');\n",
    'lambda/alpha/index.ts': 'export const handler = async () => "alpha";\n',
    'lambda/alpha/helper.ts': 'export const unused = 1;\n',
    'lambda/shared/log.ts': 'export const log = (m: string) => m;\n',
    'lambda/notes/README.md': 'no function here\n',
  };

  test('has one entry per folder under lambda/ with an index.ts, sorted', () => {
    const root = checkout(FUNCTIONS);
    const kind = load(root).mod.lambdaBundles();
    expect(kind.entryPoints).toEqual({
      alpha: path.join(root, 'lambda', 'alpha', 'index.ts'),
      beta: path.join(root, 'lambda', 'beta', 'index.ts'),
    });
    expect(Object.keys(kind.entryPoints)).toEqual(['alpha', 'beta']);
    expect(kind).toMatchObject({
      name: 'lambda',
      workingDir: root,
      sourceDirs: [path.join(root, 'lambda'), path.join(root, 'contract')],
    });
  });

  test("the repository's functions, without lambda/shared", () => {
    const names = Object.keys(bundling.lambdaBundles().entryPoints);
    expect(names).toEqual(['cache-failover', 'database-roles', 'efs-replication', 'postcheck', 'preflight', 'rejoin']);
  });

  test('lambdaBundleDir is the folder of one function: a minified index.js and its map', () => {
    const root = checkout(FUNCTIONS);
    const { mod } = load(root);
    const dir = mod.lambdaBundleDir('beta');
    expect(dir).toBe(path.join(mod.bundleFolder(mod.lambdaBundles()), 'beta'));
    expect(fs.readdirSync(dir).sort()).toEqual(['index.js', 'index.js.map']);
    // Minified: one line of code, then the link to the map.
    expect(fs.readFileSync(path.join(dir, 'index.js'), 'utf8')).toMatch(
      /^[^\n]+\n\/\/# sourceMappingURL=index\.js\.map\n$/,
    );
    const map = JSON.parse(fs.readFileSync(path.join(dir, 'index.js.map'), 'utf8'));
    expect(map.sources).toEqual(['lambda/beta/index.ts', 'lambda/shared/log.ts']);
  });

  test('lambdaBundleDir of an unknown function fails with a clear error and builds nothing', () => {
    const root = checkout(FUNCTIONS);
    const { mod, buildSync } = load(root);
    const needs = (name: string) =>
      `no function ${name} under ${path.join(root, 'lambda')} (it needs ${name}/index.ts)`;
    expect(() => mod.lambdaBundleDir('nope')).toThrow(needs('nope'));
    expect(() => mod.lambdaBundleDir('shared')).toThrow(needs('shared'));
    expect(buildSync).not.toHaveBeenCalled();
    expect(() => bundling.lambdaBundleDir('nope')).toThrow(
      /^no function nope under .*lambda \(it needs nope\/index\.ts\)$/,
    );
  });
});

describe('nodeServiceBundle', () => {
  test('bundles the entry of the source folder into server.js at the top, map relative to that folder', () => {
    const root = checkout({
      'service/src/server.ts': "import 'pg-native';\nimport { port } from './config';\nconsole.log(port);\n",
      'service/src/config.ts': 'export const port = 8080;\n',
    });
    const { mod } = load(root);
    const sourceDir = path.join(root, 'service');
    const files = filesIn(mod.bundleFolder(mod.nodeServiceBundle(sourceDir, 'src/server.ts')));
    expect(Object.keys(files)).toEqual(['server.js', 'server.js.map']);
    expect(files['server.js']).toContain('require("pg-native")');
    expect(JSON.parse(files['server.js.map']).sources).toEqual(['src/server.ts', 'src/config.ts']);
  });

  test('any entry point of the folder, not only src/server.ts', () => {
    const root = checkout({ 'svc/main.ts': 'console.log("main");\n' });
    const { mod } = load(root);
    const files = filesIn(mod.bundleFolder(mod.nodeServiceBundle(path.join(root, 'svc'), 'main.ts')));
    expect(Object.keys(files)).toEqual(['server.js', 'server.js.map']);
    expect(files['server.js']).toContain('console.log("main")');
  });
});

describe('artifactBundle', () => {
  const FILES: Record<string, string> = {
    'services/orders/src/main.ts': "import { shared } from '../../../lib/shared/util';\nconsole.log(shared);\n",
    'services/orders/package.json': '{"name": "orders"}\n',
    'lib/shared/util.ts': "export const shared = 'one';\n",
    'lib/shared/unrelated.ts': 'export const unrelated = 1;\n',
  };
  const BUILD = { entry: 'src/main.ts', extraSources: ['lib/shared/util.ts'] };
  const root = checkout(FILES);
  const { mod } = load(root);
  const key = mod.bundleKey(mod.artifactBundle('services/orders', BUILD));

  /** The key of the orders artifact after `change` to a copy of the checkout. */
  function keyAfter(change: (copy: string) => void, build = BUILD): string {
    const copy = copyOf(root);
    change(copy);
    const { mod: there } = load(copy);
    return there.bundleKey(there.artifactBundle('services/orders', build));
  }

  test('takes the directory and the extra sources relative to the repository root, the entry relative to the directory', () => {
    expect(mod.artifactBundle('services/orders', BUILD)).toMatchObject({
      name: 'service',
      entryPoints: { '.': path.join(root, 'services', 'orders', 'src', 'main.ts') },
      workingDir: path.join(root, 'services', 'orders'),
      sourceDirs: [path.join(root, 'services', 'orders'), path.join(root, 'lib', 'shared', 'util.ts')],
      outputFile: 'server.js',
    });
  });

  test('is the same at another absolute path of the repository', () => {
    expect(keyAfter(() => {})).toBe(key);
  });

  test('a change to an extra source changes the key (so the bundle is built again)', () => {
    expect(keyAfter((copy) => write(copy, 'lib/shared/util.ts', "export const shared = 'two';\n"))).not.toBe(key);
  });

  test('a file outside the directory that is not an extra source does not count', () => {
    expect(keyAfter((copy) => write(copy, 'lib/shared/unrelated.ts', 'export const unrelated = 2;\n'))).toBe(key);
  });

  test('every file of the directory counts, not only src/, but node_modules and dist', () => {
    expect(keyAfter((copy) => write(copy, 'services/orders/package.json', '{"name": "orders2"}\n'))).not.toBe(key);
    expect(keyAfter((copy) => write(copy, 'services/orders/README.md', '# orders\n'))).not.toBe(key);
    expect(keyAfter((copy) => write(copy, 'services/orders/dist/server.js', 'old output\n'))).toBe(key);
    expect(keyAfter((copy) => write(copy, 'services/orders/node_modules/x/index.js', 'x\n'))).toBe(key);
  });

  test('builds the entry with its extra source into server.js', () => {
    const files = filesIn(mod.bundleFolder(mod.artifactBundle('services/orders', BUILD)));
    expect(Object.keys(files)).toEqual(['server.js', 'server.js.map']);
    expect(files['server.js']).toContain('var shared = "one";');
    expect(JSON.parse(files['server.js.map']).sources.sort()).toEqual(['../../lib/shared/util.ts', 'src/main.ts']);
  });
});
