import { App } from 'aws-cdk-lib';
import * as fs from 'fs';
import * as path from 'path';
import { REPO_ROOT } from '../../lib/bundling';
import { demo } from '../../lib/config/environments';
import { ServiceBundle, ServiceBundleProps } from '../../lib/constructs/service-bundle';
import { bareStack } from '../harness';
import { tempDir } from '../helpers';

/** A bundle of `props` on a bare stack. */
const bundleOf = (props: ServiceBundleProps) => new ServiceBundle(bareStack(), 'Service', props);

/** A service folder with `files` (path → text). */
const folderWith = (files: Record<string, string>) => {
  const dir = tempDir('service-src-');
  for (const [file, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), text);
  }
  return dir;
};

/** A Node.js service folder whose `src/server.ts` is `code`, bundled by esbuild. */
const builtWith = (code: string) =>
  bundleOf({ directory: folderWith({ 'src/server.ts': code }), build: { entry: 'src/server.ts' } });

/** Every file of the staged asset of `bundle` (after synthesis of its app), relative path → contents. */
function stagedFiles(bundle: ServiceBundle): Record<string, string> {
  const app = bundle.node.root as App;
  app.synth();
  const dir = path.join(app.outdir, `asset.${bundle.asset.assetHash}`);
  return Object.fromEntries(
    (fs.readdirSync(dir, { recursive: true }) as string[])
      .filter((f) => fs.statSync(path.join(dir, f)).isFile())
      .sort()
      .map((f) => [f.split(path.sep).join('/'), fs.readFileSync(path.join(dir, f), 'utf8')]),
  );
}

describe('ServiceBundle with a build (esbuild)', () => {
  test('a change to the service code changes the version, so the launch template rolls', () => {
    const a = builtWith('console.log("v1");\n');
    const b = builtWith('console.log("v2");\n');
    expect(a.version).not.toEqual(b.version);
  });

  test('the same code gives the same version wherever it is bundled', () => {
    expect(builtWith('export const x = 1;\n').version).toEqual(builtWith('export const x = 1;\n').version);
  });

  test('the version is the hash of the asset', () => {
    const bundle = builtWith('export const y = 2;\n');
    expect(bundle.version).toMatch(/^[0-9a-f]{64}$/);
    expect(bundle.version).toBe(bundle.asset.assetHash);
  });

  test('a change to an extra source (a file outside the folder that the entry imports) changes the version', () => {
    const root = tempDir('service-extra-');
    const write = (file: string, text: string) => {
      fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
      fs.writeFileSync(path.join(root, file), text);
    };
    write('svc/src/server.ts', "import { greeting } from '../../shared/greeting';\nconsole.log(greeting);\n");
    const props = {
      directory: path.join(root, 'svc'),
      build: { entry: 'src/server.ts', extraSources: [path.join(root, 'shared', 'greeting.ts')] },
    };
    write('shared/greeting.ts', "export const greeting = 'hello';\n");
    const before = bundleOf(props).version;
    write('shared/greeting.ts', "export const greeting = 'goodbye';\n");
    expect(bundleOf(props).version).not.toBe(before);
  });

  test("bundles the real service (the config's web artifact) into one server.js with a source map relative to its folder", () => {
    const web = demo.services.find((s) => s.name === 'web')!;
    expect(web.artifact).toEqual({ directory: 'service', build: { entry: 'src/server.ts' } });
    const files = stagedFiles(bundleOf({ directory: web.artifact.directory!, build: web.artifact.build }));
    expect(Object.keys(files)).toEqual(['server.js', 'server.js.map']);
    expect(JSON.parse(files['server.js.map']!).sources).toContain('src/server.ts');
  });
});

describe('ServiceBundle without a build (the folder as it is)', () => {
  const FILES = {
    'bin/server': '#!/bin/sh\nexec ./app --port "$PORT"\n',
    'config/app.json': '{"greeting":"hello"}\n',
    'README.md': '# a service\n',
  };

  test('zips the folder as it is: every file, unchanged, nothing added', () => {
    expect(stagedFiles(bundleOf({ directory: folderWith(FILES) }))).toEqual(FILES);
  });

  test('exclude leaves matching files out of the asset (and out of its version)', () => {
    const folder = folderWith({ ...FILES, '.env': 'TOKEN=not-for-the-bucket\n', '.git/HEAD': 'ref: x\n' });
    const bundle = bundleOf({ directory: folder, exclude: ['.env', '.git'] });
    expect(stagedFiles(bundle)).toEqual(FILES);
    expect(bundle.version).toBe(bundleOf({ directory: folderWith(FILES) }).version);
  });

  test('a change to any file changes the version; the same files give the same version', () => {
    const version = bundleOf({ directory: folderWith(FILES) }).version;
    expect(version).toMatch(/^[0-9a-f]{64}$/);
    expect(bundleOf({ directory: folderWith(FILES) }).version).toBe(version);
    expect(bundleOf({ directory: folderWith({ ...FILES, 'README.md': '# a service.\n' }) }).version).not.toBe(version);
    expect(bundleOf({ directory: folderWith({ ...FILES, 'config/extra.json': '{}\n' }) }).version).not.toBe(version);
  });

  test('a relative directory is relative to the repository root, wherever the process runs', () => {
    const cwd = process.cwd();
    process.chdir(tempDir('elsewhere-'));
    let relative: ServiceBundle;
    try {
      relative = bundleOf({ directory: 'services/catalog' });
    } finally {
      process.chdir(cwd);
    }
    const absolute = bundleOf({ directory: path.join(REPO_ROOT, 'services', 'catalog') });
    expect(relative.version).toBe(absolute.version);
  });
});
