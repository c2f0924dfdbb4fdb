import * as fs from 'node:fs';
import * as path from 'node:path';
import { ExecutionSummary } from '../../cli/arc-region-switch-client';
import { crossRegionReads, judge, replacementRisks, resourceChanges, Template } from '../../cli/check-deploy';
import { main } from '../../cli/main';
import { EnvironmentConfig } from '../../lib/config';
import { staging } from '../../lib/config/environments';
import { tempDir } from '../helpers';
import { catalogOnly, cliDeps, noCredentials, stateless } from './fakes';
import { ACCOUNT, arcWith, FS, GDS, Live, liveCalls, liveClients, P, PAST, S } from './live-fakes';

/** A data stack template: the Aurora cluster, an instance, the cache group and a key. */
function dataTemplate(engineVersion = '16.6', readers = 1): Template {
  return {
    Resources: {
      DataKey: { Type: 'AWS::KMS::Key', Properties: { Description: 'k' } },
      DatabaseCluster: { Type: 'AWS::RDS::DBCluster', Properties: { EngineVersion: engineVersion } },
      ...Object.fromEntries(
        Array.from({ length: readers }, (_, i) => [
          `DatabaseReader${i + 1}`,
          { Type: 'AWS::RDS::DBInstance', Properties: { DBInstanceClass: 'db.r6g.large' } },
        ]),
      ),
      SessionCache: { Type: 'AWS::ElastiCache::ReplicationGroup', Properties: { NumCacheClusters: 2 } },
    },
  };
}

/** An app stack template with a scaling setting. */
function appTemplate(max = 6): Template {
  return {
    Resources: {
      Fleet: { Type: 'AWS::AutoScaling::AutoScalingGroup', Properties: { MinSize: '1', MaxSize: String(max) } },
    },
  };
}

/** Writes a cloud assembly of the given stacks (name -> template) to a temporary directory. */
function assembly(stacks: Record<string, Template>): string {
  const dir = tempDir('check-deploy-');
  const artifacts: Record<string, unknown> = {};
  for (const [name, template] of Object.entries(stacks)) {
    const region = name.split('-').slice(-3).join('-');
    fs.writeFileSync(path.join(dir, `${name}.template.json`), JSON.stringify(template));
    artifacts[name] = {
      type: 'aws:cloudformation:stack',
      environment: `aws://${ACCOUNT}/${region}`,
      properties: { templateFile: `${name}.template.json`, stackName: name },
    };
  }
  fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({ version: '48.0.0', artifacts }));
  return dir;
}

const DATA_P = `HaWeb-staging-Data-${P}`;
const DATA_S = `HaWeb-staging-Data-${S}`;
const APP_P = `HaWeb-staging-App-${P}`;
const APP_S = `HaWeb-staging-App-${S}`;

async function run(
  synthesized: Record<string, Template>,
  live: Live,
  extraArgs: string[] = [],
  arc = arcWith(),
  context: Record<string, unknown> = {},
  config: EnvironmentConfig = staging,
) {
  const clients = liveClients(live);
  const deps = cliDeps({
    clients,
    arc,
    environments: { staging: config },
    context,
  });
  const code = await main(
    ['check-deploy', '-c', 'env=staging', '--assembly', assembly(synthesized), ...extraArgs],
    deps,
  );
  return { code, out: deps.out.join('\n'), err: deps.err.join('\n'), calls: liveCalls(clients) };
}

const BEFORE = {
  [DATA_P]: dataTemplate(),
  [DATA_S]: dataTemplate(),
  [APP_P]: appTemplate(),
  [APP_S]: appTemplate(),
};
const STEADY: Live = { deployed: BEFORE, writer: P, cachePrimary: P, filesSource: P };
const SWITCHED: Live = { deployed: BEFORE, writer: S, cachePrimary: S, filesSource: 'none' };

