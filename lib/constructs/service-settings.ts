import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { createHash } from 'crypto';
import { Construct } from 'constructs';

/** Properties of {@link ServiceSettings}. */
export interface ServiceSettingsProps {
  /** The service's Parameter Store path, without a trailing slash: `/haweb/<env>/<service>` (`names.ts`). */
  readonly path: string;
  /**
   * The settings: environment variable name to value (validated by `lib/config`: names of capital letters,
   * digits and underscores that the boot script does not set itself, values of 1 to 4,096 printable ASCII
   * characters, Parameter Store's standard tier).
   */
  readonly settings: Readonly<Record<string, string>>;
}

/**
 * The service's central configuration in this region: one Parameter Store `String` parameter per setting,
 * `<path>/<NAME>` (standard tier), written by each region's App stack so both regions hold the same values and a
 * region reads only its own. The instances load the whole path at boot into the service's environment
 * ({@link ServiceSettings.grantRead}, `ServiceBootstrap`). Settings are not secrets: those stay in Secrets
 * Manager.
 *
 * A change goes out with a deploy: the new values are written, and {@link ServiceSettings.version} (a hash of
 * every name and value) is in the boot script, so the launch template changes and the instance refresh replaces
 * the instances, which read the new values. A value changed by hand (`aws ssm put-parameter`) reaches only
 * instances launched afterwards, and the next deploy writes the config's value back.
 */
export class ServiceSettings extends Construct {
  /** The path, without a trailing slash. */
  public readonly path: string;
  /** SHA-256 (hex) of the settings, sorted by name: changes whenever a name or value does. */
  public readonly version: string;
  /** The parameters, by setting name. */
  public readonly parameters: Readonly<Record<string, ssm.StringParameter>>;

  constructor(scope: Construct, id: string, props: ServiceSettingsProps) {
    super(scope, id);
    if (!/^(\/[a-z0-9][a-z0-9-]*)+$/.test(props.path)) {
      throw new Error(`${this.node.path}: path "${props.path}" must look like /haweb/<env>/<service>.`);
    }
    this.path = props.path;
    const names = Object.keys(props.settings).sort();
    this.version = settingsVersion(props.settings);
    this.parameters = Object.fromEntries(
      names.map((name) => [
        name,
        new ssm.StringParameter(this, name, {
          parameterName: `${props.path}/${name}`,
          stringValue: props.settings[name]!,
          tier: ssm.ParameterTier.STANDARD,
          description: `Setting ${name} of the service (config service.settings)`,
        }),
      ]),
    );
  }

  /** Whether there is any setting (without, the boot script reads nothing and the role gets nothing). */
  public get isEmpty(): boolean {
    return Object.keys(this.parameters).length === 0;
  }

  /**
   * Lets `role` read the path with `GetParametersByPath`, which Parameter Store authorizes against the path in the
   * request (Systems Manager user guide, "How Parameter Store authorizes parameter retrieval"), and nothing else.
   */
  public grantRead(role: iam.IGrantable): void {
    if (this.isEmpty) return;
    const stack = Stack.of(this);
    iam.Grant.addToPrincipal({
      grantee: role,
      actions: ['ssm:GetParametersByPath'],
      resourceArns: [
        stack.formatArn({
          service: 'ssm',
          resource: 'parameter',
          resourceName: this.path.slice(1),
          arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
        }),
      ],
    });
  }
}

/** SHA-256 (hex) of `settings`, independent of the order of the keys. */
export function settingsVersion(settings: Readonly<Record<string, string>>): string {
  const sorted = Object.keys(settings)
    .sort()
    .map((name) => [name, settings[name]]);
  return createHash('sha256').update(JSON.stringify(sorted)).digest('hex');
}

/**
 * The boot script's step that loads the settings into the service's environment file: every parameter under
 * `path`, one `NAME="value"` line each, the value JSON-quoted. Values are printable ASCII (validation), so the
 * only escapes JSON writes are `\"` and `\\`, which systemd's `EnvironmentFile=` reads back in double quotes.
 * Sets `SETTINGS_ENV` for the environment file's here-document; stops the boot (under `set -e`) when the path
 * cannot be read, since the service would otherwise start without its configuration.
 */
export function settingsCommands(path: string): string[] {
  return [
    `SETTINGS_JSON=$(aws ssm get-parameters-by-path --region "$REGION" --path '${path}' --query 'Parameters[].[Name,Value]' --output json)`,
    `SETTINGS_ENV=$(jq -r '.[] | "\\(.[0] | ltrimstr("${path}/"))=\\(.[1] | @json)"' <<<"$SETTINGS_JSON")`,
  ];
}
