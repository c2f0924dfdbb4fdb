import { EnvironmentConfig, parseCidr, validateEnvironmentConfig } from '../../lib/config';
import { PRODUCTION_DATABASE_INSTANCES } from '../../lib/config/validate';
import { demo, prod } from '../../lib/config/environments';
import { configProblems } from '../helpers';

const problemsOf = configProblems;

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

  test.each([0, 2, 120])('rejects Enhanced Monitoring interval %s seconds', (monitoringIntervalSeconds) => {
    expect(problemsOf({ ...demo, database: { ...demo.database, monitoringIntervalSeconds } })).toEqual([
      `database.monitoringIntervalSeconds must be one of 1, 5, 10, 15, 30, 60 (got ${monitoringIntervalSeconds}); ` +
        'Enhanced Monitoring stays on in every environment.',
    ]);
  });

  test('rejects a Route 53 health check path without a leading slash', () => {
    expect(problemsOf({ ...demo, dns: { ...demo.dns, healthCheckPath: 'health/ready' } })).toContain(
      'dns.healthCheckPath "health/ready" must start with "/".',
    );
  });

  test('rejects an access log retention of 0 days', () => {
    expect(problemsOf({ ...demo, loadBalancer: { accessLogRetentionDays: 0 } })).toEqual([
      'loadBalancer.accessLogRetentionDays must be 1 to 3650 (got 0).',
    ]);
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

  test('not required outside production (demo runs one reader per region)', () => {
    expect(demo.secondary.databaseReaders).toBe(1);
    expect(problemsOf(demo)).toEqual([]);
  });
});
