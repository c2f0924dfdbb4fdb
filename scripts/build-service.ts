/**
 * Builds a service of the config (`services[].artifact` with a `build`) with the same esbuild recipe as the deploy
 * (lib/bundling.ts: Node.js 22, CommonJS, source map) and copies `server.js` and its map to `<directory>/dist/`,
 * to run it by hand: `npm run build:service [-- <name>]` (default `web`), then
 * `node --enable-source-maps service/dist/server.js`.
 */
import * as fs from 'fs';
import * as path from 'path';
import { artifactBundle, bundleFolder, REPO_ROOT } from '../lib/bundling';
import { ENVIRONMENTS } from '../lib/config';

const name = process.argv[2] ?? 'web';
const service = Object.values(ENVIRONMENTS)
  .flatMap((e) => e.services)
  .find((s) => s.name === name);
const { directory, build } = service?.artifact ?? {};
if (!service || directory === undefined || !build) {
  const built = [
    ...new Set(
      Object.values(ENVIRONMENTS)
        .flatMap((e) => e.services)
        .filter((s) => s.artifact.build)
        .map((s) => s.name),
    ),
  ];
  process.stderr.write(
    `no service "${name}" with a build in lib/config/environments.ts; one of: ${built.join(', ')}\n`,
  );
  process.exit(64);
}
const folder = bundleFolder(artifactBundle(directory, build));
const dist = path.join(REPO_ROOT, directory, 'dist');
fs.mkdirSync(dist, { recursive: true });
for (const file of ['server.js', 'server.js.map']) fs.copyFileSync(path.join(folder, file), path.join(dist, file));
process.stdout.write(`${path.relative(process.cwd(), path.join(dist, 'server.js'))}\n`);
