import { ConfigError } from '../lib/config';
import { demo, prod } from '../lib/config/environments';
import { HaEnvironment } from '../lib/ha-environment';
import { compareVersions, parseRecorded, recordedContextKey } from '../lib/recorded';
import { newApp, withConfig } from './helpers';

const FS_EAST = 'fs-0123456789abcdef0';
const FS_WEST = 'fs-0fedcba9876543210';
const GDS = 'ldgnf-haweb-demo-sessions';
const FULL = {
  fileSystemIds: { 'us-east-1': FS_EAST, 'us-west-2': FS_WEST },
  globalDatastoreId: GDS,
  cacheMembers: { engineVersion: demo.cache.engineVersion, nodeType: demo.cache.nodeType },
  databaseEngineVersion: demo.database.engineVersion,
};

/** The problems parseRecorded reports, or [] when it accepts. */
function problems(raw: unknown, config = demo): readonly string[] {
  try {
    parseRecorded(config, raw);
    return [];
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
}

describe('recorded facts (cdk.context.json haweb:<env>:recorded)', () => {
  test('the context key names the environment', () => {
    expect(recordedContextKey('prod')).toBe('haweb:prod:recorded');
  });

  test('nothing recorded: no IDs, no checks', () => {
    expect(parseRecorded(demo, undefined)).toEqual({ fileSystemIds: {} });
  });

  test('a complete record is accepted as is', () => {
    expect(parseRecorded(demo, FULL)).toEqual(FULL);
  });

  test('a recorded data component that no service uses any more is refused: the deploy would delete its data', () => {
    const stateless = { ...demo, services: demo.services.map((s) => ({ ...s, uses: ['database' as const] })) };
    expect(problems(FULL, stateless)).toEqual([
      'context haweb:demo:recorded records the sessionCache (globalDatastoreId, cacheMembers), but no service of ' +
        'services uses "sessionCache" any more: the next deploy would delete it and its data. Keep it in a ' +
        "service's uses; or, to retire it on purpose, back it up, remove globalDatastoreId, cacheMembers from the " +
        'context entry, and deploy.',
      'context haweb:demo:recorded records the sharedFiles (fileSystemIds), but no service of services uses ' +
        '"sharedFiles" any more: the next deploy would delete it and its data. Keep it in a service\'s uses; or, ' +
        'to retire it on purpose, back it up, remove fileSystemIds from the context entry, and deploy.',
    ]);
    expect(problems({ databaseEngineVersion: FULL.databaseEngineVersion, fileSystemIds: {} }, stateless)).toEqual([]);
  });

  test.each([
    [
      'not an object',
      'nope',
      'context haweb:demo:recorded must be an object with fileSystemIds, globalDatastoreId, cacheMembers, databaseEngineVersion (got "nope")',
    ],
    ['an unknown key', { fileSystemId: FS_EAST }, 'context haweb:demo:recorded.fileSystemId is not a recorded fact'],
    [
      'a region of another environment',
      { fileSystemIds: { 'eu-west-1': FS_EAST } },
      'context haweb:demo:recorded.fileSystemIds has region "eu-west-1", which is not one of the environment\'s regions (us-east-1, us-west-2)',
    ],
    [
      'a file system ID of the wrong form',
      { fileSystemIds: { 'us-east-1': 'fs-XYZ' } },
      'context haweb:demo:recorded.fileSystemIds["us-east-1"] "fs-XYZ" is not an EFS file system ID',
    ],
    [
      'one file system for both regions',
      { fileSystemIds: { 'us-east-1': FS_EAST, 'us-west-2': FS_EAST } },
      `gives both regions the same file system ${FS_EAST}`,
    ],
    [
      "another environment's Global Datastore",
      { globalDatastoreId: 'ldgnf-haweb-prod-sessions' },
      'context haweb:demo:recorded.globalDatastoreId "ldgnf-haweb-prod-sessions" is not this environment\'s Global Datastore ID',
    ],
    [
      'cache members without the node type',
      { cacheMembers: { engineVersion: '8.0' } },
      'context haweb:demo:recorded.cacheMembers {"engineVersion":"8.0"} must be {"engineVersion"',
    ],
    [
      'a database version that is not a version',
      { databaseEngineVersion: 'latest' },
      'context haweb:demo:recorded.databaseEngineVersion "latest" is not an engine version such as 16.6',
    ],
  ])('refuses %s, naming the key, the value and the fix', (_what, raw, expected) => {
    const found = problems(raw);
    expect(found).toHaveLength(1);
    expect(found[0]).toContain(expected);
    expect(found[0]).toMatch(/npm run region -- record-ids -c env=demo/);
  });

  test('a minor upgrade of the recorded Aurora version is accepted (CloudFormation modifies each member)', () => {
    expect(
      problems(
        { databaseEngineVersion: '16.4' },
        withConfig({ database: { ...demo.database, engineVersion: '16.6' } }),
      ),
    ).toEqual([]);
  });

  test('a major upgrade is refused with the runbook: RDS refuses it on a single member of a Global Database', () => {
    const config = withConfig({ database: { ...demo.database, engineVersion: '17.4' } });
    expect(problems({ databaseEngineVersion: '16.6' }, config)).toEqual([
      'database.engineVersion "17.4" is a major upgrade of the global cluster\'s "16.6" (context ' +
        'haweb:demo:recorded.databaseEngineVersion): CloudFormation would modify each member cluster, and RDS ' +
        'refuses a major upgrade of a single member of a Global Database. Keep "16.6" here, upgrade through the ' +
        'global cluster as docs/runbooks/aurora-upgrade.md says (modify-global-cluster --allow-major-version-upgrade), ' +
        'then run `npm run region -- record-ids` and set the new version here.',
    ]);
  });

  test('a downgrade is refused', () => {
    expect(problems({ databaseEngineVersion: '16.8' })).toEqual([
      expect.stringContaining(
        'database.engineVersion "16.6" is lower than the version the global cluster runs ("16.8"',
      ),
    ]);
  });

  test('versions compare numerically', () => {
    expect(compareVersions('16.10', '16.9')).toBeGreaterThan(0);
    expect(compareVersions('8.0', '8')).toBe(0);
    expect(compareVersions('7.2', '8.0')).toBeLessThan(0);
  });

  test('a bad record fails before any stack is created', () => {
    const app = newApp();
    expect(() => new HaEnvironment(app, demo, { fileSystemIds: { 'us-east-1': 'nope' } })).toThrow(ConfigError);
    expect(app.node.children).toHaveLength(0);
  });
});

describe('with its IDs recorded, no App or Operations stack waits for the other region', () => {
  test('their only dependencies on the other region are the plan’s ordering on the secondary (no synthesis needed)', () => {
    const app = newApp();
    const env = new HaEnvironment(app, prod, {
      fileSystemIds: { [prod.primary.region]: FS_EAST, [prod.secondary.region]: FS_WEST },
      globalDatastoreId: 'ldgnf-haweb-prod-sessions',
    });
    const crossing = env.stacks
      .filter((s) => /-(App|Operations)-/.test(s.stackName))
      .flatMap((s) =>
        s.dependencies.filter((d) => d.region !== s.region).map((d) => `${s.stackName} -> ${d.stackName}`),
      );
    // An ordering for `cdk deploy --all` only (the plan names the secondary's functions, alarms and fleet by name);
    // `cdk deploy --exclusively` skips it during an outage.
    expect(crossing.sort()).toEqual([
      `HaWeb-prod-Operations-${prod.primary.region} -> HaWeb-prod-App-${prod.secondary.region}`,
      `HaWeb-prod-Operations-${prod.primary.region} -> HaWeb-prod-Operations-${prod.secondary.region}`,
    ]);
  });
});
