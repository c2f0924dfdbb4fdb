/**
 * Routine changes touch only what they mean to: for an app version bump, an instance type change, a capacity
 * change, an alarm threshold change and an added database reader, a second synthesis of `staging` differs from
 * the first in exactly the expected resources of the expected stacks, and never removes a stateful resource or
 * changes a property that would make CloudFormation replace one (test/support/stack-diff.ts). The last tests
 * show that the comparison does catch such changes.
 *
 * `staging` is synthesized as a deployed environment is: with its IDs recorded (`lib/recorded.ts`), which is
 * also where the whole app is checked to read nothing of the other region at deploy. Changes that touch
 * different resources share a synthesis (a synthesis of the whole app costs about half a second of CPU), and
 * each test still names exactly what its own change touches; a test per shared synthesis checks that nothing
 * else changed.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { CfnResource as L1Resource } from 'aws-cdk-lib';
import * as bundling from '../lib/bundling';
import { EnvironmentConfig, ServiceDefinition } from '../lib/config';
import { ENVIRONMENTS, staging } from '../lib/config/environments';
import { tempDir } from './helpers';
import {
  changedPaths,
  diffSyntheses,
  STATEFUL_REPLACEMENT_PROPERTIES,
  statefulRisks,
  summarize,
  Synthesis,
  SynthesisDiff,
  synthesize,
} from './support/stack-diff';

const PRIMARY = staging.primary.region;
const SECONDARY = staging.secondary.region;
const stack = (lifecycle: string, region: string) => `HaWeb-staging-${lifecycle}-${region}`;

/**
 * One line of {@link summarize}'s output: a resource of `type` whose logical ID is `idPrefix` followed by CDK's
 * 8-character path hash, and for a modified resource the properties (and `@attributes`) that changed.
 */
function resource(type: string, idPrefix: string, changed?: string[]) {
  const keys = changed ? `: ${changed.join(',')}` : '';
  return expect.stringMatching(new RegExp(`^${type} ${idPrefix}[0-9A-F]{8}${keys}$`));
}

/** The IDs recorded after staging's first deploy (made up, of the right form). */
const FILE_SYSTEMS = { [PRIMARY]: 'fs-0123456789abcdef0', [SECONDARY]: 'fs-0fedcba9876543210' };
const GLOBAL_DATASTORE = 'gxeiz-haweb-staging-sessions';
const RECORDED = {
  fileSystemIds: FILE_SYSTEMS,
  globalDatastoreId: GLOBAL_DATASTORE,
  cacheMembers: { engineVersion: staging.cache.engineVersion, nodeType: staging.cache.nodeType },
  databaseEngineVersion: staging.database.engineVersion,
};

/** `staging`, or a changed config, synthesized with the recorded IDs. */
const synth = (config: EnvironmentConfig, customize?: Parameters<typeof synthesize>[1]) =>
  synthesize(config, customize, RECORDED);

let before: Synthesis;
beforeAll(() => {
  before = synth(staging);
});

/** How a synthesis differs from `staging`'s. */
const diffTo = (after: Synthesis): SynthesisDiff => diffSyntheses(before, after);
/** How a changed config's synthesis differs from `staging`'s. */
const diffFor = (config: EnvironmentConfig): SynthesisDiff => diffTo(synth(config));

/** A synthesis made once, when the first test that needs it asks. */
function once(make: () => Synthesis): () => Synthesis {
  let made: Synthesis | undefined;
  return () => (made ??= make());
}

/** The summary of `diff` restricted to `stacks`. */
function only(diff: SynthesisDiff, ...stacks: string[]) {
  return Object.fromEntries(Object.entries(summarize(diff)).filter(([name]) => stacks.includes(name)));
}

const [WEB, CATALOG] = staging.services as [ServiceDefinition, ServiceDefinition];

/**
 * Four changes to different resources, in one synthesis: the reference service's instance types (its group and
 * launch template in both App stacks), the catalog's capacity in the secondary (that App stack), and a reader
 * more in each region (the Data stacks).
 */
const CAPACITY_AND_READERS: EnvironmentConfig = {
  ...staging,
  primary: { ...staging.primary, databaseReaders: 2 },
  secondary: { ...staging.secondary, databaseReaders: 2 },
  services: [
    { ...WEB, instanceTypes: ['m7g.xlarge', 'c7g.xlarge'] },
    { ...CATALOG, capacity: { ...CATALOG.capacity, secondary: { min: 2, max: 8 } } },
  ],
};
const capacityAndReaders = once(() => synth(CAPACITY_AND_READERS));

