import { ConfigError, DEFAULT_ENVIRONMENT, ENVIRONMENTS, loadEnvironmentConfig } from '../../lib/config';
import { demo } from '../../lib/config/environments';

describe('environments', () => {
  test.each(Object.keys(ENVIRONMENTS))('%s is valid', (name) => {
    expect(loadEnvironmentConfig(name).name).toBe(name);
  });

  test('demo, staging and prod exist', () => {
    expect(Object.keys(ENVIRONMENTS)).toEqual(expect.arrayContaining(['demo', 'staging', 'prod']));
  });

  test('demo is the default when no environment is named', () => {
    expect(DEFAULT_ENVIRONMENT).toBe('demo');
    expect(loadEnvironmentConfig(undefined)).toBe(demo);
  });

  test('every environment uses two distinct regions with disjoint CIDRs across all environments', () => {
    const cidrs = Object.values(ENVIRONMENTS).flatMap((e) => [e.primary.vpcCidr, e.secondary.vpcCidr]);
    expect(new Set(cidrs).size).toBe(cidrs.length);
  });

  test('only prod turns on the production guards', () => {
    expect(
      Object.values(ENVIRONMENTS)
        .filter((e) => e.production)
        .map((e) => e.name),
    ).toEqual(['prod']);
  });

  test("the secondary of every environment starts no larger than its primary (warm standby) and may grow to the primary's size", () => {
    for (const { capacity } of Object.values(ENVIRONMENTS).flatMap((e) => e.services)) {
      expect(capacity.secondary.min).toBeLessThanOrEqual(capacity.primary.min);
      expect(capacity.secondary.max).toBeGreaterThanOrEqual(capacity.primary.min);
    }
  });

  test('staging and prod run the catalog example next to the reference service; demo runs the reference service', () => {
    const names = (e: keyof typeof ENVIRONMENTS) => ENVIRONMENTS[e]!.services.map((s) => s.name);
    expect(names('demo')).toEqual(['web']);
    expect(names('staging')).toEqual(['web', 'catalog']);
    expect(names('prod')).toEqual(['web', 'catalog']);
  });

  test('an unknown environment names the known ones and where to add one', () => {
    expect(() => loadEnvironmentConfig('qa')).toThrow(
      'env "qa" is not a known environment; pass -c env=<name> with one of: demo, staging, prod, ' +
        'or add yours to lib/config/environments.ts.',
    );
  });

  test('an environment whose name differs from its key is refused', () => {
    expect(() => loadEnvironmentConfig('qa', { qa: demo })).toThrow(ConfigError);
    expect(() => loadEnvironmentConfig('qa', { qa: demo })).toThrow(
      'name "demo" differs from its key "qa" in ENVIRONMENTS; make them equal.',
    );
  });

  test('an invalid environment is refused when loaded', () => {
    expect(() => loadEnvironmentConfig('bad', { bad: { ...demo, name: 'bad', account: '1' } })).toThrow(
      'account "1" must be a 12-digit AWS account ID.',
    );
  });
});
