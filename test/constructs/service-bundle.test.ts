import { App } from 'aws-cdk-lib';
import * as fs from 'fs';
import * as path from 'path';
import { ServiceBundle, SERVICE_SOURCE_DIR } from '../../lib/constructs/service-bundle';
import { bareStack } from '../harness';
import { tempDir } from '../helpers';

/** A bundle of the service source in `sourceDir`, on a bare stack. */
const bundleIn = (sourceDir: string) => new ServiceBundle(bareStack(), 'Service', { sourceDir });

/** A service source folder whose `src/server.ts` is `code`. */
const sourceWith = (code: string) => {
  const dir = tempDir('service-src-');
  fs.mkdirSync(path.join(dir, 'src'));
  fs.writeFileSync(path.join(dir, 'src', 'server.ts'), code);
  return dir;
};

describe('ServiceBundle', () => {
  test('a change to the service code changes the version, so the launch template rolls', () => {
    const a = bundleIn(sourceWith('console.log("v1");\n'));
    const b = bundleIn(sourceWith('console.log("v2");\n'));
    expect(a.version).not.toEqual(b.version);
  });

  test('the same code gives the same version wherever it is bundled', () => {
    expect(bundleIn(sourceWith('export const x = 1;\n')).version).toEqual(
      bundleIn(sourceWith('export const x = 1;\n')).version,
    );
  });

  test('the version is the hash of the asset', () => {
    const bundle = bundleIn(sourceWith('export const y = 2;\n'));
    expect(bundle.version).toMatch(/^[0-9a-f]{64}$/);
    expect(bundle.version).toBe(bundle.asset.assetHash);
  });

  test('bundles the real service into one server.js with a source map relative to the source folder', () => {
    const stack = bareStack();
    const bundle = new ServiceBundle(stack, 'Service');
    const app = stack.node.root as App;
    app.synth();
    const dir = path.join(app.outdir, `asset.${bundle.asset.assetHash}`);
    expect(fs.readdirSync(dir).sort()).toEqual(['server.js', 'server.js.map']);
    const map = JSON.parse(fs.readFileSync(path.join(dir, 'server.js.map'), 'utf8'));
    expect(map.sources).toContain('src/server.ts');
    expect(SERVICE_SOURCE_DIR).toBe(path.join(__dirname, '..', '..', 'service'));
  });
});