/** Three changes to different resources of both App stacks: the service's code and two alarm thresholds. */
const codeAndThresholds = once(() =>
  synthesizeWithChangedServiceCode({
    ...staging,
    services: [{ ...WEB, rollout: { ...WEB.rollout, rollback5xxPerMinute: 20 } }, CATALOG],
    dns: { ...staging.dns, healthCheckFailureThreshold: 4 },
  }),
);

/** The logical ID `idPrefix<hash>` of `stackName` in `staging`'s synthesis, failing unless there is exactly one. */
function logicalId(stackName: string, idPrefix: string): string {
  const ids = Object.keys(before[stackName].Resources ?? {}).filter((id) =>
    new RegExp(`^${idPrefix}[0-9A-F]{8}$`).test(id),
  );
  expect(ids).toHaveLength(1);
  return ids[0];
}

/** Where the properties of `stackName`'s resource `idPrefix<hash>` differ between `before` and `after`. */
function propertyChanges(after: Synthesis, stackName: string, idPrefix: string): string[] {
  const id = logicalId(stackName, idPrefix);
  const properties = (s: Synthesis) => s[stackName].Resources![id].Properties;
  return changedPaths(properties(before), properties(after));
}

/**
 * Synthesizes `staging` as it is after a change to the service's code. The instances' `SERVICE_VERSION` is the
 * service bundle's asset hash (lib/constructs/service-bundle.ts), a hash of the bundle's bytes, so any code change
 * is a version bump; no config key or prop of the app sets it. Here the bundle is the real one with one line
 * appended to `server.js`: to the synthesis that is exactly what a changed source gives after esbuild.
 */
function synthesizeWithChangedServiceCode(config: EnvironmentConfig): Synthesis {
  const realBundleFolder = bundling.bundleFolder;
  let changed: string | undefined;
  const spy = jest.spyOn(bundling, 'bundleFolder').mockImplementation((kind) => {
    const folder = realBundleFolder(kind);
    // The reference service's bundle only (the catalog's is of the same kind).
    if (kind.name !== 'service' || path.basename(kind.workingDir) !== 'service') return folder;
    if (!changed) {
      changed = tempDir('ha-web-service-next-');
      fs.cpSync(folder, changed, { recursive: true });
      fs.appendFileSync(path.join(changed, 'server.js'), '\n// the next release\n');
    }
    return changed;
  });
  try {
    const synthesis = synth(config);
    expect(spy).toHaveBeenCalledWith(expect.objectContaining({ name: 'service' }));
    return synthesis;
  } finally {
    spy.mockRestore();
  }
}

describe('the comparison itself', () => {
  test('reports properties, attributes, type changes, outputs and sections; Metadata alone apart', () => {
    const bucket = { Type: 'AWS::S3::Bucket', Properties: { BucketName: 'a', Tags: [] }, DeletionPolicy: 'Retain' };
    const diff = diffSyntheses(
      {
        S: {
          Resources: {
            Bucket: bucket,
            Key: { Type: 'AWS::KMS::Key', Properties: {}, Metadata: { note: 1 } },
            Topic: { Type: 'AWS::SNS::Topic', DependsOn: ['Key', 'Bucket'] },
            Thing: { Type: 'AWS::SNS::Topic' },
          },
          Outputs: { Kept: { Value: 1 }, Gone: { Value: 2 } },
          Parameters: { P: { Type: 'String' } },
        },
        Removed: { Resources: { Log: { Type: 'AWS::Logs::LogGroup' } } },
      },
      {
        S: {
          Resources: {
            Bucket: { ...bucket, Properties: { BucketName: 'b', Tags: [] }, DeletionPolicy: 'Delete' },
            Key: { Type: 'AWS::KMS::Key', Properties: {}, Metadata: { note: 2 } },
            Topic: { Type: 'AWS::SNS::Topic', DependsOn: ['Bucket', 'Key'] },
            Thing: { Type: 'AWS::SQS::Queue' },
          },
          Outputs: { Kept: { Value: 3 }, New: { Value: 4 } },
          Parameters: { P: { Type: 'Number' } },
        },
      },
    );
    expect(summarize(diff)).toEqual({
      Removed: { removed: ['AWS::Logs::LogGroup Log'] },
      S: {
        added: ['AWS::SQS::Queue Thing'],
        removed: ['AWS::SNS::Topic Thing'],
        modified: ['AWS::S3::Bucket Bucket: BucketName,@DeletionPolicy'],
        metadataOnly: ['AWS::KMS::Key Key'],
        outputsAdded: ['New'],
        outputsRemoved: ['Gone'],
        outputsModified: ['Kept'],
        sections: ['Parameters'],
      },
    });
    expect(diff.stacksRemoved).toEqual(['Removed']);
    expect(statefulRisks(diff).map((r) => `${r.stack} ${r.logicalId} ${r.kind} ${r.keys.join(',')}`)).toEqual([
      'Removed Log removed ',
      'S Bucket create-only BucketName',
      'S Bucket retention DeletionPolicy',
    ]);
    expect(changedPaths({ a: [1, { b: 2 }], c: 3 }, { a: [1, { b: 5 }], c: 3, d: 4 })).toEqual(['a[1].b', 'd']);
  });

  test('a second synthesis of the same config differs in nothing (no asset hash or other noise to ignore)', () => {
    expect(diffFor({ ...staging })).toEqual({ stacksAdded: [], stacksRemoved: [], stacks: [] });
  });
});

