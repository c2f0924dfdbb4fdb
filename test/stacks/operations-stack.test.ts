/**
 * The Operations stacks as the CLI synthesizes them, and their wiring to the other stacks and the other region:
 * which region holds what, the fixed names and ARNs that connect the plan, the fault injection templates and the
 * environment dashboard to the app stacks' alarms and functions, and the failover records' references to the
 * app stacks. What each construct makes of its props is tested on a bare stack in test/constructs.
 */
import { regionAlarmName } from '../../lib/names';
import { PLAN_OUTPUTS, servicePascalName } from '../../lib/stack-outputs';
import { evaluatePlanHealthChecks, PLAN_ENTRY_EAST, PLAN_ENTRY_WEST } from '../plan-health-checks';
import { importedValue, Json, synthesized, SynthesizedEnvironment, SynthesizedStack } from '../synthesized';

/** The resources of a type in a stack, by logical ID. */
const resourcesOf = (stack: SynthesizedStack, type: string): [string, Json][] =>
  Object.entries(stack.json.Resources as Record<string, Json>).filter(([, r]) => r.Type === type);
const propertiesOf = (stack: SynthesizedStack, type: string): Json[] =>
  resourcesOf(stack, type).map(([, r]) => r.Properties);
/** The logical ID of the one resource of a type in a stack. */
const onlyIdOf = (stack: SynthesizedStack, type: string): string => {
  const found = resourcesOf(stack, type);
  expect(found).toHaveLength(1);
  return found[0]![0];
};
const statementsOf = (stack: SynthesizedStack): Json[] =>
  propertiesOf(stack, 'AWS::IAM::Policy').flatMap((p) => p.PolicyDocument.Statement);
const countOf = (stack: SynthesizedStack, type: string) => resourcesOf(stack, type).length;

