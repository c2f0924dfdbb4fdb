import { AssetHashType, BundlingOutput, DockerImage } from 'aws-cdk-lib';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import { buildSync } from 'esbuild';
import * as fs from 'fs';
import * as path from 'path';
import { Construct } from 'constructs';

/** The service's source folder. */
export const SERVICE_SOURCE_DIR = path.join(__dirname, '..', '..', 'service');

const bundles = new Map<string, Record<string, string>>();

/**
 * Bundles `src/server.ts` of a source folder, once per process. Source map
 * paths are made relative to the source folder, so the bytes (and the asset
 * hash) are the same on every machine and in every output directory.
 */
function bundle(sourceDir: string): Record<string, string> {
  const cached = bundles.get(sourceDir);
  if (cached) return cached;
  const outdir = path.join(sourceDir, 'dist');
  const result = buildSync({
    // Paths in the bundle's comments are relative to this: the same on every machine.
    absWorkingDir: sourceDir,
    entryPoints: [path.join(sourceDir, 'src', 'server.ts')],
    outfile: path.join(outdir, 'server.js'),
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    sourcemap: 'linked',
    // pg's optional native binding is never used.
    external: ['pg-native'],
    write: false,
    logLevel: 'error',
  });
  const files: Record<string, string> = {};
  for (const file of result.outputFiles) {
    let text = file.text;
    if (file.path.endsWith('.map')) {
      const map = JSON.parse(text) as { sources: string[] };
      map.sources = map.sources.map((s) => path.relative(sourceDir, path.resolve(outdir, s)).split(path.sep).join('/'));
      text = JSON.stringify(map);
    }
    files[path.basename(file.path)] = text;
  }
  bundles.set(sourceDir, files);
  return files;
}

/** Properties of a {@link ServiceBundle}. */
export interface ServiceBundleProps {
  /**
   * Folder holding `src/server.ts`.
   * @default the repository's service/ folder
   */
  readonly sourceDir?: string;
}

/**
 * The reference service bundled by esbuild into one `server.js` (with its
 * source map) and uploaded as an S3 asset. Bundling runs locally, never in
 * Docker. The asset hash covers the bundle's bytes, so a code change gives a
 * new S3 key and a new version string, which changes the launch template and
 * rolls the fleet by instance refresh.
 */
export class ServiceBundle extends Construct {
  /** The zipped bundle in the CDK asset bucket. */
  public readonly asset: s3assets.Asset;
  /** Version the instances report: the bundle's hash. */
  public readonly version: string;

  constructor(scope: Construct, id: string, props: ServiceBundleProps = {}) {
    super(scope, id);
    const sourceDir = props.sourceDir ?? SERVICE_SOURCE_DIR;
    this.asset = new s3assets.Asset(this, 'Asset', {
      path: sourceDir,
      assetHashType: AssetHashType.OUTPUT,
      bundling: {
        // Only a placeholder: the local bundler below always succeeds or throws.
        image: DockerImage.fromRegistry('public.ecr.aws/docker/library/node:22-slim'),
        outputType: BundlingOutput.NOT_ARCHIVED,
        local: {
          tryBundle(outputDir: string): boolean {
            for (const [name, contents] of Object.entries(bundle(sourceDir))) {
              fs.writeFileSync(path.join(outputDir, name), contents);
            }
            return true;
          },
        },
      },
    });
    this.version = this.asset.assetHash;
  }
}
