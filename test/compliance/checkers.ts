/**
 * Checkers of the deploy-safety fault kinds (issue 8), run by deploy-safety.test.ts over every template of every
 * shipped environment, and over the faulty inputs of the first version.
 */
import { allows, Statement } from './policy';

export type Json = Record<string, any>;

/** One synthesized stack: its template, region and position in the deploy order. */
export interface Synthesized {
  readonly stackName: string;
  readonly region: string;
  readonly account: string;
  readonly order: number;
  readonly template: Json;
}

const asList = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

// ---------------------------------------------------------------------------------------------------------------
// 1. A policy names a principal that may not exist yet.

/** The policy documents of a template's resource policies and trust policies, with where each is. */
function resourcePolicies(template: Json): { where: string; statements: Statement[] }[] {
  const found: { where: string; statements: Statement[] }[] = [];
  for (const [id, r] of Object.entries<Json>(template.Resources ?? {})) {
    const p = r.Properties ?? {};
    const doc =
      r.Type === 'AWS::KMS::Key'
        ? p.KeyPolicy
        : r.Type === 'AWS::IAM::Role'
          ? p.AssumeRolePolicyDocument
          : r.Type === 'AWS::EFS::FileSystem'
            ? p.FileSystemPolicy
            : r.Type === 'AWS::SecretsManager::ResourcePolicy'
              ? p.ResourcePolicy
              : ['AWS::S3::BucketPolicy', 'AWS::SNS::TopicPolicy', 'AWS::Logs::ResourcePolicy'].includes(r.Type)
                ? p.PolicyDocument
                : undefined;
    if (doc) found.push({ where: `${id} (${r.Type})`, statements: asList(doc.Statement) as Statement[] });
    if (r.Type === 'AWS::Lambda::Permission') {
      found.push({
        where: `${id} (${r.Type})`,
        statements: [{ Effect: 'Allow', Principal: { AWS: p.Principal }, Action: p.Action }],
      });
    }
  }
  return found;
}

/**
 * Why a principal of a statement may not exist when the policy is created, or undefined when it will: AWS
 * service principals, `*`, whole accounts, and roles created in the same template or exported by a stack that
 * deploys earlier always exist; a role named by its ARN may not.
 */
function principalProblem(principal: unknown, template: Json, earlierExports: Map<string, Json>): string | undefined {
  if (principal === '*') return undefined;
  if (typeof principal === 'string') {
    if (/^arn:aws[a-z-]*:iam::\d{12}:root$/.test(principal) || /^\d{12}$/.test(principal)) return undefined;
    if (principal.endsWith('.amazonaws.com')) return undefined; // Lambda permissions name services this way
    return `names ${principal}, which must exist when the policy is created`;
  }
  const p = principal as Json;
  const roleOf = (id: string) => template.Resources?.[id]?.Type === 'AWS::IAM::Role';
  if (p.Ref && roleOf(p.Ref)) return undefined;
  if (p['Fn::GetAtt'] && roleOf(p['Fn::GetAtt'][0]) && p['Fn::GetAtt'][1] === 'Arn') return undefined;
  if (p['Fn::ImportValue'] && earlierExports.has(p['Fn::ImportValue'])) return undefined;
  const joined = JSON.stringify(p);
  if (p['Fn::Join'] && /":root"\]\]\}$/.test(joined) && !joined.includes(':role/')) return undefined;
  return `names ${joined}, which is neither created earlier in the deploy order nor an AWS service principal`;
}

