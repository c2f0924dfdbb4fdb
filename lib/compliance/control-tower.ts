/**
 * AWS Control Tower proactive controls at every synth: cfn-guard with the Control Tower rule set, both shipped
 * inside the `@cdklabs/cdk-validator-cfnguard` npm package (no download at run time), plus a check the plugin
 * lacks: a rules file cfn-guard cannot parse fails synthesis instead of passing silently.
 */
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import {
  CfnResource,
  type IPolicyValidationContext,
  type IPolicyValidationPlugin,
  type PolicyValidationPluginReport,
  type Stack,
  Validations,
} from 'aws-cdk-lib';
import { spawnSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { cacheDir } from '../bundling';
import { hasDataComponent, type EnvironmentConfig } from '../config';

/** Folder of the `@cdklabs/cdk-validator-cfnguard` package. */
const PACKAGE_DIR = path.dirname(require.resolve('@cdklabs/cdk-validator-cfnguard/package.json'));

/** The Control Tower rule set inside the package (one `.guard` file per control, in a folder per service). */
export const CONTROL_TOWER_RULES_DIR = path.join(PACKAGE_DIR, 'rules', 'control-tower', 'cfn-guard');

/** Name under which the plugin reports; acknowledgement IDs are `<this>::<guard rule name>`. */
export const CONTROL_TOWER_PLUGIN_NAME = 'cdk-validator-cfnguard';

/** The cfn-guard binary of this machine inside the package, as the plugin picks it. */
export function cfnGuardBinary(platform: NodeJS.Platform = os.platform(), arch: string = os.arch()): string {
  const osDir = platform === 'linux' ? 'ubuntu' : platform === 'darwin' ? 'macos' : undefined;
  const archDir = arch === 'x64' ? 'x86_64' : arch === 'arm64' ? 'aarch64' : undefined;
  if (!osDir || !archDir) {
    throw new Error(
      `cfn-guard: no binary of @cdklabs/cdk-validator-cfnguard for ${platform}/${arch}; it ships Linux and macOS, x64 and arm64.`,
    );
  }
  return path.join(PACKAGE_DIR, 'bin', osDir, archDir, 'cfn-guard');
}

/** Every `.guard` file under the given files or folders. */
export function guardFiles(paths: readonly string[]): string[] {
  return paths.flatMap((p) =>
    fs.statSync(p).isDirectory()
      ? fs
          .readdirSync(p)
          .sort()
          .flatMap((entry) => guardFiles([path.join(p, entry)]))
      : p.endsWith('.guard')
        ? [p]
        : [],
  );
}

/**
 * The rules files among `paths` that cfn-guard cannot parse, with its message for each. cfn-guard reports a
 * file it cannot parse on standard error and evaluates the others (exit code 0 when they pass), and the plugin
 * reads only standard output, so a broken file would count as a pass. One run over a template with no
 * resources checks every file at once.
 */
export function unparsableRuleFiles(paths: readonly string[], guard = cfnGuardBinary()): string[] {
  const files = guardFiles(paths);
  if (files.length === 0) {
    return [`no .guard rules files under ${paths.join(', ')}`];
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfn-guard-parse-'));
  try {
    const empty = path.join(dir, 'empty.template.json');
    fs.writeFileSync(empty, JSON.stringify({ Resources: {} }));
    const result = spawnSync(
      guard,
      [
        'validate',
        ...files.flatMap((f) => ['--rules', f]),
        '--data',
        empty,
        '--output-format',
        'json',
        '--show-summary',
        'none',
        '--structured',
      ],
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
    );
    if (result.error) throw result.error;
    const problems = (result.stderr ?? '')
      .split('\n')
      .filter((line) => /Parsing error handling rule file|Parser Error/.test(line))
      .map((line) => line.trim());
    if (problems.length === 0 && result.status !== 0 && result.status !== 5 && result.status !== 19) {
      problems.push(`cfn-guard exited with ${result.status}: ${(result.stderr ?? '').trim().slice(0, 500)}`);
    }
    return [...new Set(problems)];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Properties of {@link ControlTowerRules}. */
export interface ControlTowerRulesProps {
  /**
   * More rules files or folders, evaluated with the Control Tower set.
   * @default - the Control Tower set only
   */
  readonly extraRules?: readonly string[];
}

const TYPE_NAME = /AWS::[A-Za-z0-9]+::[A-Za-z0-9]+/g;
const ruleFileTypes = new Map<string, ReadonlySet<string>>();

/** The resource types a rules file names (in its type variables, filters or comments). */
function typesNamedIn(file: string): ReadonlySet<string> {
  let types = ruleFileTypes.get(file);
  if (!types) {
    types = new Set(fs.readFileSync(file, 'utf8').match(TYPE_NAME) ?? []);
    ruleFileTypes.set(file, types);
  }
  return types;
}

/**
 * The rules files that can apply to a template holding resources of `templateTypes`: every file that names one
 * of those types, and every file that names no resource type at all. A Control Tower rule selects what it
 * checks by exact type name (`Resources.*[ Type == %X_TYPE ]`, with `let X_TYPE = "AWS::..."`; none matches
 * types by pattern), so a file that names only other types finds nothing to check and would report a skip.
 * Leaving it out gives the same findings in a third of the time (test/compliance/rule-pruning.test.ts
 * compares both on every template of every environment).
 */
export function applicableRuleFiles(files: readonly string[], templateTypes: ReadonlySet<string>): string[] {
  return files.filter((file) => {
    const named = typesNamedIn(file);
    return named.size === 0 || [...named].some((t) => templateTypes.has(t));
  });
}

/** The resource types of a template. */
function typesOf(templatePath: string): Set<string> {
  const template = JSON.parse(fs.readFileSync(templatePath, 'utf8')) as {
    Resources?: Record<string, { Type: string }>;
  };
  return new Set(Object.values(template.Resources ?? {}).map((r) => r.Type));
}

/** SHA-256 over the path (relative to `base`) and bytes of every file, in order. */
export function hashOfFiles(files: readonly string[], base: string): string {
  const hash = createHash('sha256');
  for (const f of files) hash.update(`\0${path.relative(base, f)}\0`).update(fs.readFileSync(f));
  return hash.digest('hex');
}

/**
 * The policy validation plugin that runs the Control Tower proactive controls (cfn-guard of the bundled
 * `CfnGuardValidator`), after checking that every rules file parses: a broken rules file throws, which fails
 * synthesis before any template is accepted. Each template is evaluated against the rules files that can apply
 * to its resource types ({@link applicableRuleFiles}). Findings are reported under the plugin's name; a
 * finding fails synthesis unless `CONTROL_TOWER_ACKNOWLEDGEMENTS` acknowledges it.
 */
export class ControlTowerRules implements IPolicyValidationPlugin {
  /** The same name as the wrapped plugin, so acknowledgement IDs read `cdk-validator-cfnguard::<rule>`. */
  public readonly name = CONTROL_TOWER_PLUGIN_NAME;
  /** Version of the wrapped plugin (which pins the cfn-guard binary and the Control Tower rules). */
  public readonly version: string;
  /** Rule IDs of the wrapped plugin. */
  public readonly ruleIds?: string[];
  /**
   * What the findings depend on besides a template: the plugin's version and the path and bytes of every
   * rules file (the key of {@link CachedValidation}).
   */
  public readonly identity: string;
  private readonly rulePaths: string[];
  private readonly files: string[];

  constructor(props: ControlTowerRulesProps = {}) {
    this.rulePaths = [CONTROL_TOWER_RULES_DIR, ...(props.extraRules ?? [])];
    this.files = guardFiles(this.rulePaths);
    const all = new CfnGuardValidator({ rules: [...(props.extraRules ?? [])] });
    this.version = all.version ?? 'unknown';
    this.ruleIds = all.ruleIds;
    this.identity = `${this.version} ${os.platform()}/${os.arch()} ${hashOfFiles(this.files, PACKAGE_DIR)}`;
  }

  /** Checks that every rules file parses, then evaluates each template against the rules that apply to it. */
  public validate(context: IPolicyValidationContext): PolicyValidationPluginReport {
    this.assertParsable();
    const reports = context.stackTemplates.map((stack) => {
      const rules = applicableRuleFiles(this.files, typesOf(stack.templatePath));
      if (rules.length === 0) return { success: true, violations: [] };
      const guard = new CfnGuardValidator({ controlTowerRulesEnabled: false, rules });
      return guard.validate({ templatePaths: [stack.templatePath], appConstruct: context.appConstruct });
    });
    return { success: reports.every((r) => r.success), violations: reports.flatMap((r) => r.violations) };
  }

  /**
   * Throws when a rules file does not parse (naming each one); remembers a clean result per rules content in the
   * build cache, so the check costs about a second once per rules content and nothing after. `validate` calls it.
   */
  public assertParsable(): void {
    const marker = path.join(
      cacheDir(),
      'validation',
      'guard-parsed',
      createHash('sha256').update(this.identity).digest('hex'),
    );
    if (fs.existsSync(marker)) return;
    const broken = unparsableRuleFiles(this.rulePaths);
    if (broken.length > 0) {
      throw new Error(
        `Control Tower rules: cfn-guard cannot parse these rules, so they would pass without being checked:\n` +
          broken.map((b) => `  - ${b}`).join('\n') +
          '\nFix or remove the rules file; reinstall @cdklabs/cdk-validator-cfnguard (npm ci) if it is one of its own.',
      );
    }
    fs.mkdirSync(path.dirname(marker), { recursive: true });
    fs.writeFileSync(marker, `${this.files.length} rules files parse\n`);
  }
}

/** One acknowledged Control Tower finding kind: which control, on which resources, and why it does not apply. */
export interface ControlTowerAcknowledgement {
  /** The control, for example `CT.S3.PR.10`. */
  readonly control: string;
  /** The guard rule that implements it (the part after `cdk-validator-cfnguard::` in the finding). */
  readonly rule: string;
  /** The CloudFormation resource type it is acknowledged on. */
  readonly resourceType: string;
  /** Construct paths of those resources, relative to their stack; each pattern must match in every environment the entry applies to. */
  readonly paths: readonly RegExp[];
  /**
   * Environments the acknowledgement applies to.
   * @default - every environment
   */
  readonly appliesTo?: (config: EnvironmentConfig) => boolean;
  /** Why the control does not apply there: a true reason, reviewed like code. */
  readonly reason: string;
}

const LAMBDA_OUTSIDE_VPC =
  "The functions call only AWS APIs (of both regions) and the service's public HTTPS endpoint; nothing they " +
  'reach is inside the VPC. The region switch functions are the failover path: outside the VPC they depend on ' +
  'Lambda and the AWS APIs alone, while inside it they would also depend on its NAT gateways (one in demo) and ' +
  'on the subnets the AZ fault-injection experiment cuts. The same holds for the custom-resource providers of ' +
  "aws-cdk-lib, which call AWS APIs only, during deployment (reading the fleets' ARNs; removing the rules of " +
  "the VPC's default security group).";
const LOG_BUCKET_ACCESS_LOGS =
  'The bucket holds logs or reports that an AWS service writes; server access logs of it would need another ' +
  'bucket, whose own access logs would need yet another. It is private (all public access blocked, bucket owner ' +
  'enforced), TLS-only, versioned and retained.';
const LOG_BUCKET_EVENTS =
  'Nothing processes these objects one by one; they are read on demand (Athena, the console). An event ' +
  'notification without a consumer adds nothing.';

/**
 * Every acknowledged Control Tower finding, in one place, reviewed like code. Everything not listed here fails
 * synthesis. An entry that no longer matches any resource in an environment it applies to fails too, so the
 * list never outlives what it excuses.
 */
export const CONTROL_TOWER_ACKNOWLEDGEMENTS: readonly ControlTowerAcknowledgement[] = [
  {
    control: 'CT.LAMBDA.PR.3',
    rule: 'lambda_inside_vpc_check',
    resourceType: 'AWS::Lambda::Function',
    paths: [/^SwitchFunctions\/[A-Za-z]+\/Resource$/, /^Custom::VpcRestrictDefaultSGCustomResourceProvider\/Handler$/],
    reason: LAMBDA_OUTSIDE_VPC,
  },
  {
    control: 'CT.LAMBDA.PR.3',
    rule: 'lambda_inside_vpc_check',
    resourceType: 'AWS::Lambda::Function',
    paths: [/^AWS679f53fac002430cb0da5b7982bd2287\/Resource$/],
    appliesTo: (c) => c.regionSwitch.enabled,
    reason: LAMBDA_OUTSIDE_VPC,
  },
  {
    control: 'CT.LAMBDA.PR.3',
    rule: 'lambda_inside_vpc_check',
    resourceType: 'AWS::Lambda::Function',
    paths: [/^DatabaseRoles\/Function\/Resource$/, /^DatabaseRoles\/Provider\/framework-onEvent\/Resource$/],
    appliesTo: (c) => hasDataComponent(c, 'database'),
    reason:
      'These functions are inside the VPC: VpcConfig names the private subnets of the region and a security group ' +
      "of this stack. The subnets are the Network stack's, imported with Fn::ImportValue, and the rule accepts " +
      'only literal strings, Ref and Fn::GetAtt as subnet IDs (its scenarios 3 to 5), so it reports them as outside.',
  },
  {
    control: 'CT.ELASTICLOADBALANCING.PR.5',
    rule: 'elbv2_deletion_protection_enabled_check',
    resourceType: 'AWS::ElasticLoadBalancingV2::LoadBalancer',
    paths: [/^LoadBalancer\/Resource\/Resource$/],
    appliesTo: (c) => !c.production,
    reason:
      'Non-production environments (config production: false) leave deletion protection off so that cdk destroy ' +
      'removes them; production environments turn it on (tested in public-load-balancer.test.ts).',
  },
  {
    control: 'CT.S3.PR.10',
    rule: 's3_bucket_default_encryption_kms_check',
    resourceType: 'AWS::S3::Bucket',
    paths: [/^LoadBalancer\/AccessLogs\/Resource$/],
    reason:
      'ALB access logs support only SSE-S3: the Elastic Load Balancing user guide (access logs, bucket ' +
      'requirements) names Amazon S3-managed keys as the only server-side encryption option, so SSE-KMS would ' +
      'make every log delivery fail.',
  },
  {
    control: 'CT.S3.PR.2',
    rule: 's3_bucket_logging_enabled_check',
    resourceType: 'AWS::S3::Bucket',
    paths: [/^LoadBalancer\/AccessLogs\/Resource$/],
    reason: LOG_BUCKET_ACCESS_LOGS,
  },
  {
    control: 'CT.S3.PR.4',
    rule: 's3_event_notifications_enabled_check',
    resourceType: 'AWS::S3::Bucket',
    paths: [/^LoadBalancer\/AccessLogs\/Resource$/],
    reason: LOG_BUCKET_EVENTS,
  },
  {
    control: 'CT.S3.PR.9',
    rule: 's3_bucket_object_lock_enabled_check',
    resourceType: 'AWS::S3::Bucket',
    paths: [/^LoadBalancer\/AccessLogs\/Resource$/],
    reason:
      'Object Lock with a default retention requires an integrity checksum on every PUT, and Elastic Load ' +
      'Balancing does not document that its log delivery sends one or supports Object Lock targets (S3 server ' +
      'access logging explicitly refuses them); a target it cannot write to would lose every access log without ' +
      'an error. The bucket is versioned, private, TLS-only and retained instead.',
  },
  {
    control: 'CT.S3.PR.2',
    rule: 's3_bucket_logging_enabled_check',
    resourceType: 'AWS::S3::Bucket',
    paths: [/^RegionSwitch\/Reports\/Resource$/],
    appliesTo: (c) => c.regionSwitch.enabled,
    reason: LOG_BUCKET_ACCESS_LOGS,
  },
  {
    control: 'CT.S3.PR.4',
    rule: 's3_event_notifications_enabled_check',
    resourceType: 'AWS::S3::Bucket',
    paths: [/^RegionSwitch\/Reports\/Resource$/],
    appliesTo: (c) => c.regionSwitch.enabled,
    reason: LOG_BUCKET_EVENTS,
  },
  {
    control: 'CT.S3.PR.9',
    rule: 's3_bucket_object_lock_enabled_check',
    resourceType: 'AWS::S3::Bucket',
    paths: [/^RegionSwitch\/Reports\/Resource$/],
    appliesTo: (c) => c.regionSwitch.enabled,
    reason:
      'Region switch documents report delivery with s3:PutObject (and KMS) permissions only, not into an Object ' +
      'Lock bucket, whose default retention requires an integrity checksum on every PUT; a bucket it cannot write ' +
      'to would lose every execution report. The bucket is versioned, SSE-KMS, private, TLS-only and retained.',
  },
];

/**
 * Records the acknowledgements of {@link CONTROL_TOWER_ACKNOWLEDGEMENTS} on the resources they name.
 * Throws when an entry matches no resource in an environment it applies to.
 */
export function acknowledgeControlTowerFindings(stacks: readonly Stack[], config: EnvironmentConfig): void {
  for (const ack of CONTROL_TOWER_ACKNOWLEDGEMENTS) {
    if (ack.appliesTo && !ack.appliesTo(config)) continue;
    for (const pattern of ack.paths) {
      let matched = 0;
      for (const stack of stacks) {
        for (const construct of stack.node.findAll()) {
          if (!CfnResource.isCfnResource(construct) || construct.cfnResourceType !== ack.resourceType) continue;
          if (!pattern.test(construct.node.path.slice(stack.node.path.length + 1))) continue;
          Validations.of(construct).acknowledge({
            id: `${CONTROL_TOWER_PLUGIN_NAME}::${ack.rule}`,
            reason: `${ack.control}: ${ack.reason}`,
          });
          matched++;
        }
      }
      if (matched === 0) {
        throw new Error(
          `Control Tower acknowledgement of ${ack.control} (${ack.rule}): no ${ack.resourceType} at ${pattern} in ` +
            `environment "${config.name}"; remove or correct the stale entry in CONTROL_TOWER_ACKNOWLEDGEMENTS.`,
        );
      }
    }
  }
}
