import { CapacityConfig, ConfigError, EnvironmentConfig, parseCidr, validateEnvironmentConfig } from '../../lib/config';
import { MAX_SERVICE_SETTINGS, PRODUCTION_DATABASE_INSTANCES } from '../../lib/config/validate';
import { demo, prod } from '../../lib/config/environments';

/** The problems a config has, or [] when it is valid. */
function problemsOf(config: EnvironmentConfig): readonly string[] {
  try {
    validateEnvironmentConfig(config);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
}

const primary = (p: Partial<EnvironmentConfig['primary']>) => ({ ...demo, primary: { ...demo.primary, ...p } });
const secondary = (s: Partial<EnvironmentConfig['secondary']>) => ({
  ...demo,
  secondary: { ...demo.secondary, ...s },
});

describe('validateEnvironmentConfig', () => {
  test('accepts the demo environment', () => {
    expect(problemsOf(demo)).toEqual([]);
  });

  test('rejects two identical regions', () => {
    expect(problemsOf(secondary({ region: 'us-east-1', availabilityZones: demo.primary.availabilityZones }))).toContain(
      'primary.region and secondary.region are both "us-east-1"; choose two different regions.',
    );
  });

  test('rejects a malformed region name', () => {
    expect(problemsOf(primary({ region: 'useast1' }))).toContain(
      'primary.region "useast1" is not an AWS region name; use one such as "us-east-1".',
    );
  });

  test('rejects an availability zone of another region', () => {
    expect(problemsOf(secondary({ availabilityZones: ['us-west-2a', 'us-west-2b', 'us-east-1c'] }))).toContain(
      'secondary.availabilityZones entry "us-east-1c" is not a zone of us-west-2; use a zone such as "us-west-2a".',
    );
  });

  test('rejects fewer than three availability zones', () => {
    expect(problemsOf(primary({ availabilityZones: ['us-east-1a', 'us-east-1b'] }))).toContain(
      'primary.availabilityZones [us-east-1a, us-east-1b] must list 3 distinct zones of us-east-1, for example ' +
        '["us-east-1a", "us-east-1b", "us-east-1c"].',
    );
  });

  test('rejects repeated availability zones', () => {
    expect(problemsOf(primary({ availabilityZones: ['us-east-1a', 'us-east-1a', 'us-east-1b'] }))).toEqual([
      'primary.availabilityZones [us-east-1a, us-east-1a, us-east-1b] must list 3 distinct zones of us-east-1, for example ' +
        '["us-east-1a", "us-east-1b", "us-east-1c"].',
    ]);
  });

  test('rejects min capacity above max', () => {
    expect(problemsOf(secondary({ capacity: { min: 5, max: 4 } }))).toContain(
      'secondary.capacity must satisfy min <= max (got min 5, max 4); raise max or lower min.',
    );
  });

  test("rejects a desired capacity (runtime state: a deploy must not undo the plan's scale-up)", () => {
    const withDesired = { min: 2, desired: 2, max: 4 } as unknown as CapacityConfig;
    expect(problemsOf(primary({ capacity: withDesired }))).toContain(
      "primary.capacity.desired is not a setting: the running size is runtime state (scaling and the Region switch plan's " +
        'scale-up change it, and a deploy must not undo them); remove it and set min, the size a new group starts with.',
    );
  });

  test('rejects fewer than two instances in the primary', () => {
    expect(problemsOf(primary({ capacity: { min: 1, max: 4 } }))).toContain(
      'primary.capacity.min must be at least 2 so the region survives the loss of an instance (got 1).',
    );
  });

  test('accepts a single warm-standby instance in the secondary', () => {
    expect(problemsOf(secondary({ capacity: { min: 1, max: 2 } }))).toEqual([]);
  });

  test('rejects overlapping VPC CIDRs', () => {
    expect(problemsOf(secondary({ vpcCidr: '10.10.128.0/17' }))).toContain(
      'primary.vpcCidr "10.10.0.0/16" overlaps secondary.vpcCidr "10.10.128.0/17"; give the regions disjoint ranges so they can be peered later.',
    );
  });

  test('rejects a CIDR that is not a network address', () => {
    expect(problemsOf(primary({ vpcCidr: '10.10.0.1/16' }))).toContain(
      'primary.vpcCidr "10.10.0.1/16" is not an IPv4 network in CIDR form; use one such as "10.10.0.0/16".',
    );
  });

  test('rejects a VPC too small for nine subnets', () => {
    expect(problemsOf(primary({ vpcCidr: '10.10.0.0/24' }))).toContain(
      'primary.vpcCidr "10.10.0.0/24" must have a prefix from /16 to /20 (room for nine subnets) (got /24).',
    );
  });

  test('rejects a NAT gateway count outside 1 to 3', () => {
    expect(problemsOf(primary({ natGateways: 0 }))).toContain(
      'primary.natGateways must be 1, 2 or 3 (got 0); 3 survives the loss of an AZ.',
    );
  });

  test.each(['ami-123', 'ami-0123456789ABCDEF0', 'i-0123456789abcdef0', 'ami-0123456789abcdef'])(
    'rejects the machine image ID %s (ami- and 8 or 17 lower-case hexadecimal digits)',
    (id) => {
      expect(problemsOf(primary({ machineImageId: id }))).toEqual([
        `primary.machineImageId "${id}" is not an AMI ID (ami- and 8 or 17 hexadecimal digits); use the ID of ` +
          "us-east-1's image, or remove the key to pin the latest Amazon Linux 2023 image at the next synth.",
      ]);
    },
  );

  test('accepts an 8-digit and a 17-digit AMI ID, and no ID (a lookup kept in cdk.context.json)', () => {
    expect(problemsOf(primary({ machineImageId: 'ami-0123abcd' }))).toEqual([]);
    expect(problemsOf(primary({ machineImageId: 'ami-0123456789abcdef0' }))).toEqual([]);
    expect(problemsOf(primary({ machineImageId: undefined }))).toEqual([]);
  });

  test('rejects one AMI ID for both regions: an AMI belongs to one region', () => {
    const config = { ...primary({ machineImageId: 'ami-0123456789abcdef0' }) };
    expect(
      problemsOf({ ...config, secondary: { ...config.secondary, machineImageId: 'ami-0123456789abcdef0' } }),
    ).toEqual([
      'primary.machineImageId and secondary.machineImageId are both "ami-0123456789abcdef0"; an AMI ID belongs to one ' +
        "region: copy the image to us-west-2 (aws ec2 copy-image) and use the copy's ID there.",
    ]);
  });

  describe('service.settings (central configuration)', () => {
    const withSettings = (settings: Record<string, string>) => ({ ...demo, service: { ...demo.service, settings } });

    test('accepts environment variable names and printable values', () => {
      expect(problemsOf(withSettings({ LOG_LEVEL: 'debug', FEATURE_X_2: 'a "quoted" \\ value' }))).toEqual([]);
    });

    test.each(['log_level', '1ST', 'A-B', 'A.B', ''])('rejects the name %j', (name) => {
      expect(problemsOf(withSettings({ [name]: 'x' }))).toEqual([
        `service.settings has the name "${name}": use capital letters, digits and underscores, starting with a ` +
          'letter (an environment variable name such as "LOG_LEVEL").',
      ]);
    });

    test.each(['PORT', 'DATABASE_PASSWORD', 'SETTINGS_VERSION'])('rejects %s, which the boot script sets', (name) => {
      expect(problemsOf(withSettings({ [name]: 'x' }))).toEqual([
        `service.settings.${name} is set by the boot script itself (from the stacks, the secrets or the instance); ` +
          'remove it, or give the setting another name.',
      ]);
    });

    test.each(['NODE_OPTIONS', 'NODE_TLS_REJECT_UNAUTHORIZED', 'LD_PRELOAD', 'PATH'])(
      'rejects %s, which changes how Node.js or the system runs code or trusts certificates',
      (name) => {
        expect(problemsOf(withSettings({ [name]: 'x' }))).toEqual([
          `service.settings.${name} changes how Node.js or the system loads code or trusts certificates, not a ` +
            'setting of the service; remove it (the boot script and the bundle decide these).',
        ]);
      },
    );

    test.each([
      '{{resolve:secretsmanager:haweb/prod/database:SecretString:password}}',
      'x{{resolve:ssm:/nope}}',
      '${Token[TOKEN.123]}',
    ])('rejects the value %s, which the deploy would replace', (value) => {
      expect(problemsOf(withSettings({ GREETING: value }))).toEqual([
        `service.settings.GREETING ${JSON.stringify(value)} holds a CloudFormation dynamic reference or a CDK token, ` +
          'which the deploy would replace (a secret would land in a plain parameter); for a secret, read it from ' +
          'Secrets Manager in the service instead.',
      ]);
    });

    test(`rejects more than ${MAX_SERVICE_SETTINGS} settings`, () => {
      const many = Object.fromEntries(Array.from({ length: MAX_SERVICE_SETTINGS + 1 }, (_, i) => [`S${i}`, 'x']));
      expect(problemsOf(withSettings(many))).toEqual([
        `service.settings has ${MAX_SERVICE_SETTINGS + 1} settings; at most ${MAX_SERVICE_SETTINGS} (each is a ` +
          'CloudFormation resource and a Parameter Store write per region): group related values into one setting.',
      ]);
    });

    test.each([
      ['empty', ''],
      ['a line break', 'a\nb'],
      ['a non-ASCII character', 'café'],
      ['4,097 characters', 'x'.repeat(4097)],
    ])('rejects a value with %s', (_what, value) => {
      expect(problemsOf(withSettings({ LOG_LEVEL: value }))).toEqual([
        `service.settings.LOG_LEVEL ${JSON.stringify(value)} must be 1 to 4,096 printable ASCII characters without ` +
          'line breaks (a Parameter Store standard parameter read into a systemd environment file).',
      ]);
    });
  });

  test('rejects a domain outside the hosted zone', () => {
    expect(problemsOf({ ...demo, dns: { ...demo.dns, domainName: 'app.example.org' } })).toContain(
      'dns.domainName "app.example.org" is not inside dns.hostedZoneName "demo.example.com"; use a name that ends in ".demo.example.com".',
    );
  });

  test('rejects a domain that only ends with the zone name as text', () => {
    expect(problemsOf({ ...demo, dns: { ...demo.dns, domainName: 'appdemo.example.com' } })).toHaveLength(1);
  });

  test('accepts the zone apex as the domain', () => {
    expect(problemsOf({ ...demo, dns: { ...demo.dns, domainName: 'demo.example.com' } })).toEqual([]);
  });

  test('rejects a malformed hosted zone ID', () => {
    expect(problemsOf({ ...demo, dns: { ...demo.dns, hostedZoneId: 'hostedzone/abc' } })).toContain(
      'dns.hostedZoneId "hostedzone/abc" is not a Route 53 hosted zone ID; copy it from the console (it starts with "Z").',
    );
  });

  test('rejects an account ID that is not 12 digits', () => {
    expect(problemsOf({ ...demo, account: '12345' })).toContain('account "12345" must be a 12-digit AWS account ID.');
  });

  test('rejects a health check failure threshold above 10', () => {
    expect(problemsOf({ ...demo, dns: { ...demo.dns, healthCheckFailureThreshold: 11 } })).toContain(
      'dns.healthCheckFailureThreshold must be 1 to 10 (got 11).',
    );
  });

  test('rejects a burstable database class, which Global Database does not support', () => {
    expect(problemsOf({ ...demo, database: { ...demo.database, instanceClass: 'db.t4g.medium' } })).toContain(
      'database.instanceClass "db.t4g.medium" cannot join an Aurora Global Database; use a memory-optimised class of generation 5 or later such as "db.r6g.large".',
    );
  });

  test('rejects a primary without a reader', () => {
    expect(problemsOf(primary({ databaseReaders: 0 }))).toContain(
      'primary.databaseReaders must be 1 to 15 so a reader in another AZ can take over from the writer (got 0).',
    );
  });

  test('rejects a headless secondary database cluster', () => {
    expect(problemsOf(secondary({ databaseReaders: 0 }))).toContain(
      'secondary.databaseReaders must be 1 to 16 so the secondary cluster can be promoted at once (got 0).',
    );
  });

  test('rejects a burstable cache node type, which Global Datastore does not support', () => {
    expect(problemsOf({ ...demo, cache: { ...demo.cache, nodeType: 'cache.t4g.small' } })).toContain(
      'cache.nodeType "cache.t4g.small" cannot join a Global Datastore; use an m or r node type of generation 5 or later such as "cache.r7g.large".',
    );
  });

  test('rejects a cache without a replica', () => {
    expect(problemsOf({ ...demo, cache: { ...demo.cache, replicasPerRegion: 0 } })).toContain(
      'cache.replicasPerRegion must be 1 to 5: Multi-AZ with automatic failover needs at least one replica (got 0).',
    );
  });

  test('rejects a backup retention beyond 35 days', () => {
    expect(problemsOf({ ...demo, database: { ...demo.database, backupRetentionDays: 36 } })).toContain(
      'database.backupRetentionDays must be 1 to 35 (got 36).',
    );
  });

  test('rejects an ALB health check interval below 5 seconds', () => {
    expect(problemsOf({ ...demo, service: { ...demo.service, healthCheckIntervalSeconds: 2 } })).toContain(
      'service.healthCheckIntervalSeconds must be 5 to 300 (got 2).',
    );
  });

  test('rejects an invalid alarm e-mail', () => {
    expect(problemsOf({ ...demo, alarmEmail: 'ops' })).toContain('alarmEmail "ops" is not an e-mail address.');
  });

  test('rejects an environment name that cannot go in a stack name', () => {
    expect(problemsOf({ ...demo, name: 'Demo_1' })).toContain(
      'name "Demo_1" must be 1 to 20 lower-case letters, digits or dashes, starting with a letter.',
    );
  });

  test('rejects a database class older than generation 5', () => {
    expect(problemsOf({ ...demo, database: { ...demo.database, instanceClass: 'db.r4.large' } })).toHaveLength(1);
  });

  test('accepts a generation 7 Graviton database class', () => {
    expect(problemsOf({ ...demo, database: { ...demo.database, instanceClass: 'db.r7g.2xlarge' } })).toEqual([]);
  });

  test('rejects a cache node type older than generation 5', () => {
    expect(problemsOf({ ...demo, cache: { ...demo.cache, nodeType: 'cache.m4.large' } })).toHaveLength(1);
  });

  test('rejects a malformed instance type', () => {
    expect(problemsOf(primary({ instanceTypes: ['large', 'm7g.large'] }))).toContain(
      'primary.instanceTypes entry "large" is not an EC2 instance type; use one such as "t3.small".',
    );
  });

  test.each([
    ['one type', ['m7g.large']],
    ['the same type twice', ['m7g.large', 'm7g.large']],
  ])('rejects %s: a fleet needs two instance types', (_label, instanceTypes) => {
    expect(problemsOf(primary({ instanceTypes }))).toContain(
      `primary.instanceTypes [${instanceTypes.join(', ')}] must list at least 2 distinct instance types, in order of ` +
        'preference, so a shortage of one type does not stop a scale-up; add an equivalent type such as "t3a.small" ' +
        'next to "t3.small".',
    );
  });

  test('rejects instance types of two CPU architectures (one AMI)', () => {
    expect(problemsOf(primary({ instanceTypes: ['m7g.large', 'm7i.large'] }))).toContain(
      'primary.instanceTypes [m7g.large, m7i.large] mix Graviton (arm64) and x86 types; the launch template has ' +
        'one AMI, so list types of one architecture only.',
    );
  });

  test.each([0, 2, 120])('rejects Enhanced Monitoring interval %s seconds', (monitoringIntervalSeconds) => {
    expect(problemsOf({ ...demo, database: { ...demo.database, monitoringIntervalSeconds } })).toEqual([
      `database.monitoringIntervalSeconds must be one of 1, 5, 10, 15, 30, 60 (got ${monitoringIntervalSeconds}); ` +
        'Enhanced Monitoring stays on in every environment.',
    ]);
  });

  test('rejects fractional capacities', () => {
    expect(problemsOf(primary({ capacity: { min: 2.5, max: 4 } }))).toContain(
      'primary.capacity min/max must be whole numbers >= 0 (got 2.5/4).',
    );
  });

  test('rejects a Route 53 health check path without a leading slash', () => {
    expect(problemsOf({ ...demo, dns: { ...demo.dns, healthCheckPath: 'health/ready' } })).toContain(
      'dns.healthCheckPath "health/ready" must start with "/".',
    );
  });

  test('rejects an Aurora engine version without a minor version', () => {
    expect(problemsOf({ ...demo, database: { ...demo.database, engineVersion: '16' } })).toContain(
      'database.engineVersion "16" must be a full Aurora PostgreSQL version such as "16.6".',
    );
  });

  test('rejects a malformed Valkey version', () => {
    expect(problemsOf({ ...demo, cache: { ...demo.cache, engineVersion: 'latest' } })).toContain(
      'cache.engineVersion "latest" must be a Valkey version such as "8.0".',
    );
  });

  test('rejects an ALB health check path without a leading slash', () => {
    expect(problemsOf({ ...demo, service: { ...demo.service, healthCheckPath: 'health' } })).toContain(
      'service.healthCheckPath "health" must start with "/".',
    );
  });

  test.each([
    ['port', 80, 'service.port must be 1024 to 65535 (got 80).'],
    ['unhealthyThresholdCount', 1, 'service.unhealthyThresholdCount must be 2 to 10 (got 1).'],
    ['healthyThresholdCount', 11, 'service.healthyThresholdCount must be 2 to 10 (got 11).'],
    ['deregistrationDelaySeconds', 3601, 'service.deregistrationDelaySeconds must be 0 to 3600 (got 3601).'],
    ['healthCheckGracePeriodSeconds', -1, 'service.healthCheckGracePeriodSeconds must be 0 to 7200 (got -1).'],
    ['instanceWarmupSeconds', 3601, 'service.instanceWarmupSeconds must be 0 to 3600 (got 3601).'],
    ['targetCpuUtilizationPercent', 95, 'service.targetCpuUtilizationPercent must be 10 to 90 (got 95).'],
    ['refreshRollback5xxPerMinute', 0, 'service.refreshRollback5xxPerMinute must be 1 to 100000 (got 0).'],
    ['accessLogRetentionDays', 0, 'service.accessLogRetentionDays must be 1 to 3650 (got 0).'],
  ])('rejects service.%s = %p', (key, value, message) => {
    expect(problemsOf({ ...demo, service: { ...demo.service, [key]: value } })).toEqual([message]);
  });

  test('rejects a region switch RTO under 5 minutes', () => {
    expect(problemsOf({ ...demo, regionSwitch: { ...demo.regionSwitch, rtoMinutes: 2 } })).toEqual([
      'regionSwitch.rtoMinutes must be 5 to 1440 (got 2).',
    ]);
  });

  test('reports every problem at once, one per line, naming the environment', () => {
    const bad = { ...demo, account: 'x', alarmEmail: 'y' };
    expect(() => validateEnvironmentConfig(bad)).toThrow(
      'Invalid configuration for environment "demo":\n' +
        '  - account "x" must be a 12-digit AWS account ID.\n' +
        '  - alarmEmail "y" is not an e-mail address.',
    );
  });
});

describe('parseCidr', () => {
  test('parses a /16 network into its first and last address', () => {
    expect(parseCidr('10.1.0.0/16')).toEqual({ first: 0x0a010000, last: 0x0a01ffff, prefix: 16 });
  });

  test('rejects octets above 255', () => {
    expect(parseCidr('10.256.0.0/16')).toBeUndefined();
  });
});

describe('a production environment stays highly available in whichever region is active (issue 11)', () => {
  const production = { ...prod };

  test('prod as shipped passes: three database instances in each region', () => {
    expect(problemsOf(production)).toEqual([]);
    expect(prod.primary.databaseReaders + 1).toBeGreaterThanOrEqual(PRODUCTION_DATABASE_INSTANCES);
    expect(prod.secondary.databaseReaders).toBeGreaterThanOrEqual(PRODUCTION_DATABASE_INSTANCES);
  });

  test('a secondary of one instance (the shipped prod before): a promoted cluster would run a lone writer', () => {
    expect(problemsOf({ ...production, secondary: { ...prod.secondary, databaseReaders: 1 } })).toEqual([
      "secondary.databaseReaders is 1: once promoted, the secondary cluster is the active region's and a production region " +
        'needs at least 3 database instances (one becomes the writer, the others stay readers in other AZs); set it to 3 or more.',
    ]);
  });

  test('a primary with one reader', () => {
    expect(problemsOf({ ...production, primary: { ...prod.primary, databaseReaders: 1 } })).toEqual([
      'primary.databaseReaders is 1: a production region needs at least 3 database instances (the writer and 2 readers); ' +
        'set it to 2 or more.',
    ]);
  });

  test('a secondary with one NAT gateway: once promoted, the loss of an AZ would cut its egress', () => {
    expect(problemsOf({ ...production, secondary: { ...prod.secondary, natGateways: 1 } })).toEqual([
      "secondary.natGateways is 1: once promoted, a production region's instances must reach the internet through " +
        "the loss of an AZ (the bootstrap's packages, AWS APIs); set it to 3.",
    ]);
  });

  test("a region whose maximum capacity is below the other's: the plan's scale-up would stop short", () => {
    expect(problemsOf({ ...production, secondary: { ...prod.secondary, capacity: { min: 2, max: 6 } } })).toEqual([
      'secondary.capacity.max is 6, below primary.capacity.max 12: the Region switch plan scales the region it ' +
        "activates to the other region's capacity, and the secondary could not take the primary's load; set it to 12 " +
        'or more.',
    ]);
    expect(problemsOf({ ...production, primary: { ...prod.primary, capacity: { min: 3, max: 8 } } })).toEqual([
      expect.stringContaining('primary.capacity.max is 8, below secondary.capacity.max 12'),
    ]);
  });

  test('not required outside production (demo runs one reader per region)', () => {
    expect(demo.secondary.databaseReaders).toBe(1);
    expect(problemsOf(demo)).toEqual([]);
  });
});
