import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { createHash } from 'crypto';
import { Construct } from 'constructs';
import { acknowledgeNag } from '../nag';

/** Properties of {@link ServiceSettings}. */
export interface ServiceSettingsProps {
  /** The service's Parameter Store path, without a trailing slash: `/haweb/<env>/<service>` (`names.ts`). */
  readonly path: string;
  /**
   * The settings: environment variable name to value (validated by `lib/config`: names of capital letters,
   * digits and underscores that the boot script does not set itself, values of 1 to 4,096 printable ASCII
   * characters, Parameter Store's standard tier, at most `MAX_SERVICE_SETTINGS`).
   */
  readonly settings: Readonly<Record<string, string>>;
}

/** Hex digits of the settings' hash in the versioned path (`<path>/<version>`). */
const VERSION_DIGITS = 16;

/**
 * The service's central configuration in this region: one Parameter Store `String` parameter per setting
 * (standard tier) under a path versioned by the settings' hash, `<path>/<16 hex digits>/<NAME>`, written by each
 * region's App stack, so both regions hold the same values and a region reads only its own.
 *
 * Each launch template version reads exactly its own set: a changed value is a new set under a new version
 * (CloudFormation creates it before the launch template changes, and deletes the old set only once the update
 * is complete), so the instance refresh's new instances read the new set, and a rollback's old instances still
 * find the old one. The boot script reads only the names the config gives, checks the set against the
 * launch template's hash, and stops the boot when it differs (a parameter edited or deleted by hand; one added by
 * hand is ignored), so every instance of a launch template runs the same settings ({@link settingsCommands}).
 *
 * Settings are not secrets (those stay in Secrets Manager): the instances' own role may read no other parameter
 * ({@link ServiceSettings.grantRead}), but any principal of the account allowed `ssm:GetParameter*` can read them.
 */
export class ServiceSettings extends Construct {
  /** The service's path, without a trailing slash (`/haweb/<env>/<service>`). */
  public readonly servicePath: string;
  /** SHA-256 (hex) of the settings, sorted by name: changes whenever a name or value does. */
  public readonly version: string;
  /** The path of this version's set: `<servicePath>/<first 16 hex digits of version>`. */
  public readonly path: string;
  /** The setting names, sorted. */
  public readonly names: readonly string[];
  /** The parameters, by setting name. */
  public readonly parameters: Readonly<Record<string, ssm.StringParameter>>;

  constructor(scope: Construct, id: string, props: ServiceSettingsProps) {
    super(scope, id);
    if (!/^(\/[a-z0-9][a-z0-9-]*)+$/.test(props.path)) {
      throw new Error(`${this.node.path}: path "${props.path}" must look like /haweb/<env>/<service>.`);
    }
    this.servicePath = props.path;
    this.names = Object.keys(props.settings).sort();
    this.version = settingsVersion(props.settings);
    this.path = `${props.path}/${this.version.slice(0, VERSION_DIGITS)}`;
    this.parameters = Object.fromEntries(
      this.names.map((name) => [
        name,
        new ssm.StringParameter(this, name, {
          parameterName: `${this.path}/${name}`,
          stringValue: props.settings[name]!,
          tier: ssm.ParameterTier.STANDARD,
          description: `Setting ${name} of the service (config services[].environment)`,
        }),
      ]),
    );
  }

  /** Whether there is any setting (without, the boot script reads nothing and the role is only denied the rest). */
  public get isEmpty(): boolean {
    return this.names.length === 0;
  }