describe('routine changes touch only their resources and no stateful resource', () => {
  test('an app version bump changes only the boot script and the instances’ read grant on the bundle', () => {
    const after = codeAndThresholds();
    const diff = diffTo(after);
    for (const region of [PRIMARY, SECONDARY]) {
      expect(summarize(diff)[stack('App', region)]!.modified).toEqual(
        expect.arrayContaining([
          resource('AWS::IAM::Policy', 'ServiceWebFleetInstanceRoleDefaultPolicy', ['PolicyDocument']),
          resource('AWS::EC2::LaunchTemplate', 'ServiceWebFleetLaunchTemplate', ['LaunchTemplateData']),
        ]),
      );
    }
    expect(statefulRisks(diff)).toEqual([]);
    for (const region of [PRIMARY, SECONDARY]) {
      const name = stack('App', region);
      // The boot script: the bundle's S3 key and SERVICE_VERSION, a new version of the launch template.
      const userData = propertyChanges(after, name, 'ServiceWebFleetLaunchTemplate');
      expect(userData.length).toBeGreaterThan(0);
      expect(userData.every((p) => p.startsWith('LaunchTemplateData.UserData.'))).toBe(true);
      const version = (s: Synthesis) => /SERVICE_VERSION=(\w+)/.exec(JSON.stringify(s[name].Resources))?.[1];
      expect(version(after)).toMatch(/^[0-9a-f]{64}$/);
      expect(version(after)).not.toEqual(version(before));
      // The one object the instances may read: the new bundle.
      const grant = propertyChanges(after, name, 'ServiceWebFleetInstanceRoleDefaultPolicy');
      expect(grant).toEqual([expect.stringMatching(/^PolicyDocument\.Statement\[\d+\]\.Resource$/)]);
      const index = Number(/\[(\d+)\]/.exec(grant[0])![1]);
      const policy = after[name].Resources![logicalId(name, 'ServiceWebFleetInstanceRoleDefaultPolicy')]
        .Properties as any;
      expect(policy.PolicyDocument.Statement[index]).toEqual({
        Action: 's3:GetObject',
        Effect: 'Allow',
        Resource: expect.stringMatching(new RegExp(`/${version(after)}\\.zip$`)),
      });
    }
  });

  test('an instance type change touches only that service’s launch template and Auto Scaling group', () => {
    const after = capacityAndReaders();
    const diff = diffTo(after);
    expect(only(diff, stack('App', PRIMARY))).toEqual({
      [stack('App', PRIMARY)]: {
        modified: [
          resource('AWS::AutoScaling::AutoScalingGroup', 'ServiceWebFleetASG', ['MixedInstancesPolicy']),
          resource('AWS::EC2::LaunchTemplate', 'ServiceWebFleetLaunchTemplate', ['LaunchTemplateData']),
        ],
      },
    });
    expect(statefulRisks(diff)).toEqual([]);
    // The same CPU architecture, so the same AMI: a new launch template version and the group's overrides only.
    for (const region of [PRIMARY, SECONDARY]) {
      expect(propertyChanges(after, stack('App', region), 'ServiceWebFleetLaunchTemplate')).toEqual([
        'LaunchTemplateData.InstanceType',
      ]);
      expect(propertyChanges(after, stack('App', region), 'ServiceWebFleetASG')).toEqual([
        'MixedInstancesPolicy.LaunchTemplate.Overrides[0].InstanceType',
        'MixedInstancesPolicy.LaunchTemplate.Overrides[1].InstanceType',
      ]);
    }
  });

  test('a capacity change touches only that service’s Auto Scaling group sizes in that region', () => {
    const after = capacityAndReaders();
    expect(propertyChanges(after, stack('App', SECONDARY), 'ServiceCatalogFleetASG')).toEqual(['MaxSize', 'MinSize']);
    expect(propertyChanges(after, stack('App', PRIMARY), 'ServiceCatalogFleetASG')).toEqual([]);
    expect(statefulRisks(diffTo(after))).toEqual([]);
  });

  test('an alarm threshold change (rollout.rollback5xxPerMinute) touches only that service’s refresh 5xx alarms', () => {
    const diff = diffTo(codeAndThresholds());
    for (const region of [PRIMARY, SECONDARY]) {
      expect(summarize(diff)[stack('App', region)]!.modified).toContainEqual(
        resource('AWS::CloudWatch::Alarm', 'ServiceWebFleetTarget5xxAlarm', ['Threshold']),
      );
    }
    expect(statefulRisks(diff)).toEqual([]);
  });

  test('a health check threshold change touches only the regional health checks’ FailureThreshold', () => {
    const after = codeAndThresholds();
    const diff = diffTo(after);
    for (const region of [PRIMARY, SECONDARY]) {
      expect(summarize(diff)[stack('App', region)]!.modified).toContainEqual(
        resource('AWS::Route53::HealthCheck', 'DnsHealthCheck', ['HealthCheckConfig']),
      );
    }
    expect(statefulRisks(diff)).toEqual([]);
    // Not Type, MeasureLatency or RequestInterval, the create-only keys of HealthCheckConfig (the
    // AWS::Route53::HealthCheck schema): the health checks keep their IDs.
    for (const region of [PRIMARY, SECONDARY]) {
      expect(propertyChanges(after, stack('App', region), 'DnsHealthCheck')).toEqual([
        'HealthCheckConfig.FailureThreshold',
      ]);
    }
  });

  test('adding a reader adds one DB instance to that region’s cluster and changes nothing else', () => {
    const diff = diffTo(capacityAndReaders());
    expect(only(diff, stack('Data', SECONDARY))).toEqual({
      [stack('Data', SECONDARY)]: { added: [resource('AWS::RDS::DBInstance', 'DatabaseInstance2')] },
    });
    expect(statefulRisks(diff)).toEqual([]);
  });

  test('adding a reader in the primary region adds the next reader after the existing ones', () => {
    const diff = diffTo(capacityAndReaders());
    expect(only(diff, stack('Data', PRIMARY))).toEqual({
      [stack('Data', PRIMARY)]: { added: [resource('AWS::RDS::DBInstance', 'DatabaseClusterReader2')] },
    });
    expect(statefulRisks(diff)).toEqual([]);
  });

  test('a new machine image touches only that region’s launch template image ID (a rolling refresh)', () => {
    const after = synth({ ...staging, secondary: { ...staging.secondary, machineImageId: 'ami-0123456789abcdef0' } });
    const diff = diffTo(after);
    // The base image of every service whose artifact is a directory: both launch templates of that region.
    expect(summarize(diff)).toEqual({
      [stack('App', SECONDARY)]: {
        modified: [
          resource('AWS::EC2::LaunchTemplate', 'ServiceCatalogFleetLaunchTemplate', ['LaunchTemplateData']),
          resource('AWS::EC2::LaunchTemplate', 'ServiceWebFleetLaunchTemplate', ['LaunchTemplateData']),
        ],
      },
    });
    for (const service of ['ServiceWeb', 'ServiceCatalog']) {
      expect(propertyChanges(after, stack('App', SECONDARY), `${service}FleetLaunchTemplate`)).toEqual([
        'LaunchTemplateData.ImageId',
      ]);
    }
    expect(statefulRisks(diff)).toEqual([]);
  });

  test('a changed setting (central configuration) rewrites its parameter and rolls the fleet in both regions', () => {
    const after = synth({ ...staging, services: [{ ...WEB, environment: { LOG_LEVEL: 'info' } }, CATALOG] });
    const diff = diffTo(after);
    const expected = {
      modified: [
        resource('AWS::EC2::LaunchTemplate', 'ServiceWebFleetLaunchTemplate', ['LaunchTemplateData']),
        // A new set under a new version: the Name changes too, so CloudFormation creates the new parameter first
        // and deletes the old one once the update is complete (a rollback's instances still read the old one).
        resource('AWS::SSM::Parameter', 'ServiceWebSettingsLOGLEVEL', ['Name', 'Value']),
      ],
    };
    expect(summarize(diff)).toEqual({ [stack('App', PRIMARY)]: expected, [stack('App', SECONDARY)]: expected });
    for (const region of [PRIMARY, SECONDARY]) {
      const paths = propertyChanges(after, stack('App', region), 'ServiceWebFleetLaunchTemplate');
      expect(paths.every((p) => p.startsWith('LaunchTemplateData.UserData.'))).toBe(true);
    }
    expect(statefulRisks(diff)).toEqual([]);
  });

  test('the shared syntheses change nothing besides what the tests above name', () => {
    expect(Object.keys(summarize(diffTo(capacityAndReaders()))).sort()).toEqual(
      [stack('App', PRIMARY), stack('App', SECONDARY), stack('Data', PRIMARY), stack('Data', SECONDARY)].sort(),
    );
    const modified = [
      resource('AWS::IAM::Policy', 'ServiceWebFleetInstanceRoleDefaultPolicy', ['PolicyDocument']),
      resource('AWS::EC2::LaunchTemplate', 'ServiceWebFleetLaunchTemplate', ['LaunchTemplateData']),
      resource('AWS::CloudWatch::Alarm', 'ServiceWebFleetTarget5xxAlarm', ['Threshold']),
      resource('AWS::Route53::HealthCheck', 'DnsHealthCheck', ['HealthCheckConfig']),
    ];
    const expected = { modified: expect.arrayContaining(modified) };
    const summary = summarize(diffTo(codeAndThresholds()));
    expect(summary).toEqual({ [stack('App', PRIMARY)]: expected, [stack('App', SECONDARY)]: expected });
    for (const region of [PRIMARY, SECONDARY]) expect(summary[stack('App', region)]!.modified).toHaveLength(4);
  });
});