export function principalProblems(stack: Synthesized, all: readonly Synthesized[]): string[] {
  const earlierExports = new Map<string, Json>();
  for (const s of all.filter((o) => o.order < stack.order)) {
    for (const o of Object.values<Json>(s.template.Outputs ?? {})) {
      if (o.Export?.Name && JSON.stringify(o.Value).match(/Role[0-9A-F]{8}/))
        earlierExports.set(o.Export.Name, o.Value);
    }
  }
  return resourcePolicies(stack.template).flatMap(({ where, statements }) =>
    statements.flatMap((s) => {
      const principals = s.Principal === '*' ? ['*'] : asList((s.Principal as Json | undefined)?.AWS);
      return principals
        .map((pr) => principalProblem(pr, stack.template, earlierExports))
        .filter((m): m is string => m !== undefined)
        .map((m) => `${stack.stackName} ${where} ${s.Sid ?? ''}: ${m}`);
    }),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// 2. A resource policy replaces a default and forgets the services that use the resource.

export interface Publisher {
  readonly what: string;
  readonly topicId: string;
  readonly principal: { readonly Service?: string; readonly AWS?: string };
  readonly context: Record<string, string>;
}

/** Every publisher the templates wire to a topic: alarm actions (CloudWatch) and scaling notifications (Auto Scaling). */
export function publishersOf(stack: Synthesized): Publisher[] {
  const { account, region } = stack;
  const slr = `arn:aws:iam::${account}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling`;
  const out: Publisher[] = [];
  for (const [id, r] of Object.entries<Json>(stack.template.Resources ?? {})) {
    if (r.Type === 'AWS::CloudWatch::Alarm') {
      for (const action of [...asList(r.Properties.AlarmActions), ...asList(r.Properties.OKActions)] as Json[]) {
        if (!action.Ref)
          throw new Error(`${id}: alarm action ${JSON.stringify(action)} is not a topic of its template`);
        out.push({
          what: `${stack.stackName} alarm ${id}`,
          topicId: action.Ref,
          principal: { Service: 'cloudwatch.amazonaws.com' },
          context: {
            'aws:SecureTransport': 'true',
            'aws:SourceAccount': account,
            'aws:SourceArn': `arn:aws:cloudwatch:${region}:${account}:alarm:${r.Properties.AlarmName ?? id}`,
          },
        });
      }
    }
    if (r.Type === 'AWS::AutoScaling::AutoScalingGroup') {
      for (const n of asList(r.Properties.NotificationConfigurations) as Json[]) {
        out.push({
          what: `${stack.stackName} scaling notifications of ${id}`,
          topicId: n.TopicARN.Ref,
          principal: { AWS: slr },
          context: {
            'aws:SecureTransport': 'true',
            'aws:PrincipalArn': slr,
            'aws:PrincipalAccount': account,
            // SNS names the topic in the encryption context of its KMS calls (Amazon GameLift Servers guide,
            // "Set up an SNS topic with server-side encryption"); CloudFormation names the topic.
            'kms:EncryptionContext:aws:sns:topicArn': `arn:aws:sns:${region}:${account}:${stack.stackName}-${n.TopicARN.Ref}-1A2B3C4D5E6F`,
          },
        });
      }
    }
  }
  return out;
}

/** Why a publisher cannot publish to its topic, or undefined when the topic policy and the key policy allow it. */
export function publisherProblem(stack: Synthesized, p: Publisher): string | undefined {
  const resources = stack.template.Resources;
  const topic = resources[p.topicId];
  if (topic?.Type !== 'AWS::SNS::Topic') return `${p.what}: ${p.topicId} is not a topic of this template`;
  const topicPolicy = Object.values<Json>(resources).find(
    (r) =>
      r.Type === 'AWS::SNS::TopicPolicy' &&
      JSON.stringify(r.Properties.Topics) === JSON.stringify([{ Ref: p.topicId }]),
  );
  const statements = topicPolicy ? (asList(topicPolicy.Properties.PolicyDocument.Statement) as Statement[]) : [];
  if (topicPolicy && !allows(statements, { ...p, action: 'sns:Publish', resource: { Ref: p.topicId } })) {
    return `${p.what}: the topic policy of ${p.topicId} (which replaces the SNS default) does not allow it to publish`;
  }
  const keyId = topic.Properties.KmsMasterKeyId?.['Fn::GetAtt']?.[0];
  if (keyId) {
    const keyPolicy = asList(resources[keyId].Properties.KeyPolicy.Statement) as Statement[];
    for (const action of ['kms:GenerateDataKey', 'kms:Decrypt']) {
      if (!allows(keyPolicy, { ...p, action }))
        return `${p.what}: the key ${keyId} of the topic does not allow ${action}`;
    }
  }
  return undefined;
}

/** Why CloudWatch Logs cannot use the key of a log group, or undefined. */
export function logGroupKeyProblems(stack: Synthesized): string[] {
  const resources = stack.template.Resources;
  return Object.entries<Json>(resources)
    .filter(([, r]) => r.Type === 'AWS::Logs::LogGroup')
    .flatMap(([id, r]) => {
      const keyId = r.Properties.KmsKeyId?.['Fn::GetAtt']?.[0];
      if (!keyId) return [`${stack.stackName} ${id}: not encrypted with a key of its template`];
      const request = {
        principal: { Service: `logs.${stack.region}.amazonaws.com` },
        context: {
          'kms:EncryptionContext:aws:logs:arn': `arn:aws:logs:${stack.region}:${stack.account}:log-group:${id}`,
        },
      };
      return ['kms:Encrypt', 'kms:GenerateDataKey', 'kms:Decrypt']
        .filter(
          (action) =>
            !allows(asList(resources[keyId].Properties.KeyPolicy.Statement) as Statement[], { ...request, action }),
        )
        .map((action) => `${stack.stackName} ${id}: its key ${keyId} does not allow CloudWatch Logs ${action}`);
    });
}

// ---------------------------------------------------------------------------------------------------------------
// 3. A failed first create cannot be retried.

/** Resources that survive the rollback of the create that made them: `Retain` without a recorded reason. */
export function retainedOnFailedCreate(template: Json): string[] {
  return Object.entries<Json>(template.Resources ?? {})
    .filter(([, r]) => r.DeletionPolicy === 'Retain' && !r.Metadata?.['ha-web:keep-retain-on-create'])
    .map(([id, r]) => `${id} (${r.Type})`);
}

// ---------------------------------------------------------------------------------------------------------------
// 4. Weak cross-region references to values that can change.

/**
 * The immutable IDs of retained resources that may be read from another region (lib/cross-region.ts), with the
 * values of the properties whose change would replace the resource and so give it a new ID: the file system's
 * create-only properties (its CloudFormation resource schema, `createOnlyProperties`) and the Global Datastore's
 * fixed suffix (`lib/names.ts`). `env` is the environment of the producing stack.
 */
export const IMMUTABLE_CROSS_REGION_IDS: {
  type: string;
  attribute: string;
  pinned: (env: string) => Record<string, unknown>;
}[] = [
  {
    type: 'AWS::EFS::FileSystem',
    attribute: 'Ref',
    pinned: () => ({
      AvailabilityZoneName: undefined,
      Encrypted: true,
      KmsKeyId: { 'Fn::GetAtt': ['SharedFilesKeyD9C10E13', 'Arn'] },
      PerformanceMode: 'generalPurpose',
    }),
  },
  {
    type: 'AWS::ElastiCache::GlobalReplicationGroup',
    attribute: 'GlobalReplicationGroupId',
    pinned: (env) => ({ GlobalReplicationGroupIdSuffix: `haweb-${env}-sessions` }),
  },
];

function stackOutputReads(node: unknown): Json[] {
  if (Array.isArray(node)) return node.flatMap(stackOutputReads);
  if (node && typeof node === 'object') {
    return Object.entries(node).flatMap(([k, v]) => (k === 'Fn::GetStackOutput' ? [v as Json] : stackOutputReads(v)));
  }
  return [];
}

/** Why each read of another stack's output is not allowed, or nothing. */
export function crossRegionProblems(stack: Synthesized, all: readonly Synthesized[]): string[] {
  return stackOutputReads(stack.template).flatMap((read) => {
    if (read.Region === stack.region) {
      return [
        `${stack.stackName} reads ${read.StackName} of its own region weakly; same-region values go through exports`,
      ];
    }
    const producer = all.find((s) => s.stackName === read.StackName);
    const value = producer?.template.Outputs?.[read.OutputName]?.Value as Json | undefined;
    const [resourceId, attribute] = value?.Ref ? [value.Ref, 'Ref'] : (value?.['Fn::GetAtt'] ?? []);
    const resource = producer?.template.Resources?.[resourceId];
    const allowed = IMMUTABLE_CROSS_REGION_IDS.find((a) => a.type === resource?.Type && a.attribute === attribute);
    if (!allowed) {
      return [
        `${stack.stackName} reads ${read.StackName} ${JSON.stringify(value)}, which is not an immutable ID on the list`,
      ];
    }
    if (!['RetainExceptOnCreate', 'Retain'].includes(resource.DeletionPolicy)) {
      return [`${stack.stackName} reads ${read.StackName} ${resourceId}, which is not retained`];
    }
    const env = String(read.StackName).split('-')[1]!;
    return Object.entries(allowed.pinned(env))
      .filter(([k, v]) => JSON.stringify(resource.Properties?.[k]) !== JSON.stringify(v))
      .map(
        ([k, v]) =>
          `${stack.stackName} reads ${read.StackName} ${resourceId}, whose ${k} is ${JSON.stringify(resource.Properties?.[k])}, ` +
          `not ${JSON.stringify(v)}: a change of it replaces the resource, and the new ID would not reach this stack ` +
          'until it is deployed again',
      );
  });
}

/** A physical name a template fixes, written with `<env>` for the environment's name. */
export interface FixedName {
  readonly name: string;
  readonly type: string;
  /**
   * The resource's DeletionPolicy when it is not Delete: Retain or RetainExceptOnCreate, which keep the resource
   * when the stack is deleted, or Snapshot, whose resource a failed rollback may leave behind.
   */
  readonly retained?: string;
}

/**
 * Every physical name the stack's template fixes: a string property named `...Name`, `...Identifier`, `...Id` or
 * `...Suffix` that contains the app's `haweb` prefix (references to another resource's name are not strings).
 */
export function fixedNames(stack: Synthesized, env: string, services: readonly string[] = []): FixedName[] {
  // A service's names, `haweb-<env>-<service>...` and `/haweb/<env>/<service>`, are checked in their generic form
  // (the runbook covers every service of the config, not the shipped examples by name).
  const generic = (name: string) =>
    services.reduce(
      (n, service) =>
        n
          .replace(new RegExp(`^haweb-<env>-${service}(?=-|$)`), 'haweb-<env>-<service>')
          .replace(new RegExp(`^/haweb/<env>/${service}$`), '/haweb/<env>/<service>'),
      name,
    );
  return Object.values<Json>(stack.template.Resources ?? {}).flatMap((r) =>
    Object.entries<unknown>(r.Properties ?? {})
      .filter(([k, v]) => /(Name|Identifier|Id|Suffix)$/.test(k) && typeof v === 'string' && /haweb/i.test(v))
      .map(([, v]) => ({
        // A Parameter Store name is checked by its service's path, `/haweb/<env>/<service>` (the runbook lists
        // the path, not each setting and version).
        name: generic(
          (r.Type === 'AWS::SSM::Parameter' ? (v as string).split('/').slice(0, 4).join('/') : (v as string))
            .split(env)
            .join('<env>'),
        ),
        type: r.Type as string,
        retained: r.DeletionPolicy && r.DeletionPolicy !== 'Delete' ? (r.DeletionPolicy as string) : undefined,
      })),
  );
}

/**
 * What the first-deploy runbook misses: a fixed name its step 1 (`## 1.` up to `## 2.`) does not check, and a
 * name of a retained resource for which its step 3 (`## 3.` up to `## 4.`) has no command (a line, with its
 * `\\` continuations) that names it and deletes or removes something. A name counts only as a whole word
 * (`haweb-<env>` is not found inside `haweb-<env>-web`).
 */
export function runbookNameProblems(runbook: string, fixed: readonly FixedName[]): string[] {
  const section = (from: string, to: string) => runbook.slice(runbook.indexOf(from), runbook.indexOf(to));
  const [step1, step3] = [section('## 1.', '## 2.'), section('## 3.', '## 4.')];
  const word = (name: string) => new RegExp(`(?<![\\w<>/-])${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\w/-])`);
  const unique = [...new Map(fixed.map((f) => [`${f.name} ${f.type}`, f])).values()].sort((a, b) =>
    a.name.localeCompare(b.name),
  );
  const problems: string[] = [];
  for (const f of unique) {
    if (!word(f.name).test(step1)) problems.push(`step 1 does not check ${f.name} (${f.type})`);
  }
  for (const f of unique.filter((x) => x.retained)) {
    const commands = step3.replace(/\\\n/g, ' ').split('\n');
    const freed = commands.some((c) => word(f.name).test(c) && /\b(delete|remove)-/.test(c));
    if (!freed) problems.push(`step 3 has no command that frees ${f.name} (${f.type}, ${f.retained})`);
  }
  return problems;
}
