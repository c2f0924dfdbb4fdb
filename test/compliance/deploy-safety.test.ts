/**
 * Deploy safety across every template of every shipped environment (issue 8): each fault kind found in the
 * first templates has a checker here, the checker runs on all templates, and each is also run on the faulty
 * input of the first version to show that it would have caught it.
 */
import * as fs from 'fs';
import * as path from 'path';
import { EnvironmentConfig } from '../../lib/config';
import { DATABASE_ADMIN_USERNAME } from '../../lib/constructs/global-database';
import { EnvironmentName, synthesized } from '../synthesized';
import {
  crossRegionProblems,
  fixedNames,
  Json,
  logGroupKeyProblems,
  principalProblems,
  publisherProblem,
  publishersOf,
  retainedOnFailedCreate,
  runbookNameProblems,
  Synthesized,
} from './checkers';
import { Statement } from './policy';

/** An environment's stacks, in deploy order, from the run's shared `cdk synth` (test/synthesized.ts). */
function synthesize(name: EnvironmentName): Synthesized[] {
  return synthesized(name).stacks.map((s) => ({
    stackName: s.stackName,
    region: s.region,
    account: s.account,
    order: s.order,
    template: s.json,
  }));
}

const ENVIRONMENTS: [string, EnvironmentConfig, Synthesized[]][] = (['demo', 'staging', 'prod'] as const).map(
  (name) => [name, synthesized(name).config, synthesize(name)],
);

const asList = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

// ---------------------------------------------------------------------------------------------------------------

describe.each(ENVIRONMENTS)('deploy safety of %s', (_name, config, stacks) => {
  test('1. no resource or trust policy names a principal that may not exist yet', () => {
    expect(stacks.flatMap((s) => principalProblems(s, stacks))).toEqual([]);
  });

  test('2. every alarm action and scaling notification may publish: topic policy and key policy allow the publisher', () => {
    const publishers = stacks.flatMap((s) => publishersOf(s).map((p) => [s, p] as const));
    expect(publishers.filter(([, p]) => p.principal.Service).length).toBeGreaterThan(10);
    // Auto Scaling's service-linked role: the scaling notifications of each service's group, in both regions.
    expect(publishers.filter(([, p]) => p.principal.AWS)).toHaveLength(2 * config.services.length);
    expect(publishers.map(([s, p]) => publisherProblem(s, p)).filter((m) => m !== undefined)).toEqual([]);
  });

  test('2. every log group is encrypted with a key CloudWatch Logs of its region may use', () => {
    expect(stacks.flatMap(logGroupKeyProblems)).toEqual([]);
  });

  test('2. the ALB access log buckets let Elastic Load Balancing deliver logs', () => {
    for (const s of stacks.filter((st) => st.stackName.includes('-App-'))) {
      const policies = Object.values<Json>(s.template.Resources).filter((r) => r.Type === 'AWS::S3::BucketPolicy');
      const statements = policies.flatMap((p) => asList(p.Properties.PolicyDocument.Statement) as Statement[]);
      const delivery = statements.filter(
        (st) =>
          st.Effect === 'Allow' &&
          asList(st.Action).includes('s3:PutObject') &&
          JSON.stringify(st.Principal).match(/:root|logdelivery/),
      );
      expect(delivery).toHaveLength(1);
    }
  });

  test('3. a failed first create leaves no retained resource behind (RetainExceptOnCreate)', () => {
    expect(stacks.flatMap((s) => retainedOnFailedCreate(s.template).map((r) => `${s.stackName} ${r}`))).toEqual([]);
    const retained = stacks.flatMap((s) =>
      Object.values<Json>(s.template.Resources).filter((r) => r.DeletionPolicy === 'RetainExceptOnCreate'),
    );
    expect(retained.length).toBeGreaterThan(20);
    for (const r of retained) expect(r.UpdateReplacePolicy).toBe('Retain');
  });

  test('4. only immutable IDs of retained resources are read from the other region, and nothing weakly within one', () => {
    expect(stacks.flatMap((s) => crossRegionProblems(s, stacks))).toEqual([]);
    for (const s of stacks) {
      const types = Object.values<Json>(s.template.Resources).map((r) => r.Type);
      expect(types.filter((t) => /CrossRegion(Export|String)/.test(t))).toEqual([]);
    }
  });

  test('4. the only deploy-time calls to the other region are the plan reading the fleets by name', () => {
    const calls = stacks.flatMap((s) =>
      Object.entries<Json>(s.template.Resources)
        .filter(([, r]) => r.Type === 'Custom::AWS')
        .map(([id, r]) => ({ stack: s, id, create: JSON.stringify(r.Properties.Create) })),
    );
    const crossRegion = calls.filter((c) => !c.create.includes(`\\"region\\":\\"${c.stack.region}\\"`));
    expect(crossRegion.map((c) => `${c.stack.stackName} ${c.create.match(/describeAutoScalingGroups/)?.[0]}`)).toEqual(
      config.regionSwitch.enabled
        ? config.services.map(
            () =>
              `${stacks.find((s) => s.stackName.endsWith(`Operations-${config.primary.region}`))!.stackName} describeAutoScalingGroups`,
          )
        : [],
    );
  });

  test(`5. the Aurora master user is ${DATABASE_ADMIN_USERNAME}, not a default name (CT.RDS.PR.21)`, () => {
    const clusters = stacks.flatMap((s) =>
      Object.values<Json>(s.template.Resources).filter((r) => r.Type === 'AWS::RDS::DBCluster'),
    );
    expect(clusters).toHaveLength(2);
    const users = clusters.map((c) => c.Properties.MasterUsername).filter((u) => u !== undefined);
    expect(users).toEqual([DATABASE_ADMIN_USERNAME]); // the secondary inherits it from the global cluster
    for (const u of users) {
      expect(['postgres', 'admin']).not.toContain(u);
      // CreateDBCluster: "Must be 1 to 16 letters or numbers. First character must be a letter."
      expect(u).toMatch(/^[A-Za-z][A-Za-z0-9]{0,15}$/);
    }
  });

  test(`5. every Aurora instance has Enhanced Monitoring every ${config.database.monitoringIntervalSeconds} s with a monitoring role`, () => {
    for (const s of stacks) {
      const resources = s.template.Resources;
      for (const r of Object.values<Json>(resources).filter((x) => x.Type === 'AWS::RDS::DBInstance')) {
        expect(r.Properties.MonitoringInterval).toBe(config.database.monitoringIntervalSeconds);
        const roleId = r.Properties.MonitoringRoleArn['Fn::GetAtt'][0];
        const role = resources[roleId].Properties;
        expect(role.AssumeRolePolicyDocument.Statement).toContainEqual(
          expect.objectContaining({ Principal: { Service: 'monitoring.rds.amazonaws.com' } }),
        );
        expect(JSON.stringify(role.ManagedPolicyArns)).toContain('service-role/AmazonRDSEnhancedMonitoringRole');
      }
    }
  });
});