  /**
   * Lets `role` read the service's versions with `GetParametersByPath`, which Parameter Store authorizes against
   * the path in the request (Systems Manager user guide, "How Parameter Store authorizes parameter retrieval"),
   * on every version (a rollback's instances read the previous one), and denies it every other parameter read:
   * `AmazonSSMManagedInstanceCore`, which the fleet has for Session Manager, allows `ssm:GetParameter` and
   * `ssm:GetParameters` on every parameter of the account. With no settings, only the Deny: the service's instances
   * still read no other service's settings.
   */
  public grantRead(role: iam.IGrantable): void {
    const stack = Stack.of(this);
    const parameterArn = (name: string) =>
      stack.formatArn({
        service: 'ssm',
        resource: 'parameter',
        resourceName: name,
        arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
      });
    const versions = [parameterArn(`${this.servicePath.slice(1)}/*`)];
    // Without settings, nothing to allow; the Deny below still keeps every other parameter (another service's
    // settings among them) from this role.
    if (!this.isEmpty) {
      iam.Grant.addToPrincipal({ grantee: role, actions: ['ssm:GetParametersByPath'], resourceArns: versions });
    }
    const policy =
      role.grantPrincipal instanceof iam.Role ? role.grantPrincipal.node.tryFindChild('DefaultPolicy') : undefined;
    if (policy && !this.isEmpty) {
      acknowledgeNag(
        policy,
        `AwsSolutions-IAM5[Resource::${stack.resolve(versions[0])}]`,
        "The versions of this service's settings, one path per set of values: a rollback's instances read the " +
          "previous version while the new one exists. GetParametersByPath only, on this service's path; every other " +
          'parameter read is denied.',
      );
    }
    role.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'NoOtherParameters',
        effect: iam.Effect.DENY,
        actions: ['ssm:GetParameter', 'ssm:GetParameters', 'ssm:GetParametersByPath', 'ssm:GetParameterHistory'],
        notResources: versions,
      }),
    );
  }
}

/** SHA-256 (hex) of `settings`: of the JSON of its `[name, value]` pairs sorted by name, as `jq -c` writes it. */
export function settingsVersion(settings: Readonly<Record<string, string>>): string {
  const sorted = Object.keys(settings)
    .sort()
    .map((name) => [name, settings[name]]);
  return createHash('sha256').update(JSON.stringify(sorted)).digest('hex');
}

/**
 * The boot script's step that loads the settings into `SETTINGS_ENV`, the service environment file's lines:
 *
 * 1. reads this version's path (the AWS CLI fetches every page with `--output json`);
 * 2. keeps only the configured names (a parameter added there by hand cannot set `DATABASE_HOST` or
 *    `NODE_OPTIONS`), sorted by name;
 * 3. compares the SHA-256 of the set (`jq -c` of the `[name, value]` pairs, the same bytes as
 *    {@link settingsVersion} for printable ASCII) with the launch template's `version`, and stops the boot
 *    (under `set -e`) when they differ: a setting missing, or edited by hand;
 * 4. writes one `NAME="value"` line per setting, the value JSON-quoted: for printable ASCII the only escapes
 *    JSON writes are `\"` and `\\`, which systemd's `EnvironmentFile=` reads back in double quotes, where `$`,
 *    `%`, `#` and spaces stay literal. The lines go into the environment file's unquoted here-document as one
 *    parameter expansion, which bash does not expand again.
 */
export function settingsCommands(settings: ServiceSettings): string[] {
  const names = JSON.stringify(settings.names);
  const prefix = `${settings.path}/`;
  return [
    `SETTINGS_JSON=$(aws ssm get-parameters-by-path --region "$REGION" --path '${settings.path}' --output json)`,
    `SETTINGS_PAIRS=$(jq -c --argjson names '${names}' '[.Parameters[] | [(.Name | ltrimstr("${prefix}")), .Value] | select(.[0] | IN($names[]))] | sort_by(.[0])' <<<"$SETTINGS_JSON")`,
    `if [ "$(printf '%s' "$SETTINGS_PAIRS" | sha256sum | cut -d' ' -f1)" != '${settings.version}' ]; then`,
    `  echo "settings under ${settings.path} differ from this launch template's (missing, or changed by hand): deploy the config's settings again"`,
    '  exit 1',
    'fi',
    `SETTINGS_ENV=$(jq -r '.[] | "\\(.[0])=\\(.[1] | @json)"' <<<"$SETTINGS_PAIRS")`,
  ];
}
