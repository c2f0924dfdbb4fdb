import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import * as path from 'path';
import { Construct } from 'constructs';
import { artifactBundle, bundleFolder, REPO_ROOT } from '../bundling';

/** Properties of a {@link ServiceBundle}. */
export interface ServiceBundleProps {
  /** The service's folder (absolute, or relative to the repository root). */
  readonly directory: string;
  /**
   * Bundle the folder with esbuild first: the entry point (relative to `directory`) and the files outside it that
   * the entry imports (relative to the repository root).
   * @default - the folder is packaged as it is
   */
  readonly build?: { readonly entry: string; readonly extraSources?: readonly string[] };
  /**
   * Glob patterns (as in `.gitignore`) of files of a folder without a build to leave out of the asset.
   * @default - none
   */
  readonly exclude?: readonly string[];
}

/**
 * A service's directory artifact, uploaded as an S3 asset: the folder as it is, or (with `build`) its Node.js
 * entry point bundled by esbuild into one `server.js` with its source map, locally, never in Docker, and at most
 * once per content (`lib/bundling.ts`). The asset hash covers the uploaded bytes, so a change gives a new S3 key
 * and a new version string, which changes the launch template and rolls the group by instance refresh.
 */
export class ServiceBundle extends Construct {
  /** The zipped artifact in the CDK asset bucket. */
  public readonly asset: s3assets.Asset;
  /** Version the instances report: the asset's hash. */
  public readonly version: string;

  constructor(scope: Construct, id: string, props: ServiceBundleProps) {
    super(scope, id);
    const directory = path.resolve(REPO_ROOT, props.directory);
    const source = props.build ? bundleFolder(artifactBundle(props.directory, props.build)) : directory;
    this.asset = new s3assets.Asset(this, 'Asset', {
      path: source,
      exclude: props.build || !props.exclude ? undefined : [...props.exclude],
    });
    this.version = this.asset.assetHash;
  }
}
