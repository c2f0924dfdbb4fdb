import { DescribeStacksCommand, GetTemplateCommand } from '@aws-sdk/client-cloudformation';
import { DescribeGlobalClustersCommand } from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { main } from '../../cli/main';
import { RegionClients } from '../../cli/status';
import { EnvironmentConfig } from '../../lib/config';
import { staging } from '../../lib/config/environments';
import { tempDir } from '../helpers';
import { catalogOnly, cliDeps, noCredentials, regionClients, stackDoesNotExist, stateless } from './fakes';

const [P, S] = [staging.primary.region, staging.secondary.region];
const FS = { [P]: 'fs-0123456789abcdef0', [S]: 'fs-0fedcba9876543210' };
const GDS = 'gxeiz-haweb-staging-sessions';
const KEY = 'haweb:staging:recorded';

/** Stacks whose outputs or template the last {@link deployed} clients were asked for. */
let stacksRead: string[] = [];

/** Both regions' clients answering as a deployed staging; `globalVersion` is what the global cluster runs. */
function deployed(globalVersion = '16.6', deployedNodeType = 'cache.r7g.large'): (region: string) => RegionClients {
  const byRegion = new Map<string, RegionClients>();
  stacksRead = [];
  for (const region of [P, S]) {
    const clients = regionClients(region);
    byRegion.set(region, clients);
    const cfn = mockClient(clients.cloudformation);
    cfn.on(DescribeStacksCommand).callsFake((input: { StackName: string }) => {
      stacksRead.push(input.StackName);
      const outputs: Record<string, string> = input.StackName.includes('-Storage-')
        ? { FileSystemId: FS[region] }
        : input.StackName === `HaWeb-staging-Data-${P}`
          ? { GlobalDatastoreId: GDS }
          : {};
      return {
        Stacks: [
          {
            StackName: input.StackName,
            CreationTime: new Date(),
            StackStatus: 'CREATE_COMPLETE',
            Outputs: Object.entries(outputs).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
          },
        ],
      };
    });
    cfn.on(GetTemplateCommand, { StackName: `HaWeb-staging-Data-${P}` }).callsFake(() => {
      stacksRead.push(`HaWeb-staging-Data-${P} (template)`);
      return {
        TemplateBody: JSON.stringify({
          Resources: {
            Cache: {
              Type: 'AWS::ElastiCache::ReplicationGroup',
              Properties: { Engine: 'valkey', EngineVersion: '8.0', CacheNodeType: deployedNodeType },
            },
          },
        }),
      };
    });
    mockClient(clients.rds)
      .on(DescribeGlobalClustersCommand, { GlobalClusterIdentifier: 'haweb-staging-global' })
      .resolves({ GlobalClusters: [{ EngineVersion: globalVersion }] });
  }
  return (region) => byRegion.get(region)!;
}

async function record(
  clients: (region: string) => RegionClients,
  file: string,
  extra: string[] = [],
  config: EnvironmentConfig = staging,
) {
  const deps = cliDeps({ clients, environments: { staging: config } });
  const code = await main(['record-ids', '-c', 'env=staging', '--context-file', file, ...extra], deps);
  return { code, out: deps.out.join('\n'), err: deps.err.join('\n') };
}

