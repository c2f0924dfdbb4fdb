/**
 * esbuild bundles of the app's own code (the region switch functions, the reference service), built at most
 * once per content: every entry point of a kind in one esbuild call, into a content-addressed folder of the
 * build cache. A synth, a test run or a second region reuses the folder instead of building again; the folder
 * is only rebuilt when a source file, the lock file, the tsconfig, the esbuild version or the build options
 * change. Deleting the cache is always safe: the next synth builds again.
 *
 * The output does not depend on where the repository is checked out or where `cdk synth -o` writes: source
 * map paths are relative to the repository root, and assets are staged from the cache folder by their
 * content hash.
 */
import { buildSync, version as esbuildVersion, type BuildOptions } from 'esbuild';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

/** The repository root. */
export const REPO_ROOT = path.join(__dirname, '..');

/** Folder of the build cache: `node_modules/.cache/ha-web` (the conventional place for tool caches; `npm ci` empties it). */
export function cacheDir(): string {
  return path.join(REPO_ROOT, 'node_modules', '.cache', 'ha-web');
}

/** Files under `dir` (recursively, in code-point order of their names, the same in every locale), absolute. */
function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  if (!fs.statSync(dir).isDirectory()) return [dir];
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .flatMap((e) => {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) return e.name === 'node_modules' || e.name === 'dist' ? [] : filesUnder(full);
      return [full];
    });
}

/** What a bundle kind is built from: its entry points and the folders its sources live in. */
export interface BundleKind {
  /** Name of the kind, part of the cache folder's name (`lambda`, `service`). */
  readonly name: string;
  /** Entry points: output folder name (`.` for the top of the bundle folder) → TypeScript file. */
  readonly entryPoints: Record<string, string>;
  /**
   * Folder that the paths inside the output are relative to: esbuild's working folder, and the base of the
   * source map's `sources`.
   */
  readonly workingDir: string;
  /**
   * Folders whose every file counts as a source of the kind, and single files outside them that an entry point
   * imports (besides the lock file and tsconfig.json). Every repository file the entry points import must be
   * here, or a change of it would not change the key and an old bundle would be reused
   * (test/bundling.test.ts checks the imports).
   */
  readonly sourceDirs: readonly string[];
  /** esbuild options besides the entry points and output folder. */
  readonly options: BuildOptions;
  /** Name of each entry's output file inside its folder (its `.map` sits beside it). */
  readonly outputFile: string;
}

/**
 * The cache key of a kind: SHA-256 over the esbuild version, the options, the entry points and the path and
 * bytes of every source file (paths relative to the kind's working folder, so the key does not depend on where
 * the sources are), and the bytes of the repository's `package-lock.json` (the versions of what gets bundled
 * from node_modules) and `tsconfig.json`.
 */
export function bundleKey(kind: BundleKind): string {
  const hash = createHash('sha256');
  const relative = (f: string) => path.relative(kind.workingDir, f).split(path.sep).join('/');
  hash.update(JSON.stringify({ esbuild: esbuildVersion, options: kind.options, out: kind.outputFile }));
  hash.update(JSON.stringify(Object.entries(kind.entryPoints).map(([n, f]) => [n, relative(f)])));
  const files: [string, string][] = [
    ...kind.sourceDirs.flatMap(filesUnder).map((f): [string, string] => [relative(f), f]),
    ['package-lock.json', path.join(REPO_ROOT, 'package-lock.json')],
    ['tsconfig.json', path.join(REPO_ROOT, 'tsconfig.json')],
  ];
  for (const [name, full] of files) {
    hash.update(`\0${name}\0`);
    if (fs.existsSync(full)) hash.update(fs.readFileSync(full));
  }
  return hash.digest('hex').slice(0, 32);
}

const built = new Map<string, string>();

/**
 * The folder holding every entry of `kind` built (`<folder>/<entry>/<outputFile>` and its `.map`, nothing else), building
 * them in one esbuild call when the cache has no folder for the current sources. Safe when several processes
 * build at once (each builds into its own folder and renames it into place). Throws esbuild's error when a
 * source does not compile.
 */