describe('check-deploy', () => {
  test('safe: a reader added while the config primary holds every role', async () => {
    const r = await run({ ...BEFORE, [DATA_P]: dataTemplate('16.6', 2) }, STEADY);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('SAFE to deploy now.');
    expect(r.out).toContain(`add    DatabaseReader2 AWS::RDS::DBInstance`);
    expect(r.out).toMatch(new RegExp(`Aurora writer: +${P}`));
  });

  test('safe: nothing changes, even after a switch', async () => {
    const r = await run(BEFORE, SWITCHED);
    expect(r.code).toBe(0);
    expect(r.out).toContain('No stack would change.');
  });

  test('safe after a switch: an App stack change touches no data-tier member', async () => {
    const r = await run({ ...BEFORE, [APP_P]: appTemplate(8), [APP_S]: appTemplate(8) }, SWITCHED);
    expect(r.code).toBe(0);
    expect(r.out).toContain('modify Fleet AWS::AutoScaling::AutoScalingGroup: MaxSize');
  });

  test('not safe: a data-tier change while the writer is in the other region', async () => {
    const r = await run({ ...BEFORE, [DATA_P]: dataTemplate('16.6', 2) }, SWITCHED);
    expect(r.code).toBe(1);
    expect(r.out).toContain('NOT SAFE to deploy now:');
    expect(r.out).toContain(
      `${DATA_P} changes DatabaseReader2 (AWS::RDS::DBInstance, add): the templates assume ${P} holds the Aurora ` +
        `writer, but ${S} holds it now (after a region switch). Deploy this stack after failback, or follow ` +
        'docs/runbooks/deploying-during-a-switch.md.',
    );
  });

  test('not safe: a cache change while the Global Datastore primary is in the other region', async () => {
    const changed = dataTemplate();
    const cache = changed.Resources!.SessionCache!;
    const synthesized = {
      ...BEFORE,
      [DATA_S]: {
        Resources: { ...changed.Resources, SessionCache: { ...cache, Properties: { NumCacheClusters: 3 } } },
      },
    };
    const r = await run(synthesized, { ...STEADY, cachePrimary: S });
    expect(r.code).toBe(1);
    expect(r.out).toContain(`${DATA_S} changes SessionCache (AWS::ElastiCache::ReplicationGroup, modify)`);
    expect(r.out).toContain(`but ${S} holds it now`);
  });

  test('not safe: a switch in progress, whatever the change', async () => {
    const r = await run({ ...BEFORE, [APP_P]: appTemplate(8) }, STEADY, [], arcWith('exec-42'));
    expect(r.code).toBe(1);
    expect(r.out).toContain('a region switch is in progress (plan execution exec-42)');
    expect(r.out).toMatch(/Region switch in progress: +yes \(exec-42\)/);
  });

  describe("the plan's last execution", () => {
    const last = (executionState: ExecutionSummary['executionState']): ExecutionSummary[] => [
      ...PAST,
      { executionId: 'exec-3', executionState, executionAction: 'activate', executionRegion: S, startTime: 3000 },
    ];
    const change = { ...BEFORE, [APP_S]: appTemplate(8) };

    test('shown, and a completed one is no obstacle', async () => {
      const r = await run(change, SWITCHED);
      expect(r.out).toMatch(new RegExp(`Last plan execution: +exec-2, activate ${S}, completed`));
      expect(r.code).toBe(0);
    });

    test('paused on a failed step: not safe, the switch has not ended', async () => {
      const r = await run(change, SWITCHED, [], arcWith(undefined, last('pausedByFailedStep')));
      expect(r.code).toBe(1);
      expect(r.out).toContain(
        `the plan's last execution (exec-3, activate ${S}) is pausedByFailedStep: finish or cancel it`,
      );
    });

    test('failed with the data tier split between the regions: not safe', async () => {
      const r = await run(change, { ...SWITCHED, cachePrimary: P }, [], arcWith(undefined, last('failed')));
      expect(r.code).toBe(1);
      expect(r.out).toContain(
        `the plan's last execution (exec-3, activate ${S}) ended failed and the data tier is split (Aurora writer in ` +
          `${S}, Global Datastore primary in ${P})`,
      );
    });

    test('failed but the data tier is whole (the switch was undone): safe', async () => {
      const r = await run(change, SWITCHED, [], arcWith(undefined, last('failed')));
      expect(r.out).toMatch(/Last plan execution: +exec-3, activate .*, failed/);
      expect(r.code).toBe(0);
    });
  });

  test('not safe: a data tier split between the regions even without a plan execution (a manual failover half done)', async () => {
    const r = await run({ ...BEFORE, [APP_S]: appTemplate(8) }, { ...SWITCHED, cachePrimary: P });
    expect(r.code).toBe(1);
    expect(r.out).toContain(
      `the data tier is split (Aurora writer in ${S}, Global Datastore primary in ${P}): a switch did not finish`,
    );
  });

  test('not safe: the writer upgraded before the secondary (AWS upgrades secondaries first)', async () => {
    const synthesized = { ...BEFORE, [DATA_P]: dataTemplate('16.8'), [DATA_S]: dataTemplate('16.8') };
    const first = await run(synthesized, STEADY, ['--stack', DATA_P]);
    expect(first.code).toBe(1);
    expect(first.out).toContain(
      `${DATA_P} upgrades the Aurora writer's cluster to 16.8 while the cluster in ${S} runs 16.6: AWS upgrades a ` +
        `Global Database's secondary clusters first. Deploy \`npx cdk deploy --exclusively ${DATA_S} -c env=staging\` first`,
    );
    const secondaryFirst = await run(synthesized, STEADY, ['--stack', DATA_S]);
    expect(secondaryFirst.code).toBe(0);
    const afterSecondary = await run(synthesized, { ...STEADY, versions: { [S]: '16.8' } }, ['--stack', DATA_P]);
    expect(afterSecondary.code).toBe(0);
  });

  test('during an outage: a stack that reads the unreachable region is not safe; one that does not is', async () => {
    const reads: Template = {
      Resources: {
        Fleet: {
          Type: 'AWS::AutoScaling::AutoScalingGroup',
          Properties: {
            MaxSize: '8',
            Tag: { 'Fn::GetStackOutput': { StackName: `HaWeb-staging-Storage-${P}`, Region: P, OutputName: 'X' } },
          },
        },
      },
    };
    const live: Live = { ...SWITCHED, down: [P] };
    const readsOther = await run({ ...BEFORE, [APP_S]: reads }, live, ['--stack', APP_S]);
    expect(readsOther.code).toBe(1);
    expect(readsOther.out).toContain(
      `${APP_S} reads HaWeb-staging-Storage-${P} in ${P} at deploy (Fn::GetStackOutput), and ${P} cannot be reached`,
    );
    const alone = await run({ ...BEFORE, [APP_S]: appTemplate(8) }, live, ['--stack', APP_S]);
    expect(alone.out).toContain('SAFE to deploy now.');
    expect(alone.code).toBe(0);
  });

  test('not safe: a change that would replace a stateful resource (a create-only property)', async () => {
    const changed = dataTemplate();
    const cluster = changed.Resources!.DatabaseCluster!;
    const synthesized = {
      ...BEFORE,
      [DATA_P]: {
        Resources: {
          ...changed.Resources,
          DatabaseCluster: { ...cluster, Properties: { ...cluster.Properties, DatabaseName: 'other' } },
        },
      },
    };
    const r = await run(synthesized, STEADY);
    expect(r.code).toBe(1);
    expect(r.out).toContain(
      `${DATA_P} replaces DatabaseCluster (AWS::RDS::DBCluster) (DatabaseName changed): a stateful resource; no ` +
        'routine deploy does that.',
    );
  });

  test('replacementRisks: removing a file system, or changing a key policy only (no risk)', () => {
    const fsTemplate: Template = {
      Resources: {
        Files: { Type: 'AWS::EFS::FileSystem', Properties: { Encrypted: true } },
        Key: { Type: 'AWS::KMS::Key', Properties: { KeyPolicy: { a: 1 } } },
      },
    };
    expect(replacementRisks('S', fsTemplate, { Resources: { Key: fsTemplate.Resources!.Key! } })).toEqual([
      { stack: 'S', logicalId: 'Files', type: 'AWS::EFS::FileSystem', kind: 'removed', keys: [] },
    ]);
    const newPolicy = {
      Resources: { ...fsTemplate.Resources, Key: { Type: 'AWS::KMS::Key', Properties: { KeyPolicy: { a: 2 } } } },
    };
    expect(replacementRisks('S', fsTemplate, newPolicy)).toEqual([]);
    expect(replacementRisks('S', undefined, fsTemplate)).toEqual([]);
  });

  describe('after record-ids', () => {
    const read = (region: string, stackName: string, outputName: string) => ({
      'Fn::GetStackOutput': { StackName: stackName, Region: region, OutputName: outputName },
    });
    const secondaryData = (gds: unknown): Template => ({
      Resources: {
        ...dataTemplate().Resources,
        SessionCache: {
          Type: 'AWS::ElastiCache::ReplicationGroup',
          Properties: { NumCacheClusters: 2, GlobalReplicationGroupId: gds },
        },
      },
    });
    const deployedWithRead = { ...BEFORE, [DATA_S]: secondaryData(read(P, DATA_P, 'GlobalDatastoreId')) };
    const recorded = {
      'haweb:staging:recorded': { fileSystemIds: { [P]: FS[P], [S]: FS[S] }, globalDatastoreId: GDS },
    };

    test('a read replaced by the recorded literal of the same value changes nothing (it is no replacement)', async () => {
      const r = await run(
        { ...deployedWithRead, [DATA_S]: secondaryData(GDS) },
        { ...STEADY, deployed: deployedWithRead },
        [],
        arcWith(),
        recorded,
      );
      expect(r.out).toContain('No stack would change.');
      expect(r.code).toBe(0);
    });

    test('a literal that differs from the live output is a change: it would replace the member', async () => {
      const r = await run(
        { ...deployedWithRead, [DATA_S]: secondaryData('ldgnf-haweb-staging-sessions') },
        { ...STEADY, deployed: deployedWithRead },
      );
      expect(r.code).toBe(1);
      expect(r.out).toContain(
        `${DATA_S} replaces SessionCache (AWS::ElastiCache::ReplicationGroup) (GlobalReplicationGroupId changed)`,
      );
    });

    test('recorded IDs that differ from the live outputs are not safe', async () => {
      const r = await run(BEFORE, STEADY, [], arcWith(), {
        'haweb:staging:recorded': { fileSystemIds: { [P]: 'fs-00000000000000000' } },
      });
      expect(r.code).toBe(1);
      expect(r.out).toContain(
        `the recorded file system of ${P} is fs-00000000000000000, but the Storage stack's is ${FS[P]}: run ` +
          '`npm run region -- record-ids -c env=staging` and commit cdk.context.json.',
      );
    });
  });

  test("not safe: the writer upgraded while the secondary's version cannot be read", async () => {
    const synthesized = { ...BEFORE, [DATA_P]: dataTemplate('16.8') };
    const r = await run(synthesized, { ...STEADY, versions: { [P]: '16.6' } }, ['--stack', DATA_P]);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`while the cluster in ${S} runs a version that could not be read`);
  });

  test('not safe: a major Aurora version on a member cluster (RDS upgrades a Global Database through the global cluster)', async () => {
    const synthesized = { ...BEFORE, [DATA_S]: dataTemplate('17.2') };
    const r = await run(synthesized, STEADY, ['--stack', DATA_S]);
    expect(r.code).toBe(1);
    expect(r.out).toContain(
      `${DATA_S} changes the major engine version of DatabaseCluster (16.6 to 17.2) on a member cluster, which RDS ` +
        'refuses for a Global Database: upgrade through the global cluster (docs/runbooks/aurora-upgrade.md).',
    );
  });

  test('not safe: a node type change on a cache member (ElastiCache changes it on the Global Datastore only)', async () => {
    const t = dataTemplate();
    const member = {
      Type: 'AWS::ElastiCache::ReplicationGroup',
      Properties: { NumCacheClusters: 2, CacheNodeType: 'cache.r7g.xlarge' },
    };
    const before = {
      ...BEFORE,
      [DATA_P]: {
        Resources: {
          ...t.Resources,
          SessionCache: { ...member, Properties: { NumCacheClusters: 2, CacheNodeType: 'cache.r7g.large' } },
        },
      },
    };
    const r = await run(
      { ...before, [DATA_P]: { Resources: { ...t.Resources, SessionCache: member } } },
      { ...STEADY, deployed: before },
    );
    expect(r.code).toBe(1);
    expect(r.out).toContain(`${DATA_P} changes CacheNodeType of SessionCache, a member of the Global Datastore`);
  });

  test("not safe: removing the node type from the Global Datastore (back to the members' creation value)", async () => {
    const gdsOf = (props: Record<string, unknown>): Template => ({
      Resources: {
        ...dataTemplate().Resources,
        Gds: { Type: 'AWS::ElastiCache::GlobalReplicationGroup', Properties: props },
      },
    });
    const before = { ...BEFORE, [DATA_P]: gdsOf({ CacheNodeType: 'cache.r7g.xlarge' }) };
    const removed = await run({ ...before, [DATA_P]: gdsOf({}) }, { ...STEADY, deployed: before });
    expect(removed.code).toBe(1);
    expect(removed.out).toContain(`${DATA_P} removes CacheNodeType from the Global Datastore Gds`);
    const both = await run(
      { ...before, [DATA_P]: gdsOf({ CacheNodeType: 'cache.r7g.2xlarge', EngineVersion: '8.1' }) },
      { ...STEADY, deployed: before },
    );
    expect(both.out).toContain('changes both the engine version and the node type of the Global Datastore Gds');
  });

  test('not safe: a managed switchover of the global cluster in progress', async () => {
    const r = await run({ ...BEFORE, [APP_P]: appTemplate(8) }, { ...STEADY, failoverStatus: 'failing-over' });
    expect(r.code).toBe(1);
    expect(r.out).toContain(
      `the Aurora global cluster is switching over or failing over (failing-over from ${P} to ${S})`,
    );
  });

  test('not safe: a stack in UPDATE_ROLLBACK_FAILED', async () => {
    const r = await run(
      { ...BEFORE, [APP_P]: appTemplate(8) },
      { ...STEADY, status: { [APP_P]: 'UPDATE_ROLLBACK_FAILED' } },
    );
    expect(r.code).toBe(1);
    expect(r.out).toContain(`${APP_P} is UPDATE_ROLLBACK_FAILED: wait for the operation to end, or recover the stack`);
  });

  test('an output-only change is shown (the stack does change)', async () => {
    const withOutput = { ...appTemplate(), Outputs: { Url: { Value: 'https://x/' } } };
    const r = await run({ ...BEFORE, [APP_P]: withOutput }, STEADY);
    expect(r.out).not.toContain('No stack would change.');
    expect(r.out).toContain('output Url added');
    expect(r.code).toBe(0);
  });

  test("not safe during an outage: a changed custom resource that calls the other region (the plan's fleet lookup)", async () => {
    const lookup = (token: string): Template => ({
      Resources: {
        Fleet: {
          Type: 'Custom::AWS',
          Properties: {
            Create: `{"service":"AutoScaling","action":"describeAutoScalingGroups","region":"${P}","token":"${token}"}`,
          },
        },
      },
    });
    const OPS_S = `HaWeb-staging-Operations-${S}`;
    const live: Live = { ...SWITCHED, deployed: { ...BEFORE, [OPS_S]: lookup('a') }, down: [P] };
    const r = await run({ ...BEFORE, [OPS_S]: lookup('b') }, live, ['--stack', OPS_S]);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`${OPS_S} updates Fleet, which calls ${P} at deploy, and ${P} cannot be reached`);
  });

  test('without credentials it says so and exits 2', async () => {
    const deps = cliDeps({ credentials: noCredentials, environments: { staging }, context: {} });
    const code = await main(['check-deploy', '-c', 'env=staging', '--assembly', assembly(BEFORE)], deps);
    expect(code).toBe(2);
    expect(deps.err.join('\n')).toMatch(/credentials/i);
  });

  test('without a cloud assembly it names the synth command', async () => {
    const deps = cliDeps({ clients: liveClients(STEADY), arc: arcWith(), environments: { staging }, context: {} });
    const code = await main(['check-deploy', '-c', 'env=staging', '--assembly', tempDir('empty-')], deps);
    expect(code).toBe(1);
    expect(deps.err.join('\n')).toContain('run `npx cdk synth -c env=staging` first');
  });

  test('--json prints the verdict, roles and changes', async () => {
    const r = await run({ ...BEFORE, [DATA_P]: dataTemplate('16.6', 2) }, SWITCHED, ['--json']);
    const doc = JSON.parse(r.out);
    expect(doc.safe).toBe(false);
    expect(doc.roles.databaseWriter).toEqual({ value: S });
    expect(doc.roles.filesSource).toEqual({ value: 'none' });
    expect(doc.stacks.find((s: { stackName: string }) => s.stackName === DATA_P).deployedStatus).toBe(
      'UPDATE_COMPLETE',
    );
    expect(doc.stacks.find((s: { stackName: string }) => s.stackName === DATA_P).changes).toEqual([
      { logicalId: 'DatabaseReader2', type: 'AWS::RDS::DBInstance', action: 'add', changed: [] },
    ]);
  });
});