describe.each([
  ['demo (no plan)', synthesized('demo')],
  ['prod (plan)', synthesized('prod')],
] as [string, SynthesizedEnvironment][])('%s', (_name, env) => {
  const { config } = env;
  const [primaryRegion, secondaryRegion] = [config.primary.region, config.secondary.region];
  const opsP = env.stack('Operations', 'primary');
  const opsS = env.stack('Operations', 'secondary');
  const appP = env.stack('App', 'primary');
  const appS = env.stack('App', 'secondary');
  const planned = config.regionSwitch.enabled;
  const alarmArn = (region: string, alarm: string) =>
    `arn:aws:cloudwatch:${region}:${config.account}:alarm:haweb-${config.name}-${alarm}`;
  const services = config.services.map((s) => s.name);
  const lambdaArn = (region: string, fn: string) =>
    `arn:aws:lambda:${region}:${config.account}:function:haweb-${config.name}-${fn}`;

  describe('switch functions', () => {
    const fns = (stack: SynthesizedStack) =>
      propertiesOf(stack, 'AWS::Lambda::Function').filter((p) => p.Runtime === 'nodejs22.x');

    test.each([
      ['primary', opsP],
      ['secondary', opsS],
    ])(
      'the %s region has its own copies, named by the fixed names, plus the plan-step copies when a plan runs them',
      (_role, stack) => {
        const expected = [
          ...['preflight', 'cache-failover', 'efs-replication', 'postcheck', 'rejoin'].map((f) => [
            `haweb-${config.name}-${f}`,
            undefined,
          ]),
          ...(planned ? ['preflight', 'cache-failover', 'efs-replication', 'postcheck'] : []).map((f) => [
            `haweb-${config.name}-${f}-plan-step`,
            'region-switch-plan',
          ]),
        ];
        expect(expected).toHaveLength(planned ? 9 : 5);
        expect(
          fns(stack)
            .map((p) => [p.FunctionName, p.Environment.Variables.INVOKED_BY])
            .sort(),
        ).toEqual(expected.sort());
        for (const p of fns(stack)) expect(p.Architectures).toEqual(['arm64']);
      },
    );

    test.each([
      ['primary', opsP],
      ['secondary', opsS],
    ])('the %s region outputs each function name for the CLI', (_role, stack) => {
      for (const name of ['Preflight', 'CacheFailover', 'EfsReplication', 'Postcheck', 'Rejoin']) {
        expect(stack.json.Outputs[`${name}FunctionName`].Value).toEqual({
          Ref: expect.stringMatching(new RegExp(`^SwitchFunctions${name}[0-9A-F]{8}$`)),
        });
      }
    });

    test.each([
      ['primary', opsP, env.stack('Storage', 'primary'), env.stack('Storage', 'secondary')],
      ['secondary', opsS, env.stack('Storage', 'secondary'), env.stack('Storage', 'primary')],
    ])(
      'the %s copies know both regions and the global resources: own file system imported, the other read as an immutable ID',
      (_role, stack, ownStorage, otherStorage) => {
        const dataPrimary = env.stack('Data', 'primary');
        for (const p of fns(stack)) {
          const vars = p.Environment.Variables;
          const regions = JSON.stringify(vars.REGIONS);
          for (const region of [primaryRegion, secondaryRegion]) {
            expect(regions).toContain(`\\"appStackName\\":\\"HaWeb-${config.name}-App-${region}\\"`);
            expect(regions).toContain(`\\"regionalUrl\\":\\"https://${region}.${config.dns.domainName}\\"`);
          }
          const fileSystems = (vars.REGIONS['Fn::Join'][1] as unknown[]).filter((part) => typeof part !== 'string');
          expect(fileSystems).toHaveLength(2);
          const own = fileSystems.find((r) => JSON.stringify(r).includes(ownStorage.stackName));
          const other = fileSystems.find((r) => JSON.stringify(r).includes(otherStorage.stackName));
          expect(importedValue(own, ownStorage, stack)).toEqual({ Ref: onlyIdOf(ownStorage, 'AWS::EFS::FileSystem') });
          expect(importedValue(other, otherStorage, stack)).toEqual({
            Ref: onlyIdOf(otherStorage, 'AWS::EFS::FileSystem'),
          });
          expect(vars.GLOBAL_CLUSTER_IDENTIFIER).toBe(`haweb-${config.name}-global`);
          expect(importedValue(vars.GLOBAL_DATASTORE_ID, dataPrimary, stack)).toEqual({
            'Fn::GetAtt': [
              onlyIdOf(dataPrimary, 'AWS::ElastiCache::GlobalReplicationGroup'),
              'GlobalReplicationGroupId',
            ],
          });
        }
      },
    );
  });

  describe('fault injection experiments', () => {
    const actionIds = (stack: SynthesizedStack) =>
      propertiesOf(stack, 'AWS::FIS::ExperimentTemplate')
        .flatMap((p) => Object.values(p.Actions as Record<string, { ActionId: string }>).map((a) => a.ActionId))
        .sort();

    test.each([
      ['primary', opsP, primaryRegion],
      ['secondary', opsS, secondaryRegion],
    ])(
      "the %s region can terminate instances, cut an AZ and fail its own region's cluster over (whichever holds the writer)",
      (_role, stack, own) => {
        expect(actionIds(stack)).toEqual([
          ...services.map(() => 'aws:ec2:terminate-instances'),
          'aws:network:disrupt-connectivity',
          'aws:rds:failover-db-cluster',
        ]);
        const clusterArn = (region: string) =>
          `arn:aws:rds:${region}:${config.account}:cluster:haweb-${config.name}-aurora`;
        const failover = propertiesOf(stack, 'AWS::FIS::ExperimentTemplate').find((p) =>
          JSON.stringify(p.Actions).includes('aws:rds:failover-db-cluster'),
        )!;
        expect(Object.values(failover.Targets)).toEqual([
          { ResourceType: 'aws:rds:cluster', ResourceArns: [clusterArn(own)], SelectionMode: 'ALL' },
        ]);
        const allowed = statementsOf(stack).filter((s) => s.Action === 'rds:FailoverDBCluster');
        expect(allowed.map((s) => s.Resource)).toEqual([clusterArn(own)]);
      },
    );

    test("a service's instance experiment stops on its 5xx and healthy-host alarms, the others on the region's service health, by ARN", () => {
      for (const [stack, region] of [
        [opsP, primaryRegion],
        [opsS, secondaryRegion],
      ] as const) {
        for (const [id, r] of resourcesOf(stack, 'AWS::FIS::ExperimentTemplate')) {
          const service = services.find((s) => id.startsWith(`ExperimentsTerminateInstances${servicePascalName(s)}`));
          expect(r.Properties.StopConditions).toEqual(
            service
              ? [
                  { Source: 'aws:cloudwatch:alarm', Value: alarmArn(region, `${service}-target5xx`) },
                  { Source: 'aws:cloudwatch:alarm', Value: alarmArn(region, `${service}-healthy-hosts`) },
                ]
              : [{ Source: 'aws:cloudwatch:alarm', Value: alarmArn(region, 'service-health') }],
          );
          // AWS FIS quotas: at most 5 stop conditions per experiment template, whatever the number of services.
          expect(r.Properties.StopConditions.length).toBeLessThanOrEqual(5);
        }
      }
    });

    test("terminate only instances of the environment's fleets, by their fixed names, one template per service", () => {
      for (const stack of [opsP, opsS]) {
        const terminate = statementsOf(stack).find((s) => s.Action === 'ec2:TerminateInstances')!;
        expect(terminate.Condition.StringEquals).toEqual({
          'aws:ResourceTag/aws:autoscaling:groupName': services.map((service) => `haweb-${config.name}-${service}`),
        });
        const targets = propertiesOf(stack, 'AWS::FIS::ExperimentTemplate')
          .filter((p) => JSON.stringify(p.Actions).includes('terminate-instances'))
          .map((p) => Object.values(p.Targets as Record<string, Json>)[0].ResourceTags['aws:autoscaling:groupName']);
        expect(targets).toEqual(services.map((service) => `haweb-${config.name}-${service}`));
      }
    });
  });

  describe('region alarms (in each app stack, next to what they watch)', () => {
    // The region alarms, without the fleets' two instance-refresh alarms each (web-fleet.test.ts).
    const alarmsOf = (stack: SynthesizedStack) =>
      resourcesOf(stack, 'AWS::CloudWatch::Alarm')
        .filter(([id]) => id.startsWith('Alarms'))
        .map(([, r]) => r.Properties);
    const sorted = (stack: SynthesizedStack, key: string) =>
      alarmsOf(stack)
        .map((p) => p[key])
        .sort();
    /** Every alarm name of a stack, the composite's too. */
    const allAlarmNames = (stack: SynthesizedStack) => [
      ...sorted(stack, 'AlarmName'),
      ...propertiesOf(stack, 'AWS::CloudWatch::CompositeAlarm').map((p) => p.AlarmName),
    ];
    /** What an alarm watches: its metric, or the start of its query's expression. */
    /** What an alarm watches: its metric, the Metrics Insights query's head, or the metric its math combines. */
    const watched = (p: Json): string =>
      p.MetricName ??
      (JSON.stringify(p.Metrics[0].Expression).match(/SELECT \w+\(\w+\)/) ?? [])[0] ??
      [...new Set((p.Metrics as Json[]).filter((m) => m.MetricStat).map((m) => m.MetricStat.Metric.MetricName))].join();

    test('no alarm lives in an operations stack', () => {
      expect(countOf(opsP, 'AWS::CloudWatch::Alarm')).toBe(0);
      expect(countOf(opsS, 'AWS::CloudWatch::Alarm')).toBe(0);
    });

    test.each([
      ['primary', appP],
      ['secondary', appS],
    ])(
      "the %s region alarms on each service's target group and on all three replications, whatever its role, by fixed names",
      (_role, stack) => {
        expect(sorted(stack, 'AlarmName')).toEqual(
          [
            `haweb-${config.name}-cache-replication-lag`,
            `haweb-${config.name}-database-replication-lag`,
            `haweb-${config.name}-files-since-last-sync`,
            ...services.flatMap((service) =>
              ['healthy-hosts', 'latency-p99', 'target5xx'].map((a) => `haweb-${config.name}-${service}-${a}`),
            ),
          ].sort(),
        );
        expect(alarmsOf(stack).map(watched).sort()).toEqual(
          [
            'AuroraGlobalDBReplicationLag',
            'GlobalDatastoreReplicationLag',
            'SELECT MAX(TimeSinceLastSync)',
            ...services.flatMap(() => ['HTTPCode_Target_5XX_Count', 'HealthyHostCount', 'TargetResponseTime']),
          ].sort(),
        );
      },
    );

    test("both regions' alarms are the same but for the region's own IDs (its storage stack's export)", () => {
      const regionFree = (stack: SynthesizedStack, storage: SynthesizedStack) =>
        JSON.parse(JSON.stringify(alarmsOf(stack)).replaceAll(storage.stackName, '<own storage stack>'));
      const [storageP, storageS] = [env.stack('Storage', 'primary'), env.stack('Storage', 'secondary')];
      expect(regionFree(appP, storageP)).toEqual(regionFree(appS, storageS));
    });

    test('the replication alarms treat missing data as not breaching (one end of each replication publishes nothing)', () => {
      for (const stack of [appP, appS]) {
        const replication = alarmsOf(stack).filter((p) => /replication-lag$|since-last-sync$/.test(p.AlarmName));
        expect(replication).toHaveLength(3);
        for (const p of replication) expect(p.TreatMissingData).toBe('notBreaching');
      }
    });

    test("every alarm ARN an operations stack names is an alarm of that name in that region's app stack", () => {
      const named = new Set(
        [opsP, opsS].flatMap((s) => [
          ...JSON.stringify(s.json).matchAll(/arn:aws:cloudwatch:([a-z0-9-]+):(\d{12}):alarm:([a-z0-9-]+)/g),
        ]),
      );
      expect(named.size).toBeGreaterThan(0);
      for (const [, region, account, name] of named) {
        expect(account).toBe(config.account);
        expect(allAlarmNames(env.stack('App', region!))).toContain(name);
      }
      expect(regionAlarmName(config, { service: 'web', alarm: 'HealthyHosts' })).toBe(
        `haweb-${config.name}-web-healthy-hosts`,
      );
      expect(regionAlarmName(config, { alarm: 'DatabaseReplicationLag' })).toBe(
        `haweb-${config.name}-database-replication-lag`,
      );
    });

    test('every alarm notifies its region alarm topic on ALARM and on OK', () => {
      for (const stack of [appP, appS]) {
        const topic = onlyIdOf(stack, 'AWS::SNS::Topic');
        expect(topic).toMatch(/^AlertsTopic/);
        for (const p of alarmsOf(stack)) {
          expect(p.AlarmActions).toEqual([{ Ref: topic }]);
          expect(p.OKActions).toEqual(p.AlarmActions);
        }
      }
    });

    test('the lag alarms of each region watch its own cluster and cache node by their fixed names', () => {
      for (const stack of [appP, appS]) {
        const aurora = alarmsOf(stack).find((p) => p.MetricName === 'AuroraGlobalDBReplicationLag')!;
        expect(aurora.Dimensions).toEqual([{ Name: 'DBClusterIdentifier', Value: `haweb-${config.name}-aurora` }]);
        // Every node of the group (whichever is its primary reports the lag): <group>-001 to -00<replicas + 1>.
        const cache = alarmsOf(stack).find((p) => JSON.stringify(p).includes('GlobalDatastoreReplicationLag'))!;
        const nodes = (cache.Metrics as Record<string, any>[]).filter((m) => m.MetricStat);
        expect(nodes.map((m) => m.MetricStat.Metric.Dimensions[0].Value)).toEqual(
          Array.from({ length: config.cache.replicasPerRegion + 1 }, (_, i) => `haweb-${config.name}-cache-00${i + 1}`),
        );
      }
    });

    test.each([
      ['primary', appP, 'primary', 'secondary'],
      ['secondary', appS, 'secondary', 'primary'],
    ] as const)(
      "the %s region's EFS alarm queries its own file system as the source (same-region import), no other",
      (_role, stack, own, other) => {
        const [ownStorage, otherStorage] = [env.stack('Storage', own), env.stack('Storage', other)];
        const efs = alarmsOf(stack).find((p) => p.AlarmName === `haweb-${config.name}-files-since-last-sync`)!;
        expect(efs.MetricName).toBeUndefined();
        expect(efs.Metrics).toHaveLength(1);
        const { Expression: expression, Period: period } = efs.Metrics[0];
        expect(period).toBe(300);
        expect(expression['Fn::Join'][0]).toBe('');
        const [select, fileSystemId, close] = expression['Fn::Join'][1];
        expect([select, close]).toEqual([
          'SELECT MAX(TimeSinceLastSync) FROM SCHEMA("AWS/EFS", DestinationFileSystemId, FileSystemId) ' +
            "WHERE FileSystemId = '",
          "'",
        ]);
        expect(importedValue(fileSystemId, ownStorage, stack)).toEqual({
          Ref: onlyIdOf(ownStorage, 'AWS::EFS::FileSystem'),
        });
        expect(JSON.stringify(efs)).not.toContain(otherStorage.stackName);
        expect(JSON.stringify(efs)).not.toContain('Fn::GetStackOutput');
      },
    );
  });

  describe('regional dashboards (in each app stack)', () => {
    const bodyOf = (stack: SynthesizedStack) => JSON.stringify(propertiesOf(stack, 'AWS::CloudWatch::Dashboard'));
    const FLEET = ['RequestCount', 'HTTPCode_Target_5XX_Count', 'TargetResponseTime', 'HealthyHostCount'];

    const REPLICATION = ['AuroraGlobalDBReplicationLag', 'GlobalDatastoreReplicationLag', 'TimeSinceLastSync'];

    test.each([
      ['primary', appP],
      ['secondary', appS],
    ])(
      'the %s region shows its fleet, its health check and all three replications, whatever its role',
      (_role, stack) => {
        expect(countOf(stack, 'AWS::CloudWatch::Dashboard')).toBe(1);
        for (const m of [...FLEET, 'HealthCheckStatus', ...REPLICATION]) expect(bodyOf(stack)).toContain(m);
      },
    );

    test("both regions' dashboards are the same but for the region and its own storage stack's export", () => {
      const regionFree = (stack: SynthesizedStack, storage: SynthesizedStack) =>
        bodyOf(stack)
          .replaceAll(storage.stackName, '<own storage stack>')
          .replace(`(${config.name}): ${stack.region}`, `(${config.name}): <region>`);
      const [storageP, storageS] = [env.stack('Storage', 'primary'), env.stack('Storage', 'secondary')];
      expect(regionFree(appP, storageP)).toEqual(regionFree(appS, storageS));
    });

    test('reads Route 53 health check status in us-east-1, where Route 53 publishes it', () => {
      expect(bodyOf(appS)).toMatch(/HealthCheckStatus[^\]]*us-east-1/);
    });
  });

  describe('environment dashboard (primary operations stack)', () => {
    const body = () => JSON.stringify(propertiesOf(opsP, 'AWS::CloudWatch::Dashboard'));

    test('exists once per environment, in the primary operations stack', () => {
      expect(countOf(opsP, 'AWS::CloudWatch::Dashboard')).toBe(1);
      expect(countOf(opsS, 'AWS::CloudWatch::Dashboard')).toBe(0);
    });

    test("shows both regions side by side through their alarms' ARNs, built from the fixed names", () => {
      expect(body()).toContain(`${primaryRegion} (created as primary)`);
      expect(body()).toContain(`${secondaryRegion} (created as secondary)`);
      expect(body()).toContain(`\\"region\\":\\"${secondaryRegion}\\"`);
    });

    test("lists every alarm of each region, each service's and each replication's, whatever its role (state and graph)", () => {
      const alarms = [
        ...services.flatMap((service) => ['target5xx', 'latency-p99', 'healthy-hosts'].map((a) => `${service}-${a}`)),
        'database-replication-lag',
        'cache-replication-lag',
        'files-since-last-sync',
      ];
      for (const region of [primaryRegion, secondaryRegion]) {
        for (const alarm of alarms) expect(body().split(alarmArn(region, alarm))).toHaveLength(3);
      }
      expect(body()).not.toContain('not replicated into');
    });

    test('reads nothing of the other region (no cross-region reference)', () => {
      expect(body()).not.toContain('Fn::GetStackOutput');
    });

    if (!planned) {
      test('has no DNS steering row (no plan)', () => {
        expect(body()).not.toContain('DNS steering of the PRIMARY record');
      });
    } else {
      test('a first row shows the PRIMARY record gate, the plan check and the endpoint check', () => {
        const gateId = resourcesOf(opsP, 'AWS::Route53::HealthCheck').find(
          ([, r]) => r.Properties.HealthCheckConfig.Type === 'CALCULATED',
        )![0];
        expect(body()).toContain('DNS steering of the PRIMARY record');
        expect(body()).toContain('PRIMARY record gate (endpoint AND plan)');
        expect(body()).toContain(JSON.stringify({ Ref: gateId }));
        expect(body()).toContain('PlanHealthChecks');
        expect(body().indexOf('DNS steering')).toBeLessThan(body().indexOf(`${primaryRegion} (created as primary)`));
      });
    }
  });

  describe('failover records', () => {
    const recordOf = (stack: SynthesizedStack) => {
      const records = propertiesOf(stack, 'AWS::Route53::RecordSet');
      expect(records).toHaveLength(1);
      return records[0]!;
    };
    const primary = recordOf(opsP);
    const secondary = recordOf(opsS);
    const endpointCheckOf = (app: SynthesizedStack) => ({ Ref: onlyIdOf(app, 'AWS::Route53::HealthCheck') });

    test(`are one A record for ${config.dns.domainName} per region, each in its own region's operations stack`, () => {
      expect(primary.Failover).toBe('PRIMARY');
      expect(secondary.Failover).toBe('SECONDARY');
      for (const r of [primary, secondary]) {
        expect(r).toMatchObject({
          Type: 'A',
          Name: `${config.dns.domainName}.`,
          HostedZoneId: config.dns.hostedZoneId,
        });
      }
    });

    test('have distinct set identifiers that name their region (the plan maps records to regions by them)', () => {
      expect(primary.SetIdentifier).toBe(`${config.name}-${primaryRegion}`);
      expect(secondary.SetIdentifier).toBe(`${config.name}-${secondaryRegion}`);
    });

    test.each([
      ['PRIMARY', () => primary, opsP, appP],
      ['SECONDARY', () => secondary, opsS, appS],
    ] as const)(
      "%s is an alias of its own region's load balancer (same-region import) that evaluates target health",
      (_f, record, ops, app) => {
        const alias = record().AliasTarget;
        expect(alias.EvaluateTargetHealth).toBe(true);
        const lbId = onlyIdOf(app, 'AWS::ElasticLoadBalancingV2::LoadBalancer');
        expect(alias.HostedZoneId).toHaveProperty('Fn::ImportValue');
        expect(importedValue(alias.HostedZoneId, app, ops)).toEqual({ 'Fn::GetAtt': [lbId, 'CanonicalHostedZoneID'] });
        expect(alias.DNSName['Fn::Join'][1][0]).toBe('dualstack.');
        expect(importedValue(alias.DNSName['Fn::Join'][1][1], app, ops)).toEqual({ 'Fn::GetAtt': [lbId, 'DNSName'] });
      },
    );

    test("SECONDARY uses the secondary's endpoint health check only", () => {
      expect(importedValue(secondary.HealthCheckId, appS, opsS)).toEqual(endpointCheckOf(appS));
      expect(countOf(opsS, 'AWS::Route53::HealthCheck')).toBe(0);
    });

    if (!planned) {
      test("PRIMARY uses the primary's endpoint health check (no plan, no calculated check)", () => {
        expect(importedValue(primary.HealthCheckId, appP, opsP)).toEqual(endpointCheckOf(appP));
        expect(countOf(opsP, 'AWS::Route53::HealthCheck')).toBe(0);
      });
    } else {
      const gateId = () => onlyIdOf(opsP, 'AWS::Route53::HealthCheck');
      const gate = () => opsP.json.Resources[gateId()].Properties.HealthCheckConfig;

      test("PRIMARY uses a calculated check: healthy only while the endpoint and the plan's primary check both are", () => {
        expect(primary.HealthCheckId).toEqual({ Ref: gateId() });
        expect(gate()).toMatchObject({ Type: 'CALCULATED', HealthThreshold: 2 });
        expect(gate().ChildHealthChecks).toHaveLength(2);
        expect(importedValue(gate().ChildHealthChecks[0], appP, opsP)).toEqual(endpointCheckOf(appP));
        const planId = onlyIdOf(opsP, 'AWS::ARCRegionSwitch::Plan');
        expect(JSON.stringify(gate().ChildHealthChecks[1])).toContain(
          JSON.stringify({ 'Fn::GetAtt': [planId, 'PlanHealthChecks'] }),
        );
        const planEntries = [
          PLAN_ENTRY_WEST.replace('us-west-2', secondaryRegion),
          PLAN_ENTRY_EAST.replace('us-east-1', primaryRegion),
        ];
        expect(evaluatePlanHealthChecks(gate().ChildHealthChecks[1], planEntries)).toBe(
          '11111111-aaaa-4bbb-8ccc-000000000001',
        );
      });

      test("the plan's DNS block names the same records (hosted zone, record name, set identifiers per region)", () => {
        const plan = propertiesOf(opsP, 'AWS::ARCRegionSwitch::Plan')[0]!;
        const dns = plan.Workflows[0].Steps.find((s: Json) => s.ExecutionBlockType === 'Route53HealthCheck');
        expect(dns.ExecutionBlockConfiguration.Route53HealthCheckConfig).toMatchObject({
          HostedZoneId: config.dns.hostedZoneId,
          RecordName: config.dns.domainName,
          RecordSets: [
            { RecordSetIdentifier: primary.SetIdentifier, Region: primaryRegion },
            { RecordSetIdentifier: secondary.SetIdentifier, Region: secondaryRegion },
          ],
        });
      });

      test('outputs the gate (calculated check) ID for the CLI status', () => {
        expect(opsP.json.Outputs.PrimaryGateHealthCheckId.Value).toEqual({ Ref: gateId() });
      });

      test("outputs the plan's primary health check ID the PRIMARY record is gated on", () => {
        expect(opsP.json.Outputs.PlanPrimaryHealthCheckId.Value).toEqual(gate().ChildHealthChecks[1]);
      });
    }
  });

  describe('Region switch plan', () => {
    if (!planned) {
      test('there is none (regionSwitch.enabled is false): no plan, fleet lookup or PlanFleetLookup parameter', () => {
        for (const stack of [opsP, opsS]) {
          expect(countOf(stack, 'AWS::ARCRegionSwitch::Plan')).toBe(0);
          expect(countOf(stack, 'Custom::AWS')).toBe(0);
          expect(stack.json.Parameters).not.toHaveProperty('PlanFleetLookup');
        }
      });
      return;
    }

    type Step = { Name: string; ExecutionBlockType: string; ExecutionBlockConfiguration: any };
    const plan = () => propertiesOf(opsP, 'AWS::ARCRegionSwitch::Plan')[0]!;
    const steps = () => plan().Workflows[0].Steps as Step[];
    const step = (name: string) => steps().find((s) => s.Name === name)!;
    const parallel = () => step('switch-data-tier').ExecutionBlockConfiguration.ParallelConfig.Steps as Step[];
    /** The scale steps, one per service, in a parallel block when there are several. */
    const scaleSteps = (): Step[] => {
      const block = steps().find((s) => s.Name === 'scale-target-fleets');
      return block ? block.ExecutionBlockConfiguration.ParallelConfig.Steps : [step(`scale-${services[0]}`)];
    };

    test(`is one plan, in the primary region's operations stack, named haweb-${config.name}`, () => {
      expect(countOf(opsP, 'AWS::ARCRegionSwitch::Plan')).toBe(1);
      expect(countOf(opsS, 'AWS::ARCRegionSwitch::Plan')).toBe(0);
      expect(plan().Name).toBe(`haweb-${config.name}`);
    });

    test('is active/passive over both regions with the RTO and the approval from config', () => {
      expect(plan()).toEqual(
        expect.objectContaining({
          RecoveryApproach: 'activePassive',
          Regions: [primaryRegion, secondaryRegion],
          PrimaryRegion: primaryRegion,
          RecoveryTimeObjectiveMinutes: config.regionSwitch.rtoMinutes,
        }),
      );
      expect(steps()[0]!.Name === 'approve').toBe(config.regionSwitch.manualApproval);
    });

    test("runs each region's plan-step copy of each Lambda step, by the ARN of its fixed name, never the operators' copy", () => {
      const lambdaSteps = [...steps(), ...parallel()].filter((s) => s.ExecutionBlockType === 'CustomActionLambda');
      expect(lambdaSteps.map((s) => [s.Name, s.ExecutionBlockConfiguration.CustomActionLambdaConfig.Lambdas])).toEqual(
        [
          ['preflight', 'preflight'],
          ['postcheck', 'postcheck'],
          ['cache-global-datastore', 'cache-failover'],
          ['efs-replication-flip', 'efs-replication'],
        ].map(([stepName, fn]) => [
          stepName,
          [primaryRegion, secondaryRegion].map((r) => ({ Arn: lambdaArn(r, `${fn}-plan-step`) })),
        ]),
      );
      const workflows = JSON.stringify(plan().Workflows);
      for (const fn of ['preflight', 'cache-failover', 'efs-replication', 'postcheck']) {
        expect(workflows).not.toContain(`:function:haweb-${config.name}-${fn}"`);
      }
    });

    test('every function the plan runs exists under that name in its region, as a plan-step copy', () => {
      const arns = [
        ...JSON.stringify(plan().Workflows).matchAll(/arn:aws:lambda:([a-z0-9-]+):(\d{12}):function:([a-z0-9-]+)/g),
      ];
      expect(arns).toHaveLength(8);
      for (const [, region, account, name] of arns) {
        expect(account).toBe(config.account);
        const fn = propertiesOf(env.stack('Operations', region!), 'AWS::Lambda::Function').find(
          (p) => p.FunctionName === name,
        );
        expect(fn?.Environment.Variables.INVOKED_BY).toBe('region-switch-plan');
      }
    });

    test('its execution role invokes exactly the eight plan-step functions', () => {
      const invoke = statementsOf(opsP).find((s) =>
        ([] as string[]).concat(s.Action).includes('lambda:InvokeFunction'),
      )!;
      expect([...invoke.Resource].sort()).toEqual(
        [primaryRegion, secondaryRegion]
          .flatMap((r) =>
            ['preflight', 'cache-failover', 'efs-replication', 'postcheck'].map((f) => lambdaArn(r, `${f}-plan-step`)),
          )
          .sort(),
      );
    });

    test("switches the environment's global cluster, naming each region's cluster by the ARN of its fixed identifier", () => {
      const aurora = parallel()[0]!.ExecutionBlockConfiguration.GlobalAuroraConfig;
      expect(aurora.GlobalClusterIdentifier).toBe(`haweb-${config.name}-global`);
      expect(aurora.DatabaseClusterArns).toEqual(
        [primaryRegion, secondaryRegion].map(
          (r) => `arn:aws:rds:${r}:${config.account}:cluster:haweb-${config.name}-aurora`,
        ),
      );
    });

    test("names each service's group by its full ARN, read by its fixed name in its region, never a wildcard UUID", () => {
      const lookups = resourcesOf(opsP, 'Custom::AWS');
      expect(lookups).toHaveLength(2 * services.length);
      expect(scaleSteps().map((st) => st.Name)).toEqual(services.map((service) => `scale-${service}`));
      for (const [n, service] of services.entries()) {
        const asgs = scaleSteps()[n]!.ExecutionBlockConfiguration.Ec2AsgCapacityIncreaseConfig.Asgs;
        expect(JSON.stringify(asgs)).not.toContain('autoScalingGroup:*');
        // One group per region: a Region switch EC2 Auto Scaling block takes one source and one target group.
        expect(asgs).toHaveLength(2);
        for (const [i, region] of [primaryRegion, secondaryRegion].entries()) {
          const id = (asgs[i].Arn as Json)['Fn::GetAtt'][0];
          const lookup = lookups.find(([lookupId]) => lookupId === id)!;
          expect(asgs[i]).toEqual({ Arn: { 'Fn::GetAtt': [id, 'AutoScalingGroups.0.AutoScalingGroupARN'] } });
          const call = JSON.stringify(lookup[1].Properties.Create['Fn::Join'][1]);
          expect(call).toContain('describeAutoScalingGroups');
          expect(call).toContain(`\\"region\\":\\"${region}\\"`);
          expect(call).toContain(`haweb-${config.name}-${service}`);
        }
      }
      // No reference to the other region: the lookup calls its API once, at create or when refreshed.
      expect(JSON.stringify(opsP.json)).not.toContain(`"StackName":"HaWeb-${config.name}-App-${secondaryRegion}"`);
    });

    test('reads the fleets again only when the PlanFleetLookup parameter changes, and outputs what it read', () => {
      expect(opsP.json.Parameters.PlanFleetLookup).toMatchObject({ Type: 'String', Default: 'initial' });
      const outputs = opsP.json.Outputs;
      for (const [n, service] of services.entries()) {
        const asgs = scaleSteps()[n]!.ExecutionBlockConfiguration.Ec2AsgCapacityIncreaseConfig.Asgs;
        const arns = (asgs as { Arn: unknown }[]).map((a) => a.Arn);
        expect(outputs[PLAN_OUTPUTS.fleetArn(primaryRegion, service)].Value).toEqual(arns[0]);
        expect(outputs[PLAN_OUTPUTS.fleetArn(secondaryRegion, service)].Value).toEqual(arns[1]);
      }
      for (const [, lookup] of resourcesOf(opsP, 'Custom::AWS')) {
        expect(JSON.stringify(lookup.Properties.Create)).toContain('{"Ref":"PlanFleetLookup"}');
      }
    });

    test("watches both regions' service health composite (every service's 5xx and healthy hosts), by ARN", () => {
      expect(
        (Object.values(plan().AssociatedAlarms) as { ResourceIdentifier: string }[]).map((a) => a.ResourceIdentifier),
      ).toEqual([alarmArn(primaryRegion, 'service-health'), alarmArn(secondaryRegion, 'service-health')]);
      for (const region of [primaryRegion, secondaryRegion]) {
        const [composite] = propertiesOf(env.stack('App', region), 'AWS::CloudWatch::CompositeAlarm');
        expect(composite.AlarmName).toBe(`haweb-${config.name}-service-health`);
        const rule = JSON.stringify(composite.AlarmRule);
        for (const service of services) {
          for (const alarm of ['Target5xx', 'HealthyHosts']) {
            expect(rule).toMatch(new RegExp(`"Alarms${servicePascalName(service)}${alarm}[0-9A-F]{8}","Arn"`));
          }
        }
        expect(rule.match(/ALARM\(/g)).toHaveLength(2 * services.length);
      }
    });

    test('its execution role may update only fleets tagged with this environment', () => {
      const update = statementsOf(opsP).find((s) => s.Action === 'autoscaling:UpdateAutoScalingGroup')!;
      expect(update.Condition.StringEquals).toEqual({
        'aws:ResourceTag/Project': 'ha-web-service',
        'aws:ResourceTag/Environment': config.name,
      });
    });
  });
});