export function bundleFolder(kind: BundleKind): string {
  const key = `${kind.name}-${bundleKey(kind)}`;
  const folder = path.join(cacheDir(), 'bundles', key);
  const cached = built.get(key);
  // The cache may have been deleted since (it is safe to delete at any time): then build again.
  if (cached && fs.existsSync(path.join(folder, 'complete'))) return cached;
  if (!fs.existsSync(path.join(folder, 'complete'))) {
    fs.mkdirSync(path.dirname(folder), { recursive: true });
    const work = fs.mkdtempSync(`${folder}.building-`);
    try {
      build(kind, path.join(work, 'out'));
      fs.writeFileSync(path.join(work, 'complete'), key);
      // A folder without its marker is what an interrupted delete leaves: it holds no finished build.
      if (fs.existsSync(folder) && !fs.existsSync(path.join(folder, 'complete'))) {
        fs.rmSync(folder, { recursive: true, force: true });
      }
      try {
        fs.renameSync(work, folder);
      } catch (err) {
        // Another process finished the same build first: its folder has the same bytes.
        if (!fs.existsSync(path.join(folder, 'complete'))) throw err;
      }
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  }
  built.set(key, path.join(folder, 'out'));
  return path.join(folder, 'out');
}

function build(kind: BundleKind, outdir: string): void {
  const result = buildSync({
    ...kind.options,
    // Paths esbuild writes into the bundle's comments are relative to this: the same on every machine.
    absWorkingDir: kind.workingDir,
    entryPoints: Object.fromEntries(
      Object.entries(kind.entryPoints).map(([name, file]) => [
        path.posix.join(name, path.basename(kind.outputFile, '.js')),
        file,
      ]),
    ),
    outdir,
    bundle: true,
    write: false,
    logLevel: 'silent',
  });
  for (const file of result.outputFiles) {
    let contents: string | Uint8Array = file.contents;
    if (file.path.endsWith('.map')) {
      // esbuild writes source paths relative to the map's folder, which is inside the cache: make them
      // relative to the working folder, so the bytes do not depend on where the cache is.
      const map = JSON.parse(file.text) as { sources: string[] };
      map.sources = map.sources.map((s) =>
        path
          .relative(kind.workingDir, path.resolve(path.dirname(file.path), s))
          .split(path.sep)
          .join('/'),
      );
      contents = JSON.stringify(map);
    }
    fs.mkdirSync(path.dirname(file.path), { recursive: true });
    fs.writeFileSync(file.path, contents);
  }
}

/** Folder of the region switch functions' sources, one sub-folder per function plus `shared`. */
export const LAMBDA_DIR = path.join(REPO_ROOT, 'lambda');

/**
 * The region switch functions: one CommonJS bundle per function folder under `lambda/` (minified, with a linked
 * source map, Node.js 22, every dependency bundled), as `<function>/index.js`.
 */
export function lambdaBundles(): BundleKind {
  const names = fs
    .readdirSync(LAMBDA_DIR, { withFileTypes: true })
    .filter((e) => e.isDirectory() && fs.existsSync(path.join(LAMBDA_DIR, e.name, 'index.ts')))
    .map((e) => e.name)
    .sort();
  return {
    name: 'lambda',
    entryPoints: Object.fromEntries(names.map((n) => [n, path.join(LAMBDA_DIR, n, 'index.ts')])),
    workingDir: REPO_ROOT,
    // contract/: the names shared with the CDK app and the CLI (it has no aws-cdk-lib import).
    sourceDirs: [LAMBDA_DIR, path.join(REPO_ROOT, 'contract')],
    outputFile: 'index.js',
    options: {
      platform: 'node',
      target: 'node22',
      format: 'cjs',
      minify: true,
      sourcemap: 'linked',
      mainFields: ['module', 'main'],
      // database-roles uses pg, whose optional native binding is never installed.
      external: ['pg-native'],
    },
  };
}

/** Folder of one region switch function's bundle (`index.js`, `index.js.map`): the asset of its Lambda code. */
export function lambdaBundleDir(name: string): string {
  const kind = lambdaBundles();
  if (!kind.entryPoints[name]) {
    throw new Error(`no function ${name} under ${LAMBDA_DIR} (it needs ${name}/index.ts)`);
  }
  return path.join(bundleFolder(kind), name);
}

/**
 * A Node.js service: `entry` (relative to `sourceDir`) bundled into one CommonJS `server.js` with a linked source
 * map whose paths are relative to `sourceDir` (Node.js 22, every dependency bundled but pg's unused native
 * binding). Every file of `sourceDir` (but `node_modules` and `dist`) and of `extraSources`, the files outside it
 * that the entry imports (the catalog example imports the reference service's database error checks), counts in
 * the cache key, so a change of one makes a new bundle.
 */
export function nodeServiceBundle(sourceDir: string, entry: string, extraSources: readonly string[] = []): BundleKind {
  return {
    name: 'service',
    entryPoints: { '.': path.join(sourceDir, entry) },
    workingDir: sourceDir,
    sourceDirs: [sourceDir, ...extraSources],
    outputFile: 'server.js',
    options: { platform: 'node', target: 'node22', format: 'cjs', sourcemap: 'linked', external: ['pg-native'] },
  };
}

/**
 * The bundle of a service's directory artifact with a build (`ServiceArtifact` of the config: `directory` and
 * `build.extraSources` relative to the repository root, `build.entry` relative to the directory).
 */
export function artifactBundle(
  directory: string,
  build: { readonly entry: string; readonly extraSources?: readonly string[] },
): BundleKind {
  return nodeServiceBundle(
    path.resolve(REPO_ROOT, directory),
    build.entry,
    (build.extraSources ?? []).map((p) => path.resolve(REPO_ROOT, p)),
  );
}
