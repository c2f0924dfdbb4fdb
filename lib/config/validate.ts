import { EnvironmentConfig, RegionConfig } from './types';
import { serviceProblems } from './validate-services';

export {
  AMI_ID,
  globMatches,
  isGravitonInstanceType,
  MAX_SERVICE_SECRETS,
  MAX_SERVICE_SETTINGS,
  regionalDomainNames,
  routeOf,
  SERVICE_RESERVED_VARIABLES,
} from './validate-services';

/**
 * Thrown when an environment config is invalid. The message lists every
 * problem found, one per line, each naming the key, the value and the fix.
 */
export class ConfigError extends Error {
  /** The individual problems, one sentence each. */
  public readonly problems: readonly string[];

  constructor(envName: string, problems: readonly string[]) {
    super(`Invalid configuration for environment "${envName}":\n` + problems.map((p) => `  - ${p}`).join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

const REGION_PATTERN = /^[a-z]{2}(-gov)?-[a-z]+-\d$/;

/** Enhanced Monitoring intervals RDS accepts, in seconds, without 0 (off). */
export const ENHANCED_MONITORING_INTERVALS: readonly number[] = [1, 5, 10, 15, 30, 60];

/** Parses `a.b.c.d/n` into a [first, last] address range, or undefined if malformed. */
export function parseCidr(cidr: string): { first: number; last: number; prefix: number } | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  if (octets.some((o) => o > 255) || prefix > 32) return undefined;
  const addr = ((octets[0] << 24) >>> 0) + (octets[1] << 16) + (octets[2] << 8) + octets[3];
  const size = 2 ** (32 - prefix);
  const first = Math.floor(addr / size) * size;
  if (first !== addr) return undefined; // host bits set: 10.0.0.1/16 is not a network address
  return { first, last: first + size - 1, prefix };
}

function checkRegion(key: string, r: RegionConfig, problems: string[]): void {
  if (!REGION_PATTERN.test(r.region)) {
    problems.push(`${key}.region "${r.region}" is not an AWS region name; use one such as "us-east-1".`);
  }
  const azs = r.availabilityZones;
  if (azs.length !== 3 || new Set(azs).size !== 3) {
    problems.push(
      `${key}.availabilityZones [${azs.join(', ')}] must list 3 distinct zones of ${r.region}, for example ` +
        `["${r.region}a", "${r.region}b", "${r.region}c"].`,
    );
  }
  for (const az of azs) {
    if (!new RegExp(`^${r.region}[a-z]$`).test(az)) {
      problems.push(
        `${key}.availabilityZones entry "${az}" is not a zone of ${r.region}; use a zone such as "${r.region}a".`,
      );
    }
  }
  const cidr = parseCidr(r.vpcCidr);
  if (!cidr) {
    problems.push(`${key}.vpcCidr "${r.vpcCidr}" is not an IPv4 network in CIDR form; use one such as "10.10.0.0/16".`);
  } else if (cidr.prefix < 16 || cidr.prefix > 20) {
    problems.push(
      `${key}.vpcCidr "${r.vpcCidr}" must have a prefix from /16 to /20 (room for nine subnets) (got /${cidr.prefix}).`,
    );
  }
  if (!Number.isInteger(r.natGateways) || r.natGateways < 1 || r.natGateways > 3) {
    problems.push(`${key}.natGateways must be 1, 2 or 3 (got ${r.natGateways}); 3 survives the loss of an AZ.`);
  }
  if (r.machineImageId !== undefined && !/^ami-([0-9a-f]{8}|[0-9a-f]{17})$/.test(r.machineImageId)) {
    problems.push(
      `${key}.machineImageId "${r.machineImageId}" is not an AMI ID (ami- and 8 or 17 hexadecimal digits); use the ` +
        `ID of ${r.region}'s image, or remove the key to pin the latest Amazon Linux 2023 image at the next synth.`,
    );
  }
}

/**
 * Database instances each region of a production environment runs: a writer and two readers in other AZs once
 * the region is active (the API Portal reference design's three database nodes per datacenter).
 */
export const PRODUCTION_DATABASE_INSTANCES = 3;

/**
 * Checks an environment config and throws one `ConfigError` listing every
 * problem. Call it before creating any construct, so that a bad config fails
 * synthesis before a template is written.
 */
export function validateEnvironmentConfig(c: EnvironmentConfig): void {
  const problems: string[] = [];

  if (!/^[a-z][a-z0-9-]{0,19}$/.test(c.name)) {
    problems.push(`name "${c.name}" must be 1 to 20 lower-case letters, digits or dashes, starting with a letter.`);
  }
  if (!/^\d{12}$/.test(c.account)) {
    problems.push(`account "${c.account}" must be a 12-digit AWS account ID.`);
  }

  checkRegion('primary', c.primary, problems);
  checkRegion('secondary', c.secondary, problems);

  if (c.primary.region === c.secondary.region) {
    problems.push(`primary.region and secondary.region are both "${c.primary.region}"; choose two different regions.`);
  }
  if (c.primary.machineImageId !== undefined && c.primary.machineImageId === c.secondary.machineImageId) {
    problems.push(
      `primary.machineImageId and secondary.machineImageId are both "${c.primary.machineImageId}"; an AMI ID belongs ` +
        `to one region: copy the image to ${c.secondary.region} (aws ec2 copy-image) and use the copy's ID there.`,
    );
  }
  const p = parseCidr(c.primary.vpcCidr);
  const s = parseCidr(c.secondary.vpcCidr);
  if (p && s && p.first <= s.last && s.first <= p.last) {
    problems.push(
      `primary.vpcCidr "${c.primary.vpcCidr}" overlaps secondary.vpcCidr "${c.secondary.vpcCidr}"; ` +
        'give the regions disjoint ranges so they can be peered later.',
    );
  }

  const { dns } = c;
  const zone = dns.hostedZoneName.replace(/\.$/, '').toLowerCase();
  const domain = dns.domainName.replace(/\.$/, '').toLowerCase();
  if (domain !== zone && !domain.endsWith(`.${zone}`)) {
    problems.push(
      `dns.domainName "${dns.domainName}" is not inside dns.hostedZoneName "${dns.hostedZoneName}"; ` +
        `use a name that ends in ".${zone}".`,
    );
  }
  if (!/^Z[A-Z0-9]{1,31}$/.test(dns.hostedZoneId)) {
    problems.push(
      `dns.hostedZoneId "${dns.hostedZoneId}" is not a Route 53 hosted zone ID; copy it from the console (it starts with "Z").`,
    );
  }
  if (
    !Number.isInteger(dns.healthCheckFailureThreshold) ||
    dns.healthCheckFailureThreshold < 1 ||
    dns.healthCheckFailureThreshold > 10
  ) {
    problems.push(`dns.healthCheckFailureThreshold must be 1 to 10 (got ${dns.healthCheckFailureThreshold}).`);
  }
  if (!dns.healthCheckPath.startsWith('/')) {
    problems.push(`dns.healthCheckPath "${dns.healthCheckPath}" must start with "/".`);
  }

  const db = c.database;
  if (!/^\d+\.\d+$/.test(db.engineVersion)) {
    problems.push(
      `database.engineVersion "${db.engineVersion}" must be a full Aurora PostgreSQL version such as "16.6".`,
    );
  }
  if (!/^db\.(r|x)([5-9]|\d{2,})[a-z]*\.[a-z0-9]+$/.test(db.instanceClass)) {
    problems.push(
      `database.instanceClass "${db.instanceClass}" cannot join an Aurora Global Database; use a memory-optimised class of generation 5 or later such as "db.r6g.large".`,
    );
  }
  if (!Number.isInteger(c.primary.databaseReaders) || c.primary.databaseReaders < 1 || c.primary.databaseReaders > 15) {
    problems.push(
      `primary.databaseReaders must be 1 to 15 so a reader in another AZ can take over from the writer (got ${c.primary.databaseReaders}).`,
    );
  }
  if (
    !Number.isInteger(c.secondary.databaseReaders) ||
    c.secondary.databaseReaders < 1 ||
    c.secondary.databaseReaders > 16
  ) {
    problems.push(
      `secondary.databaseReaders must be 1 to 16 so the secondary cluster can be promoted at once (got ${c.secondary.databaseReaders}).`,
    );
  }
  // Either region may become the active one. In production each region must run what the primary promises
  // once it is active: at least three database instances (a writer and two readers once promoted; the API
  // Portal reference design's three database nodes per datacenter), so a promoted cluster still fails over
  // within its region.
  if (c.production) {
    if (Number.isInteger(c.primary.databaseReaders) && c.primary.databaseReaders < PRODUCTION_DATABASE_INSTANCES - 1) {
      problems.push(
        `primary.databaseReaders is ${c.primary.databaseReaders}: a production region needs at least ` +
          `${PRODUCTION_DATABASE_INSTANCES} database instances (the writer and ${PRODUCTION_DATABASE_INSTANCES - 1} readers); set it to ${PRODUCTION_DATABASE_INSTANCES - 1} or more.`,
      );
    }
    if (Number.isInteger(c.secondary.databaseReaders) && c.secondary.databaseReaders < PRODUCTION_DATABASE_INSTANCES) {
      problems.push(
        `secondary.databaseReaders is ${c.secondary.databaseReaders}: once promoted, the secondary cluster is the ` +
          `active region's and a production region needs at least ${PRODUCTION_DATABASE_INSTANCES} database instances ` +
          `(one becomes the writer, the others stay readers in other AZs); set it to ${PRODUCTION_DATABASE_INSTANCES} or more.`,
      );
    }
    for (const key of ['primary', 'secondary'] as const) {
      const r = c[key];
      if (Number.isInteger(r.natGateways) && r.natGateways < 3) {
        problems.push(
          `${key}.natGateways is ${r.natGateways}: once ${key === 'primary' ? 'active again' : 'promoted'}, a production ` +
            "region's instances must reach the internet through the loss of an AZ (the bootstrap's packages, AWS APIs); " +
            'set it to 3.',
        );
      }
    }
  }
  if (!Number.isInteger(db.backupRetentionDays) || db.backupRetentionDays < 1 || db.backupRetentionDays > 35) {
    problems.push(`database.backupRetentionDays must be 1 to 35 (got ${db.backupRetentionDays}).`);
  }
  if (!ENHANCED_MONITORING_INTERVALS.includes(db.monitoringIntervalSeconds)) {
    problems.push(
      `database.monitoringIntervalSeconds must be one of ${ENHANCED_MONITORING_INTERVALS.join(', ')} ` +
        `(got ${db.monitoringIntervalSeconds}); Enhanced Monitoring stays on in every environment.`,
    );
  }

  const cache = c.cache;
  if (!/^cache\.(m|r)([5-9]|\d{2,})[a-z]*\.[a-z0-9]+$/.test(cache.nodeType)) {
    problems.push(
      `cache.nodeType "${cache.nodeType}" cannot join a Global Datastore; use an m or r node type of generation 5 or later such as "cache.r7g.large".`,
    );
  }
  if (!Number.isInteger(cache.replicasPerRegion) || cache.replicasPerRegion < 1 || cache.replicasPerRegion > 5) {
    problems.push(
      `cache.replicasPerRegion must be 1 to 5: Multi-AZ with automatic failover needs at least one replica (got ${cache.replicasPerRegion}).`,
    );
  }
  if (!/^\d+\.\d+$/.test(cache.engineVersion)) {
    problems.push(`cache.engineVersion "${cache.engineVersion}" must be a Valkey version such as "8.0".`);
  }

  const logDays = c.loadBalancer.accessLogRetentionDays;
  if (!Number.isInteger(logDays) || logDays < 1 || logDays > 3650) {
    problems.push(`loadBalancer.accessLogRetentionDays must be 1 to 3650 (got ${logDays}).`);
  }
  problems.push(...serviceProblems(c));

  const rto = c.regionSwitch.rtoMinutes;
  if (!Number.isInteger(rto) || rto < 5 || rto > 1440) {
    problems.push(`regionSwitch.rtoMinutes must be 5 to 1440 (got ${rto}).`);
  }

  if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(c.alarmEmail)) {
    problems.push(`alarmEmail "${c.alarmEmail}" is not an e-mail address.`);
  }

  if (problems.length > 0) throw new ConfigError(c.name, problems);
}
