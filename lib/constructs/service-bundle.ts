import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import * as path from 'path';
import { Construct } from 'constructs';
import { bundleFolder, serviceBundle } from '../bundling';

/** The service's source folder. */
export const SERVICE_SOURCE_DIR = path.join(__dirname, '..', '..', 'service');

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
 * Docker, and at most once per content (`lib/bundling.ts`). The asset hash
 * covers the bundle's bytes, so a code change gives a new S3 key and a new
 * version string, which changes the launch template and rolls the fleet by
 * instance refresh.
 */
export class ServiceBundle extends Construct {
  /** The zipped bundle in the CDK asset bucket. */
  public readonly asset: s3assets.Asset;
  /** Version the instances report: the bundle's hash. */
  public readonly version: string;

  constructor(scope: Construct, id: string, props: ServiceBundleProps = {}) {
    super(scope, id);
    const sourceDir = props.sourceDir ?? SERVICE_SOURCE_DIR;
    // Built by esbuild once per content (lib/bundling.ts); the asset hash is that of the bundle's bytes.
    this.asset = new s3assets.Asset(this, 'Asset', { path: bundleFolder(serviceBundle(sourceDir)) });
    this.version = this.asset.assetHash;
  }
}