describe('the first-deploy runbook (docs/runbooks/first-deploy.md)', () => {
  // Every fixed name of every environment, a service's in its generic form (haweb-<env>-<service>).
  const fixed = ENVIRONMENTS.flatMap(([, config, stacks]) =>
    stacks.flatMap((st) =>
      fixedNames(
        st,
        config.name,
        config.services.map((s) => s.name),
      ),
    ),
  );
  const runbook = fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'runbooks', 'first-deploy.md'), 'utf8');

  test('checks every fixed name of every template (step 1) and frees each one a retained resource holds (step 3)', () => {
    expect(fixed.filter((f) => f.retained).length).toBeGreaterThanOrEqual(4);
    expect(runbookNameProblems(runbook, fixed)).toEqual([]);
  });

  test('the name check fails on the first runbook, which missed the Global Datastore and had no command to free a retained name', () => {
    const first = runbook
      .replace(/^.*haweb-<env>-sessions.*$/gm, '')
      .replace(/^.*(remove-regions-from-replication|delete-secret).*$/gm, '');
    expect(runbookNameProblems(first, fixed)).toEqual([
      'step 1 does not check haweb-<env>-sessions (AWS::ElastiCache::GlobalReplicationGroup)',
      'step 3 has no command that frees haweb-<env>-sessions (AWS::ElastiCache::GlobalReplicationGroup, RetainExceptOnCreate)',
      'step 3 has no command that frees haweb/<env>/cache-auth (AWS::SecretsManager::Secret, RetainExceptOnCreate)',
      'step 3 has no command that frees haweb/<env>/database (AWS::SecretsManager::Secret, RetainExceptOnCreate)',
    ]);
  });

  test('lifts every deletion protection the templates set, by the logical IDs the templates have', () => {
    const [, , prodStacks] = ENVIRONMENTS.find(([name]) => name === 'prod')!;
    const all = prodStacks.flatMap((st) => Object.entries<Json>(st.template.Resources));
    expect(all.some(([, r]) => r.Type === 'AWS::RDS::GlobalCluster' && r.Properties.DeletionProtection)).toBe(true);
    expect(runbook).toContain(
      'aws rds modify-global-cluster --global-cluster-identifier haweb-<env>-global --no-deletion-protection',
    );
    expect(all.filter(([, r]) => r.Type === 'AWS::RDS::DBCluster' && r.Properties.DeletionProtection)).toHaveLength(2);
    expect(runbook).toMatch(/modify-db-cluster --db-cluster-identifier haweb-<env>-aurora --no-deletion-protection/);
    const albs = all.filter(
      ([, r]) =>
        r.Type === 'AWS::ElasticLoadBalancingV2::LoadBalancer' &&
        JSON.stringify(r.Properties.LoadBalancerAttributes).includes(
          '{"Key":"deletion_protection.enabled","Value":"true"}',
        ),
    );
    expect(albs).toHaveLength(2);
    for (const [id] of albs) expect(runbook).toContain(`--logical-resource-id ${id}`);
    const logs = all.filter(([id, r]) => r.Type === 'AWS::S3::Bucket' && id.startsWith('LoadBalancerAccessLogs'));
    for (const [id] of logs) expect(runbook).toContain(`--logical-resource-id ${id}`);
  });

  test('names the stack parameter that refreshes the fleets of the Region switch plan', () => {
    expect(runbook).toContain('HaWeb-<env>-Operations-<primary>:PlanFleetLookup=');
  });
});