describe('the comparison reports changes that would replace or remove a stateful resource', () => {
  /**
   * Three faulty changes to different stacks, in one synthesis. No config key reaches a create-only property of a
   * stateful resource (their names come from the environment name alone, lib/names.ts), so two are the code
   * changes a developer could make through an escape hatch: a new default database name on the primary Aurora
   * cluster (Data-<primary>) and the secondary's file system under a new logical ID (Storage-<secondary>). The
   * third is a config change: the Region switch plan turned off (the Operations stacks).
   */
  const faulty = once(() =>
    synth({ ...staging, regionSwitch: { ...staging.regionSwitch, enabled: false } }, (environment) => {
      const cluster = environment.primary.data!.database!.primary!.cluster.node.defaultChild as L1Resource;
      cluster.addPropertyOverride('DatabaseName', 'web');
      (environment.secondary.storage!.fileSystem.node.defaultChild as L1Resource).overrideLogicalId('Files');
    }),
  );
  const risksIn = (stackName: string) => statefulRisks(diffTo(faulty())).filter((r) => r.stack === stackName);

  test('a changed create-only property: a new default database name on the primary Aurora cluster', () => {
    expect(risksIn(stack('Data', PRIMARY))).toEqual([
      {
        stack: stack('Data', PRIMARY),
        logicalId: expect.stringMatching(/^DatabaseCluster[0-9A-F]{8}$/),
        type: 'AWS::RDS::DBCluster',
        kind: 'create-only',
        keys: ['DatabaseName'],
      },
    ]);
  });

  test('a renamed construct: the file system under a new logical ID is a removal and an addition', () => {
    expect(summarize(diffTo(faulty()))[stack('Storage', SECONDARY)]).toMatchObject({
      added: ['AWS::EFS::FileSystem Files'],
      removed: [resource('AWS::EFS::FileSystem', 'SharedFiles')],
    });
    expect(risksIn(stack('Storage', SECONDARY))).toEqual([
      expect.objectContaining({ stack: stack('Storage', SECONDARY), type: 'AWS::EFS::FileSystem', kind: 'removed' }),
    ]);
  });

  test('a config change that removes stateful resources: turning the Region switch plan off', () => {
    expect(
      statefulRisks(diffTo(faulty()))
        .filter((r) => r.stack.includes('-Operations-'))
        .map((r) => `${r.kind} ${r.stack} ${r.type}`)
        .sort(),
    ).toEqual([
      `removed ${stack('Operations', PRIMARY)} AWS::KMS::Key`,
      `removed ${stack('Operations', PRIMARY)} AWS::Logs::LogGroup`,
      `removed ${stack('Operations', PRIMARY)} AWS::S3::Bucket`,
    ]);
  });

  test('and no other stack reports a risk', () => {
    expect([...new Set(statefulRisks(diffTo(faulty())).map((r) => r.stack))].sort()).toEqual(
      [stack('Data', PRIMARY), stack('Operations', PRIMARY), stack('Storage', SECONDARY)].sort(),
    );
  });
});