describe('check-deploy of an environment without session cache and shared files (staging with its catalog alone)', () => {
  /** The Data stack of a database-only environment: no cache group. */
  const databaseOnly = (readers = 1): Template => ({
    Resources: Object.fromEntries(
      Object.entries(dataTemplate('16.6', readers).Resources!).filter(([id]) => id !== 'SessionCache'),
    ),
  });

  const DEPLOYED = {
    [DATA_P]: databaseOnly(),
    [DATA_S]: databaseOnly(),
    [APP_P]: appTemplate(),
    [APP_S]: appTemplate(),
  };
  const run1 = (synthesized: Record<string, Template>, live: Live, extra: string[] = []) =>
    run(synthesized, live, extra, arcWith(), {}, catalogOnly);

  test('reads the Aurora writer only: no Storage stack, no Global Datastore, no EFS replication', async () => {
    const r = await run1({ ...DEPLOYED, [DATA_P]: databaseOnly(2) }, { ...STEADY, deployed: DEPLOYED });
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('SAFE to deploy now.');
    expect(r.calls.filter((c) => c.includes('-Storage-'))).toEqual([]);
    expect(r.calls.filter((c) => /^(elasticache|efs) /.test(c))).toEqual([]);
    expect(r.calls).toContain('rds DescribeGlobalClustersCommand');
    expect(r.out).toMatch(new RegExp(`Aurora writer: +${P}`));
    expect(r.out).toMatch(/Global Datastore primary: +not in this environment \(no service uses session cache\)/);
    expect(r.out).toMatch(/EFS replication source: +not in this environment \(no service uses shared files\)/);
    expect(r.out).toMatch(
      new RegExp(`Templates assume: +${P} holds the Aurora writer \\(the region the environment was created in\\)`),
    );
  });

  test("--json: the absent components' roles say so, and a switch leaves no split data tier", async () => {
    const r = await run1(DEPLOYED, { ...SWITCHED, deployed: DEPLOYED }, ['--json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out);
    expect(doc.roles.databaseWriter).toEqual({ value: S });
    expect(doc.roles.cachePrimary).toEqual({
      inEnvironment: false,
      note: 'not in this environment (no service uses session cache)',
    });
    expect(doc.roles.filesSource).toEqual({
      inEnvironment: false,
      note: 'not in this environment (no service uses shared files)',
    });
  });

  test('a data-tier change while the writer is in the other region is still not safe', async () => {
    const r = await run1({ ...DEPLOYED, [DATA_P]: databaseOnly(2) }, { ...SWITCHED, deployed: DEPLOYED });
    expect(r.code).toBe(1);
    expect(r.out).toContain(`but ${S} holds it now (after a region switch)`);
  });

  test('with no data component, an unreachable region is still found (its Network stack does not answer)', async () => {
    const reads: Template = {
      Resources: {
        Fleet: {
          Type: 'AWS::AutoScaling::AutoScalingGroup',
          Properties: {
            MaxSize: '8',
            Tag: { 'Fn::GetStackOutput': { StackName: APP_P, Region: P, OutputName: 'X' } },
          },
        },
      },
    };
    const deployed = { [APP_P]: appTemplate(), [APP_S]: appTemplate() };
    const r = await run(
      { ...deployed, [APP_S]: reads },
      { ...SWITCHED, deployed, down: [P] },
      ['--stack', APP_S],
      arcWith(),
      {},
      stateless,
    );
    expect(r.code).toBe(1);
    expect(r.out).toContain(
      `${APP_S} reads ${APP_P} in ${P} at deploy (Fn::GetStackOutput), and ${P} cannot be reached`,
    );
    expect(r.calls.filter((c) => /^(rds|elasticache|efs) /.test(c))).toEqual([]);
    expect(r.out).toContain('Templates assume:           no data-tier roles (no data components in this environment)');
  });
});

describe('check-deploy pieces', () => {
  test('resourceChanges reports added, removed and modified resources with the keys that differ', () => {
    const before: Template = {
      Resources: {
        A: { Type: 'T', Properties: { X: 1, Y: 2 } },
        B: { Type: 'T', Properties: {} },
      },
    };
    const after: Template = {
      Resources: {
        A: { Type: 'T', Properties: { X: 1, Y: 3, Z: 4 }, DeletionPolicy: 'Retain' },
        C: { Type: 'T', Properties: {} },
      },
    };
    expect(resourceChanges(before, after).map((c) => [c.logicalId, c.action, c.changed])).toEqual([
      ['A', 'modify', ['Y', 'Z', 'DeletionPolicy']],
      ['B', 'remove', []],
      ['C', 'add', []],
    ]);
  });

  test('crossRegionReads finds Fn::GetStackOutput of other regions only', () => {
    const t: Template = {
      Resources: {
        R: {
          Type: 'T',
          Properties: {
            A: { 'Fn::GetStackOutput': { StackName: 'X', Region: 'us-east-1', OutputName: 'O' } },
            B: [{ 'Fn::GetStackOutput': { StackName: 'Y', Region: 'us-west-2', OutputName: 'O' } }],
          },
        },
      },
    };
    expect(crossRegionReads(t, 'us-west-2')).toEqual([{ region: 'us-east-1', stackName: 'X' }]);
  });

  test('judge reads an unreadable role as not safe for a data-tier change only', () => {
    const stack = { stackName: DATA_P, region: P, template: dataTemplate() };
    const change = resourceChanges(dataTemplate(), dataTemplate('16.6', 2));
    const roles = {
      databaseWriter: { error: 'timeout' },
      databaseVersions: {},
      cachePrimary: { value: P },
      filesSource: { value: P },
      unreachable: {},
    };
    expect(
      judge(staging, [{ stack, deployedStatus: 'UPDATE_COMPLETE', changes: change, other: [], risks: [] }], roles),
    ).toEqual([
      `${DATA_P} changes DatabaseReader2 (AWS::RDS::DBInstance, add), but the Aurora writer could not be read ` +
        '(timeout); deploy data-tier changes only when both regions can be read.',
    ]);
    const appStack = { stackName: APP_P, region: P, template: appTemplate(8) };
    expect(
      judge(
        staging,
        [
          {
            stack: appStack,
            deployedStatus: 'UPDATE_COMPLETE',
            changes: resourceChanges(appTemplate(), appTemplate(8)),
            other: [],
            risks: [],
          },
        ],
        roles,
      ),
    ).toEqual([]);
  });
});
