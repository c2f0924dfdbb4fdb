import { ConfigError, DataComponent, EnvironmentConfig, hasDataComponent } from './config';
import { physicalNames } from './names';

/**
 * Facts about an environment's live resources, recorded once after its first deploy and kept in
 * `cdk.context.json` under {@link recordedContextKey}, like the values aws-cdk-lib's own context lookups keep:
 * written by `npm run region -- record-ids -c env=<name>`, committed with the code, reviewed like any diff.
 * Every entry is optional; what is missing falls back to the first-deploy behaviour described on each field.
 *
 * Two kinds:
 * - **Immutable IDs of the other region** (`fileSystemIds`, `globalDatastoreId`). With them no stack reads
 *   the other region at deploy time: `Fn::GetStackOutput` is resolved when the reading stack deploys and fails
 *   while the producing region is unreachable, so a Storage, Data or Operations stack could not be updated in the
 *   middle of an outage, when it matters most. Only IDs that cannot change while the resource exists are recorded (the
 *   list of `cross-region.ts`); the resources are retained and their replacing properties pinned by test.
 * - **Creation-time facts of the data tier** (`cacheMembers`, `databaseEngineVersion`): what CloudFormation
 *   must not revisit, because AWS changes it on the global resource, not on a member (see each field).
 */
export interface RecordedFacts {
  /**
   * ID of each region's EFS file system (`fs-...`), by region name.
   * @default - read from the other region's Storage stack at deploy (`Fn::GetStackOutput`)
   */
  readonly fileSystemIds: Readonly<Record<string, string>>;
  /**
   * Full ID of the ElastiCache Global Datastore (`<AWS prefix>-haweb-<env>-sessions`).
   * @default - read from the primary's Data stack at deploy
   */
  readonly globalDatastoreId?: string;
  /**
   * Engine version and node type the two cache replication groups were created with. ElastiCache refuses to
   * change either on a member of a Global Datastore ("is a member of Global Replication Group, hence NodeType
   * property cannot be modified"); AWS scales and upgrades the Global Datastore as a whole. So the members'
   * templates keep these values forever, and a change of `cache.engineVersion` or `cache.nodeType` in the config
   * goes to the Global Datastore resource (ModifyGlobalReplicationGroup): docs/runbooks/valkey-upgrade.md.
   * @default - the config's values (first deploy): a change of either then fails on the member
   */
  readonly cacheMembers?: { readonly engineVersion: string; readonly nodeType: string };
  /**
   * Aurora engine version the global cluster runs, as last recorded. `database.engineVersion` may raise the
   * minor version of it (CloudFormation modifies each member cluster, which AWS allows, secondaries first), but
   * not the major version: RDS refuses a major upgrade of a single member ("Major Version Upgrade isn't
   * supported in a single member of a global cluster"), and CloudFormation updates the member before the
   * global cluster. Nor can an engine go down.
   * @default - no version check (first deploy)
   */
  readonly databaseEngineVersion?: string;
}

/** The `cdk.context.json` key that holds an environment's {@link RecordedFacts}: `haweb:<env>:recorded`. */
export function recordedContextKey(envName: string): string {
  return `haweb:${envName}:recorded`;
}

/** An EFS file system ID: `fs-` and 8 to 40 hexadecimal digits (EFS API reference, `FileSystemId` pattern). */
const FILE_SYSTEM_ID = /^fs-[0-9a-f]{8,40}$/;
/** An engine version: numbers separated by dots, for example `16.6` or `8.0`. */
const ENGINE_VERSION = /^\d+(\.\d+){0,2}$/;