describe('with its IDs recorded, the whole app reads nothing of the other region at deploy', () => {
  const json = (name: string) => JSON.stringify(before[name]);

  test('no template reads another stack at deploy (no Fn::GetStackOutput anywhere)', () => {
    expect(Object.keys(before).filter((name) => json(name).includes('Fn::GetStackOutput'))).toEqual([]);
  });

  test('the recorded IDs are where the other region is named', () => {
    expect(json(stack('Storage', PRIMARY))).toContain(FILE_SYSTEMS[SECONDARY]); // replication destination
    expect(json(stack('Data', SECONDARY))).toContain(GLOBAL_DATASTORE); // joins the Global Datastore
    expect(json(stack('Operations', PRIMARY))).toContain(FILE_SYSTEMS[SECONDARY]); // switch functions
    expect(json(stack('Operations', SECONDARY))).toContain(FILE_SYSTEMS[PRIMARY]);
    expect(json(stack('Operations', SECONDARY))).toContain(GLOBAL_DATASTORE);
  });

  test('App and Operations templates name no stack of the other region, and set no desired capacity', () => {
    for (const region of [PRIMARY, SECONDARY]) {
      const other = region === PRIMARY ? SECONDARY : PRIMARY;
      for (const lifecycle of ['App', 'Operations']) {
        expect(json(stack(lifecycle, region))).not.toContain(`HaWeb-staging-Storage-${other}`);
        expect(json(stack(lifecycle, region))).not.toContain(`HaWeb-staging-Data-${other}`);
      }
      const groups = Object.values(before[stack('App', region)].Resources ?? {}).filter(
        (r) => r.Type === 'AWS::AutoScaling::AutoScalingGroup',
      );
      expect(groups).toHaveLength(staging.services.length);
      for (const group of groups) expect(group.Properties?.DesiredCapacity).toBeUndefined();
    }
  });
});