describe('each checker catches the faulty input of the first version', () => {
  const [, , demoStacks] = ENVIRONMENTS[0]!;
  const appStack = demoStacks.find((s) => s.stackName === 'HaWeb-demo-App-us-east-1')!;
  const withResources = (extra: Json): Synthesized => ({
    ...appStack,
    template: { ...appStack.template, Resources: { ...appStack.template.Resources, ...extra } },
  });
  const topicId = Object.entries<Json>(appStack.template.Resources).find(([, r]) => r.Type === 'AWS::SNS::Topic')![0];

  test('1. the alarm key policy naming the Auto Scaling service-linked role', () => {
    const faulty = withResources({
      OldAlertsKey: {
        Type: 'AWS::KMS::Key',
        Properties: {
          KeyPolicy: {
            Statement: [
              {
                Effect: 'Allow',
                Principal: {
                  AWS: 'arn:aws:iam::111111111111:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling',
                },
                Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
                Resource: '*',
              },
            ],
          },
        },
      },
    });
    expect(principalProblems(faulty, demoStacks)).toEqual([
      expect.stringContaining('OldAlertsKey (AWS::KMS::Key) : names arn:aws:iam::111111111111:role/aws-service-role/'),
    ]);
  });

  test('2. the topic policy with a single Deny statement', () => {
    const faulty = withResources(
      Object.fromEntries(
        Object.entries<Json>(appStack.template.Resources)
          .filter(([, r]) => r.Type === 'AWS::SNS::TopicPolicy')
          .map(([id, r]) => [
            id,
            {
              ...r,
              Properties: {
                ...r.Properties,
                PolicyDocument: {
                  Statement: [
                    {
                      Effect: 'Deny',
                      Principal: '*',
                      Action: 'sns:Publish',
                      Resource: { Ref: topicId },
                      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
                    },
                  ],
                },
              },
            },
          ]),
      ),
    );
    const problems = publishersOf(faulty).map((p) => publisherProblem(faulty, p));
    expect(problems.filter((m) => m !== undefined).length).toBe(problems.length);
    expect(problems[0]).toMatch(/topic policy .* does not allow it to publish/);
  });

  test('3. a secret with DeletionPolicy Retain', () => {
    expect(
      retainedOnFailedCreate({
        Resources: { Secret: { Type: 'AWS::SecretsManager::Secret', DeletionPolicy: 'Retain' } },
      }),
    ).toEqual(['Secret (AWS::SecretsManager::Secret)']);
  });

  test("4. the primary's failover record reading the secondary's load balancer DNS name", () => {
    const secondaryApp = demoStacks.find((s) => s.stackName === 'HaWeb-demo-App-us-west-2')!;
    const lbId = Object.entries<Json>(secondaryApp.template.Resources).find(
      ([, r]) => r.Type === 'AWS::ElasticLoadBalancingV2::LoadBalancer',
    )![0];
    const producer: Synthesized = {
      ...secondaryApp,
      template: {
        ...secondaryApp.template,
        Outputs: { ...secondaryApp.template.Outputs, LbDns: { Value: { 'Fn::GetAtt': [lbId, 'DNSName'] } } },
      },
    };
    const consumer = withResources({
      Record: {
        Type: 'AWS::Route53::RecordSet',
        Properties: {
          AliasTarget: {
            DNSName: {
              'Fn::GetStackOutput': { StackName: producer.stackName, Region: 'us-west-2', OutputName: 'LbDns' },
            },
          },
        },
      },
    });
    expect(crossRegionProblems(consumer, [...demoStacks.filter((s) => s !== secondaryApp), producer])).toEqual([
      expect.stringContaining('which is not an immutable ID on the list'),
    ]);
  });

  test('4. a change that would replace a file system whose ID the other region reads (a new performance mode)', () => {
    const storage = demoStacks.find((s) => s.stackName === 'HaWeb-demo-Storage-us-west-2')!;
    const [fsId, fs] = Object.entries<Json>(storage.template.Resources).find(
      ([, r]) => r.Type === 'AWS::EFS::FileSystem',
    )!;
    const producer: Synthesized = {
      ...storage,
      template: {
        ...storage.template,
        Resources: {
          ...storage.template.Resources,
          [fsId]: { ...fs, Properties: { ...fs.Properties, PerformanceMode: 'maxIO' } },
        },
      },
    };
    const readers = demoStacks.filter((s) => s.region === 'us-east-1');
    const others = demoStacks.filter((s) => s !== storage);
    expect(readers.flatMap((s) => crossRegionProblems(s, demoStacks))).toEqual([]);
    const problems = readers.flatMap((s) => crossRegionProblems(s, [...others, producer]));
    expect(problems.length).toBeGreaterThan(0);
    for (const p of problems)
      expect(p).toMatch(/whose PerformanceMode is "maxIO", not "generalPurpose": a change of it replaces/);
  });
});