const KEYS = ['fileSystemIds', 'globalDatastoreId', 'cacheMembers', 'databaseEngineVersion'] as const;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Compares two dotted versions numerically: negative when `a` is lower. */
export function compareVersions(a: string, b: string): number {
  const [x, y] = [a.split('.').map(Number), b.split('.').map(Number)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** The major version of a dotted version: `16` of `16.6`. */
export function majorVersion(version: string): string {
  return version.split('.')[0]!;
}

/**
 * Reads and validates the recorded facts of `config` from a context value (`undefined`: nothing recorded), and
 * checks the config against them.
 *
 * @throws ConfigError naming the context key or config key, the value and the fix, when the value is not an
 *   object, has an unknown key, names a region that is not one of the environment's two, holds an ID of the
 *   wrong form, or when `database.engineVersion` is a major upgrade or a downgrade of the recorded version.
 */
export function parseRecorded(config: EnvironmentConfig, raw: unknown): RecordedFacts {
  if (raw === undefined) return { fileSystemIds: {} };
  const key = recordedContextKey(config.name);
  const fix = `correct it in cdk.context.json, or delete it and run \`npm run region -- record-ids -c env=${config.name}\``;
  if (!isRecord(raw)) {
    throw new ConfigError(config.name, [
      `context ${key} must be an object with ${KEYS.join(', ')} (got ${JSON.stringify(raw)}); ${fix}.`,
    ]);
  }
  const problems: string[] = [];
  for (const k of Object.keys(raw)) {
    if (!(KEYS as readonly string[]).includes(k)) {
      problems.push(`context ${key}.${k} is not a recorded fact (known: ${KEYS.join(', ')}); ${fix}.`);
    }
  }
  const fileSystemIds = parseFileSystemIds(config, key, fix, raw.fileSystemIds, problems);

  const suffix = physicalNames(config).globalDatastoreSuffix;
  const gds = raw.globalDatastoreId;
  if (gds !== undefined && (typeof gds !== 'string' || !new RegExp(`^[a-z]+-${suffix}$`).test(gds))) {
    problems.push(
      `context ${key}.globalDatastoreId ${JSON.stringify(gds)} is not this environment's Global Datastore ID ` +
        `(the prefix AWS assigns, a dash, then ${suffix}); ${fix}.`,
    );
  }

  const members = raw.cacheMembers;
  if (
    members !== undefined &&
    !(
      isRecord(members) &&
      Object.keys(members).sort().join() === 'engineVersion,nodeType' &&
      typeof members.engineVersion === 'string' &&
      ENGINE_VERSION.test(members.engineVersion) &&
      typeof members.nodeType === 'string' &&
      /^cache\.[a-z0-9]+\.[a-z0-9]+$/.test(members.nodeType)
    )
  ) {
    problems.push(
      `context ${key}.cacheMembers ${JSON.stringify(members)} must be {"engineVersion": "<such as 8.0>", ` +
        `"nodeType": "<such as cache.r7g.large>"}; ${fix}.`,
    );
  }

  const db = raw.databaseEngineVersion;
  if (db !== undefined) {
    if (typeof db !== 'string' || !ENGINE_VERSION.test(db)) {
      problems.push(
        `context ${key}.databaseEngineVersion ${JSON.stringify(db)} is not an engine version such as 16.6; ${fix}.`,
      );
    } else {
      problems.push(...databaseVersionProblems(config.database.engineVersion, db, key));
    }
  }
  problems.push(...removedComponentProblems(config, key, raw));
  if (problems.length > 0) throw new ConfigError(config.name, problems);
  return {
    fileSystemIds,
    globalDatastoreId: gds as string | undefined,
    cacheMembers: members as RecordedFacts['cacheMembers'],
    databaseEngineVersion: db as string | undefined,
  };
}

function parseFileSystemIds(
  config: EnvironmentConfig,
  key: string,
  fix: string,
  raw: unknown,
  problems: string[],
): Record<string, string> {
  const ids: Record<string, string> = {};
  if (raw === undefined) return ids;
  if (!isRecord(raw)) {
    problems.push(
      `context ${key}.fileSystemIds must map region names to file system IDs (got ${JSON.stringify(raw)}); ${fix}.`,
    );
    return ids;
  }
  const regions = [config.primary.region, config.secondary.region];
  for (const [region, id] of Object.entries(raw)) {
    if (!regions.includes(region)) {
      problems.push(
        `context ${key}.fileSystemIds has region "${region}", which is not one of the environment's regions ` +
          `(${regions.join(', ')}); ${fix}.`,
      );
    } else if (typeof id !== 'string' || !FILE_SYSTEM_ID.test(id)) {
      problems.push(
        `context ${key}.fileSystemIds["${region}"] ${JSON.stringify(id)} is not an EFS file system ID ` +
          `(fs- and 8 to 40 hexadecimal digits); ${fix}.`,
      );
    } else {
      ids[region] = id;
    }
  }
  const values = Object.values(ids);
  if (values.length === 2 && values[0] === values[1]) {
    problems.push(`context ${key}.fileSystemIds gives both regions the same file system ${values[0]}; ${fix}.`);
  }
  return ids;
}

/**
 * A data component that was recorded (so it exists) but that no service uses any more: the next deploy would delete
 * it with its data (Aurora's deletion protection would stop the deploy halfway; the Global Datastore and the file
 * systems have none). Refused until the facts are removed, which says the data is retired on purpose.
 */
function removedComponentProblems(config: EnvironmentConfig, key: string, raw: Record<string, unknown>): string[] {
  const recorded: [DataComponent, string, boolean][] = [
    ['database', 'databaseEngineVersion', raw.databaseEngineVersion !== undefined],
    [
      'sessionCache',
      'globalDatastoreId, cacheMembers',
      raw.globalDatastoreId !== undefined || raw.cacheMembers !== undefined,
    ],
    ['sharedFiles', 'fileSystemIds', isRecord(raw.fileSystemIds) && Object.keys(raw.fileSystemIds).length > 0],
  ];
  return recorded
    .filter(([component, , present]) => present && !hasDataComponent(config, component))
    .map(
      ([component, facts]) =>
        `context ${key} records the ${component} (${facts}), but no service of services uses "${component}" any ` +
        "more: the next deploy would delete it and its data. Keep it in a service's uses; or, to retire it on " +
        `purpose, back it up, remove ${facts} from the context entry, and deploy.`,
    );
}

/** Why `configured` cannot be deployed over a global cluster that runs `recorded` (empty: it can). */
export function databaseVersionProblems(configured: string, recorded: string, key: string): string[] {
  const runbook = 'docs/runbooks/aurora-upgrade.md';
  if (compareVersions(configured, recorded) < 0) {
    return [
      `database.engineVersion "${configured}" is lower than the version the global cluster runs ("${recorded}", ` +
        `context ${key}.databaseEngineVersion): Aurora cannot downgrade in place; set database.engineVersion to ` +
        `"${recorded}" (restoring a snapshot into a new environment is the only way down).`,
    ];
  }
  if (majorVersion(configured) !== majorVersion(recorded)) {
    return [
      `database.engineVersion "${configured}" is a major upgrade of the global cluster's "${recorded}" (context ` +
        `${key}.databaseEngineVersion): CloudFormation would modify each member cluster, and RDS refuses a major ` +
        `upgrade of a single member of a Global Database. Keep "${recorded}" here, upgrade through the global ` +
        `cluster as ${runbook} says (modify-global-cluster --allow-major-version-upgrade), then run ` +
        '`npm run region -- record-ids` and set the new version here.',
    ];
  }
  return [];
}