/**
 * The folder of the installed cfn-lint's resource schemas (`cfnlint/data/schemas`), found without importing
 * cfn-lint (which takes seconds); undefined when no Python with cfn-lint runs here.
 */
function cfnLintSchemaDir(): string | undefined {
  const find = spawnSync(
    'python3',
    [
      '-c',
      "import importlib.util as u; s = u.find_spec('cfnlint'); print(s.submodule_search_locations[0] if s else '')",
    ],
    { encoding: 'utf8', timeout: 30_000 },
  );
  const dir = find.status === 0 ? find.stdout.trim() : '';
  return dir ? path.join(dir, 'data', 'schemas') : undefined;
}

const schemaDir = cfnLintSchemaDir();
(schemaDir ? test : test.skip)(
  'the table of replacement-causing properties matches the installed cfn-lint’s schemas',
  () => {
    const regions = [...new Set(Object.values(ENVIRONMENTS).flatMap((e) => [e.primary.region, e.secondary.region]))];
    const names = (paths: string[] = []) => paths.map((p) => p.split('/')[2]).sort();
    for (const region of regions) {
      // cfn-lint's providers/<region>.py maps each type to its schema file: `"AWS::S3::Bucket": "48d4aec56c00d69f",`.
      const providers = fs.readFileSync(path.join(schemaDir!, 'providers', `${region.replace(/-/g, '_')}.py`), 'utf8');
      for (const [type, table] of Object.entries(STATEFUL_REPLACEMENT_PROPERTIES)) {
        const file = new RegExp(`"${type}": "(\\w+)"`).exec(providers)?.[1];
        expect({ region, type, file }).toEqual({ region, type, file: expect.any(String) });
        const schema = JSON.parse(fs.readFileSync(path.join(schemaDir!, 'resources', `${file}.json`), 'utf8'));
        expect({
          region,
          type,
          createOnly: names(schema.createOnlyProperties),
          conditionalCreateOnly: names(schema.conditionalCreateOnlyProperties),
        }).toEqual({
          region,
          type,
          createOnly: [...table.createOnly].sort(),
          conditionalCreateOnly: [...table.conditionalCreateOnly].sort(),
        });
      }
    }
  },
);