describe('record-ids', () => {
  test('writes the IDs and creation facts under haweb:<env>:recorded, keeping the other context entries', async () => {
    const file = path.join(tempDir('record-'), 'cdk.context.json');
    fs.writeFileSync(file, JSON.stringify({ 'availability-zones:account=1:region=x': ['a'] }));
    const r = await record(deployed(), file);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual({
      'availability-zones:account=1:region=x': ['a'],
      [KEY]: {
        fileSystemIds: { [P]: FS[P], [S]: FS[S] },
        globalDatastoreId: GDS,
        cacheMembers: { engineVersion: '8.0', nodeType: 'cache.r7g.large' },
        databaseEngineVersion: '16.6',
      },
    });
    expect(r.out).toContain(`Recorded in ${file} under "${KEY}"`);
  });

  test('once recorded, the cache members keep their creation values after the Global Datastore was scaled', async () => {
    const file = path.join(tempDir('record-'), 'cdk.context.json');
    await record(deployed(), file);
    // The Global Datastore was scaled through its own resource (the member's template never changes), and Aurora
    // had a minor upgrade that the config follows.
    const upgraded = { ...staging, database: { ...staging.database, engineVersion: '16.8' } };
    expect((await record(deployed('16.8', 'cache.r7g.xlarge'), file, [], upgraded)).code).toBe(0);
    const facts = JSON.parse(fs.readFileSync(file, 'utf8'))[KEY];
    expect(facts.cacheMembers).toEqual({ engineVersion: '8.0', nodeType: 'cache.r7g.large' });
    expect(facts.databaseEngineVersion).toBe('16.8');
  });

  test('a second run with nothing new writes nothing', async () => {
    const file = path.join(tempDir('record-'), 'cdk.context.json');
    await record(deployed(), file);
    const before = fs.statSync(file).mtimeMs;
    const r = await record(deployed(), file);
    expect(r.out).toContain('already holds these facts');
    expect(fs.statSync(file).mtimeMs).toBe(before);
  });

  test('--dry-run writes nothing', async () => {
    const file = path.join(tempDir('record-'), 'cdk.context.json');
    const r = await record(deployed(), file, ['--dry-run']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('Dry run: would record');
    expect(fs.existsSync(file)).toBe(false);
  });

  test('writes nothing and exits 1 when the config does not synthesize against what was read (a major upgrade done outside)', async () => {
    const file = path.join(tempDir('record-'), 'cdk.context.json');
    const r = await record(deployed('17.2'), file);
    expect(r.code).toBe(1);
    expect(r.out).toContain('Not recorded: the config does not synthesize against what was read');
    expect(r.out).toContain('database.engineVersion "16.6" is lower than the version the global cluster runs ("17.2"');
    expect(fs.existsSync(file)).toBe(false);
    // The runbook's order: set the version the upgrade reached, then record.
    const upgraded = { ...staging, database: { ...staging.database, engineVersion: '17.2' } };
    expect((await record(deployed('17.2'), file, [], upgraded)).code).toBe(0);
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))[KEY].databaseEngineVersion).toBe('17.2');
  });

  test('a broken entry is replaced, and said so', async () => {
    const file = path.join(tempDir('record-'), 'cdk.context.json');
    fs.writeFileSync(file, JSON.stringify({ [KEY]: { fileSystemIds: { [P]: 'nope' } } }));
    const r = await record(deployed(), file);
    expect(r.code).toBe(0);
    expect(r.out).toContain('The entry that was there did not parse and is replaced');
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))[KEY].fileSystemIds[P]).toBe(FS[P]);
  });

  test('an unreachable region: nothing written, exit 1', async () => {
    const clients = deployed();
    const file = path.join(tempDir('record-'), 'cdk.context.json');
    mockClient(clients(S).cloudformation).onAnyCommand().rejects(new Error('connect ETIMEDOUT'));
    const r = await record(clients, file);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`cannot read HaWeb-staging-Storage-${S} in ${S}: connect ETIMEDOUT`);
    expect(fs.existsSync(file)).toBe(false);
  });

  test('a stack that does not exist: nothing written, exit 1', async () => {
    const clients = deployed();
    const file = path.join(tempDir('record-'), 'cdk.context.json');
    mockClient(clients(S).cloudformation)
      .on(DescribeStacksCommand)
      .rejects(stackDoesNotExist(`HaWeb-staging-Storage-${S}`));
    const r = await record(clients, file);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`stack HaWeb-staging-Storage-${S} does not exist in ${S}; deploy the environment first.`);
    expect(r.err).toContain('Nothing was written.');
    expect(fs.existsSync(file)).toBe(false);
  });

  describe('an environment without shared files and session cache (staging with its catalog service alone)', () => {
    test('records the database engine version only: no file system IDs, no Global Datastore, no cache members', async () => {
      const file = path.join(tempDir('record-'), 'cdk.context.json');
      const r = await record(deployed(), file, [], catalogOnly);
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual({ [KEY]: { databaseEngineVersion: '16.6' } });
      // Neither the Storage stacks (there are none) nor the Data stack's Global Datastore output is read.
      expect(stacksRead).toEqual([]);
      expect(r.out).toContain(
        'Not recorded, not in this environment: fileSystemIds (no service uses shared files), globalDatastoreId ' +
          '(no service uses session cache), cacheMembers (no service uses session cache).',
      );
    });

    test('an entry recorded while the environment had them loses the facts of the components it no longer has', async () => {
      const file = path.join(tempDir('record-'), 'cdk.context.json');
      await record(deployed(), file);
      expect(JSON.parse(fs.readFileSync(file, 'utf8'))[KEY].fileSystemIds).toEqual(FS);
      const r = await record(deployed(), file, [], catalogOnly);
      expect(r.code).toBe(0);
      expect(JSON.parse(fs.readFileSync(file, 'utf8'))[KEY]).toEqual({ databaseEngineVersion: '16.6' });
    });

    test('with no data component at all: nothing to record, nothing read, nothing written', async () => {
      const file = path.join(tempDir('record-'), 'cdk.context.json');
      const clients = jest.fn(deployed());
      const r = await record(clients, file, ['--json'], stateless);
      expect(r.code).toBe(0);
      expect(clients).not.toHaveBeenCalled();
      expect(fs.existsSync(file)).toBe(false);
      expect(JSON.parse(r.out)).toMatchObject({ after: {}, written: false, notInEnvironment: expect.any(Array) });
      expect(
        (await record(deployed(), file, [], stateless)).out.startsWith(
          'Nothing to record: the environment has no data',
        ),
      ).toBe(true);
    });
  });

  test('without credentials it says so and exits 2', async () => {
    const deps = cliDeps({ credentials: noCredentials, environments: { staging } });
    const code = await main(['record-ids', '-c', 'env=staging', '--context-file', '/nonexistent/x.json'], deps);
    expect(code).toBe(2);
    expect(deps.err.join('\n')).toMatch(/credentials/i);
  });
});
