/**
 * The workload contract (`config.services`, issue 12): every key's validation, each message naming the key,
 * the value and the fix.
 */
import {
  CapacityConfig,
  dataComponents,
  EnvironmentConfig,
  MAX_SERVICE_SETTINGS,
  routeOf,
  ServiceDefinition,
} from '../../lib/config';
import { catalogService, demo, prod, staging, webService } from '../../lib/config/environments';
import { configProblems } from '../helpers';

const problemsOf = configProblems;

const [web, catalog] = staging.services as [ServiceDefinition, ServiceDefinition];
/** staging with service `index` (0 web, 1 catalog) changed. */
const withService = (index: number, change: Partial<ServiceDefinition>, base = staging): EnvironmentConfig => ({
  ...base,
  services: base.services.map((s, i) => (i === index ? { ...s, ...change } : s)),
});
const withServices = (...services: ServiceDefinition[]): EnvironmentConfig => ({ ...staging, services });

describe('the shipped environments', () => {
  test.each([demo, staging, prod])('$name passes', (config) => {
    expect(problemsOf(config)).toEqual([]);
  });

  test('the reference service is an ordinary entry: a directory artifact built by esbuild, no special key', () => {
    expect(web.artifact).toEqual({ directory: 'service', build: { entry: 'src/server.ts' } });
    expect(web.runCommand).toBe('/usr/bin/node-22 --enable-source-maps server.js');
    expect(web.bootHook).toEqual({ packages: ['nodejs22'] });
  });

  test('the gateway sends /api/catalog/* to the catalog and everything else to the reference service', () => {
    const host = 'eu-west-1.app.staging.example.com';
    expect(routeOf(staging.services, host, '/api/catalog/items')?.name).toBe('catalog');
    expect(routeOf(staging.services, host, '/api/catalog/health/ready')?.name).toBe('catalog');
    expect(routeOf(staging.services, host, '/notes')?.name).toBe('web');
    expect(routeOf(staging.services, host, '/health/ready')?.name).toBe('web');
  });
});

describe('services', () => {
  test('at least one service', () => {
    expect(problemsOf(withServices())).toEqual(['services must list 1 to 10 services (got 0).']);
  });

  test('duplicate names', () => {
    const twin = { ...catalog, routing: { priority: 200, pathPatterns: ['/api/other/*'] } };
    expect(
      problemsOf(
        withServices(web, catalog, { ...twin, readiness: { ...catalog.readiness!, path: '/api/other/ready' } }),
      ),
    ).toContain('services[2].name "catalog" is also services[1].name; names are unique: rename one.');
  });

  test.each(['Web', '1api', 'api-', 'a--b', 'a_b', 'x'.repeat(21)])('rejects the name %j', (name) => {
    expect(problemsOf(withService(1, { name }))).toContain(
      `services[1].name "${name}" must be 1 to 20 lower-case letters, digits and single dashes, starting with a ` +
        'letter (it is part of resource names and paths).',
    );
  });

  test('the old single `service` key names the move', () => {
    expect(problemsOf({ ...staging, service: {} } as unknown as EnvironmentConfig)).toContain(
      'service is not a setting any more: each service is an entry of services (README, "Deploy your own ' +
        'service"); move its keys there.',
    );
  });
});

describe('services[].artifact', () => {
  test('a missing artifact directory', () => {
    expect(problemsOf(withService(1, { artifact: { directory: 'services/nope' } }))).toEqual([
      expect.stringMatching(
        /^services\[1\]\.artifact\.directory "services\/nope" is not a folder \(looked for .*services\/nope\); create it with the service in it, or fix the path \(relative to the repository root\)\.$/,
      ),
    ]);
  });

  test.each(['/etc', '../outside'])('a directory outside the repository: %s', (directory) => {
    expect(problemsOf(withService(1, { artifact: { directory } }))).toEqual([
      `services[1].artifact.directory "${directory}" must be a folder inside the repository, relative to its root ` +
        '(where cdk.json is), so every checkout synthesizes the same asset.',
    ]);
  });

  test('a build entry that is not a file of the directory', () => {
    expect(
      problemsOf(withService(1, { artifact: { directory: 'services/catalog', build: { entry: 'src/main.ts' } } })),
    ).toEqual([
      'services[1].artifact.build.entry "src/main.ts" is not a file of services/catalog; give the entry point ' +
        'relative to the artifact directory, for example "src/server.ts".',
    ]);
  });

  test('an extra source that does not exist', () => {
    const build = { entry: 'src/server.ts', extraSources: ['service/src/nope.ts'] };
    expect(problemsOf(withService(1, { artifact: { directory: 'services/catalog', build } }))).toEqual([
      'services[1].artifact.build.extraSources[0] "service/src/nope.ts" is not a file or folder of the repository ' +
        '(relative to its root); fix the path or remove it.',
    ]);
  });

  test.each([
    ['neither', {}],
    ['both', { directory: 'service', machineImageIds: { primary: 'ami-0123abcd', secondary: 'ami-0123abce' } }],
  ])('%s of directory and machineImageIds', (what, artifact) => {
    expect(problemsOf(withService(1, { artifact }))).toEqual([
      'services[1].artifact must give exactly one of directory (a folder of the repository, packaged as an S3 ' +
        `asset) and machineImageIds (an AMI per region with the service installed) (got ${what}).`,
    ]);
  });

  test.each(['ami-123', 'ami-0123456789ABCDEF0', 'i-0123456789abcdef0'])('an AMI ID of the wrong form: %s', (id) => {
    const artifact = { machineImageIds: { primary: id, secondary: 'ami-0123456789abcdef0' } };
    expect(problemsOf(withService(1, { artifact }))).toEqual([
      `services[1].artifact.machineImageIds.primary ${JSON.stringify(id)} is not an AMI ID (ami- and 8 or 17 ` +
        "hexadecimal digits); use the ID of the service's image in eu-west-1.",
    ]);
  });

  test('one AMI ID for both regions', () => {
    const artifact = { machineImageIds: { primary: 'ami-0123abcd', secondary: 'ami-0123abcd' } };
    expect(problemsOf(withService(1, { artifact }))).toEqual([
      'services[1].artifact.machineImageIds are both "ami-0123abcd"; an AMI ID belongs to one region: copy the ' +
        "image to eu-central-1 (aws ec2 copy-image) and use the copy's ID there.",
    ]);
  });

  test('an image artifact with a build', () => {
    const artifact = {
      machineImageIds: { primary: 'ami-0123abcd', secondary: 'ami-0123abce' },
      build: { entry: 'src/server.ts' },
    };
    expect(problemsOf(withService(1, { artifact }))).toEqual([
      'services[1].artifact.build applies to a directory only; remove it, or use a directory.',
    ]);
  });

  test('an image artifact and a directory without a build are accepted', () => {
    const image = { machineImageIds: { primary: 'ami-0123abcd', secondary: 'ami-0123456789abcdef0' } };
    expect(problemsOf(withService(1, { artifact: image }))).toEqual([]);
    expect(problemsOf(withService(1, { artifact: { directory: 'services/catalog' } }))).toEqual([]);
  });
});

describe('services[].runCommand, bootHook, grants', () => {
  test.each(['node server.js', '/usr/bin/node %n', '/bin/sh -c "a\\nb"', ''])(
    'rejects the run command %j',
    (runCommand) => {
      expect(problemsOf(withService(1, { runCommand }))).toEqual([
        `services[1].runCommand ${JSON.stringify(runCommand)} must be an absolute program path and its arguments on ` +
          'one line, printable ASCII without % or \\ (systemd ExecStart, no shell), for example ' +
          '"/usr/bin/node-22 --enable-source-maps server.js".',
      ]);
    },
  );

  test('rejects a package name that is not one', () => {
    expect(problemsOf(withService(1, { bootHook: { packages: ['nodejs22', 'x; rm -rf /'] } }))).toEqual([
      'services[1].bootHook.packages[1] "x; rm -rf /" is not a package name (letters, digits, . _ + -); give the ' +
        'dnf package name, for example "nodejs22".',
    ]);
  });

  test('rejects a multi-line boot command', () => {
    expect(problemsOf(withService(1, { bootHook: { commands: ['echo a\necho b'] } }))).toEqual([
      'services[1].bootHook.commands[0] "echo a\\necho b" must be one line of 1 to 4,096 printable ASCII ' +
        'characters; split a script into several commands, or ship it in the artifact and call it.',
    ]);
  });

  test.each(['*', 'sqs:*', 'SendMessage'])('rejects the action %j', (action) => {
    const grants = [{ actions: [action], resources: ['arn:aws:sqs:eu-west-1:222222222222:orders'], reason: 'x' }];
    expect(problemsOf(withService(1, { grants }))).toContain(
      `services[1].grants[0].actions entry ${JSON.stringify(action)} is not an IAM action of one service ` +
        '("sqs:SendMessage", or a prefix such as "s3:Get*"); name the actions the service calls, never "*" or ' +
        '"<service>:*".',
    );
  });

  test('rejects a resource that is not an ARN', () => {
    const grants = [{ actions: ['sqs:SendMessage'], resources: ['orders'] }];
    expect(problemsOf(withService(1, { grants }))).toEqual([
      'services[1].grants[0].resources entry "orders" is not an ARN; give the resources\' ARNs (or "*" for an ' +
        'action that takes no resource).',
    ]);
  });

  test('a wildcard needs a reason (the cdk-nag acknowledgement reviewers see)', () => {
    const grants = [{ actions: ['s3:Get*'], resources: ['arn:aws:s3:::reports/*'] }];
    expect(problemsOf(withService(1, { grants }))).toEqual([
      'services[1].grants[0] has a wildcard (s3:Get*, arn:aws:s3:::reports/*) and no reason: say why the service ' +
        'needs it in reason (reviewers see it as the cdk-nag acknowledgement), or name the exact actions and resources.',
    ]);
    expect(problemsOf(withService(1, { grants: [{ ...grants[0]!, reason: 'reads every report' }] }))).toEqual([]);
  });
});

describe('services[].environment and secrets', () => {
  const withEnvironment = (environment: Record<string, string>) => withService(1, { environment });
  const withSecrets = (secrets: ServiceDefinition['secrets']) => withService(1, { secrets });

  test('accepts environment variable names and printable values', () => {
    expect(problemsOf(withEnvironment({ LOG_LEVEL: 'debug', FEATURE_X_2: 'a "quoted" \\ value' }))).toEqual([]);
  });

  test.each(['log_level', '1ST', 'A-B', ''])('rejects the name %j', (name) => {
    expect(problemsOf(withEnvironment({ [name]: 'x' }))).toEqual([
      `services[1].environment has the name "${name}": use capital letters, digits and underscores, starting with ` +
        'a letter (an environment variable name such as "LOG_LEVEL").',
    ]);
  });

  test.each(['PORT', 'DATABASE_PASSWORD', 'SETTINGS_VERSION', 'SERVICE_NAME'])(
    'rejects %s, which the platform sets',
    (name) => {
      expect(problemsOf(withEnvironment({ [name]: 'x' }))).toEqual([
        `services[1].environment.${name} is set by the platform itself (from the stacks, the data components or the ` +
          'instance); remove it, or give the variable another name.',
      ]);
    },
  );

  test.each(['NODE_OPTIONS', 'LD_PRELOAD', 'PATH', 'JAVA_TOOL_OPTIONS'])('rejects the runtime variable %s', (name) => {
    expect(problemsOf(withEnvironment({ [name]: 'x' }))).toEqual([
      `services[1].environment.${name} changes how the runtime or the system loads code or trusts certificates, ` +
        'not a setting of the service; remove it (the boot hook and the artifact decide these).',
    ]);
  });

  test.each(['{{resolve:secretsmanager:haweb/prod/database:SecretString:password}}', '${Token[TOKEN.123]}'])(
    'rejects the value %s, which the deploy would replace',
    (value) => {
      expect(problemsOf(withEnvironment({ GREETING: value }))).toEqual([
        `services[1].environment.GREETING ${JSON.stringify(value)} holds a CloudFormation dynamic reference or a ` +
          'CDK token, which the deploy would replace (a secret would land in a plain parameter); map the secret in ' +
          'services[1].secrets instead.',
      ]);
    },
  );

  test.each([
    ['empty', ''],
    ['a line break', 'a\nb'],
    ['a non-ASCII character', 'café'],
    ['4,097 characters', 'x'.repeat(4097)],
  ])('rejects a value with %s', (_what, value) => {
    expect(problemsOf(withEnvironment({ LOG_LEVEL: value }))).toEqual([
      `services[1].environment.LOG_LEVEL ${JSON.stringify(value)} must be 1 to 4,096 printable ASCII characters ` +
        'without line breaks (a Parameter Store standard parameter read into a systemd environment file).',
    ]);
  });

  test(`rejects more than ${MAX_SERVICE_SETTINGS} variables`, () => {
    const many = Object.fromEntries(Array.from({ length: MAX_SERVICE_SETTINGS + 1 }, (_, i) => [`S${i}`, 'x']));
    expect(problemsOf(withEnvironment(many))).toEqual([
      `services[1].environment has ${MAX_SERVICE_SETTINGS + 1} variables; at most ${MAX_SERVICE_SETTINGS} (each is ` +
        'a CloudFormation resource and a Parameter Store write per region): group related values into one variable.',
    ]);
  });

  test('accepts a secret by name, with or without a JSON key', () => {
    expect(
      problemsOf(
        withSecrets({ API_KEY: { secretName: 'catalog/api-key' }, DB_URL: { secretName: 'x', jsonKey: 'url' } }),
      ),
    ).toEqual([]);
  });

  test('rejects a secret ARN instead of a name', () => {
    const secretName = 'arn:aws:secretsmanager:eu-west-1:222222222222:secret:x'.replace(/:/g, ' ');
    expect(problemsOf(withSecrets({ API_KEY: { secretName } }))).toEqual([
      `services[1].secrets.API_KEY.secretName ${JSON.stringify(secretName)} is not a Secrets Manager secret name ` +
        '(1 to 512 of letters, digits and /_+=.@-); give the name, the same in both regions, not an ARN.',
    ]);
  });

  test('rejects a secret variable the platform sets, or one also in environment', () => {
    expect(problemsOf(withSecrets({ DATABASE_PASSWORD: { secretName: 'x' } }))).toEqual([
      'services[1].secrets.DATABASE_PASSWORD is set by the platform itself (from the stacks, the data components or ' +
        'the instance); remove it, or give the variable another name.',
    ]);
    expect(problemsOf({ ...withSecrets({ LOG_LEVEL: { secretName: 'x' } }) })).toEqual([
      'services[1].secrets.LOG_LEVEL is also in services[1].environment; a variable comes from one place: remove one.',
    ]);
  });

  test('rejects a JSON key with a line break', () => {
    expect(problemsOf(withSecrets({ API_KEY: { secretName: 'x', jsonKey: 'a\nb' } }))).toEqual([
      'services[1].secrets.API_KEY.jsonKey "a\\nb" must be 1 to 256 printable ASCII characters (a key of the ' +
        "secret's JSON value), or be left out to take the whole secret.",
    ]);
  });
});

describe('services[].routing', () => {
  test('the same priority twice', () => {
    expect(problemsOf(withService(1, { routing: { ...catalog.routing, priority: web.routing.priority } }))).toContain(
      'services[1].routing.priority 1000 is also the priority of service "web" (services[0].routing.priority); a ' +
        'listener can\'t have two rules with the same priority, so give "catalog" a free one such as 1001.',
    );
  });

  test('a specific route after the catch-all is shadowed: named, with an example and the fix', () => {
    expect(problemsOf(withService(1, { routing: { priority: 2000, pathPatterns: ['/api/catalog/*'] } }))).toEqual([
      // The readiness path is no longer routed to the catalog either.
      'services[1].readiness.path "/api/catalog/health/ready" on eu-west-1.app.staging.example.com is routed to ' +
        'service "web", not to "catalog": pre-flight and post-check request it through the load balancer; use a ' +
        'path that services[1].routing sends to this service (its hostHeaders must match the regional names too).',
      'services[1].routing: service "catalog" (priority 2000, pathPatterns ["/api/catalog/*"]) is unreachable ' +
        '(shadowed): service "web" (priority 1000, pathPatterns ["/*"]) is evaluated first and matches every request ' +
        '"catalog" matches, for example path "/api/catalog/"; give "catalog" a priority below 1000 so the narrower ' +
        'rule comes first, or narrow "web"\'s patterns so they exclude these requests.',
    ]);
  });

  test('a partial overlap is refused with an example path', () => {
    const a = { ...catalog, routing: { priority: 100, pathPatterns: ['/api/*/items'] } };
    const b = {
      ...catalog,
      name: 'orders',
      routing: { priority: 200, pathPatterns: ['/api/catalog/*'] },
      readiness: { path: '/api/catalog/ready', writablePointer: '/database/writable' },
    };
    const problems = problemsOf(withServices(web, { ...a, readiness: undefined, uses: [] }, b));
    expect(problems.some((p) => p.includes('"catalog"') && p.includes('"orders"') && p.includes('/api/'))).toBe(true);
  });

  test('host routing must reach the readiness path on the regional names', () => {
    const routing = { priority: 100, hostHeaders: ['catalog.example.com'] };
    expect(problemsOf(withService(1, { routing }))).toContain(
      'services[1].readiness.path "/api/catalog/health/ready" on eu-west-1.app.staging.example.com is routed to ' +
        'service "web", not to "catalog": pre-flight and post-check request it through the load balancer; use a ' +
        'path that services[1].routing sends to this service (its hostHeaders must match the regional names too).',
    );
  });

  test('the Route 53 health check path must reach a service', () => {
    const onlyCatalog = withServices(catalog);
    expect(problemsOf(onlyCatalog)).toContain(
      'dns.healthCheckPath "/health/ready" on eu-west-1.app.staging.example.com is routed to no service (the ' +
        "listener answers 404, and Route 53 would take the region out): use the readiness path of the service that decides the region's health.",
    );
    expect(
      problemsOf({ ...onlyCatalog, dns: { ...staging.dns, healthCheckPath: '/api/catalog/health/ready' } }),
    ).toEqual([]);
  });
});

describe('services[].readiness', () => {
  test('a service that uses the database needs a readiness path and its writable pointer', () => {
    expect(problemsOf(withService(1, { readiness: undefined }))).toEqual([
      'services[1].readiness is missing, and the service uses the database: give its readiness path and ' +
        'writablePointer, so post-check can prove the promoted region writes.',
    ]);
    expect(problemsOf(withService(1, { readiness: { path: '/api/catalog/health/ready' } }))).toEqual([
      'services[1].readiness.writablePointer is missing, and the service uses the database: give the JSON pointer ' +
        'to where the readiness body reports a writable database (for example "/database/writable"), so post-check ' +
        'can prove the promoted region writes.',
    ]);
  });

  test('a service without the database may go without readiness', () => {
    expect(problemsOf(withService(1, { uses: [], readiness: undefined }))).toEqual([]);
  });

  test.each(['database/writable', '/a~2b'])('rejects the pointer %j', (writablePointer) => {
    expect(problemsOf(withService(1, { readiness: { path: '/api/catalog/health/ready', writablePointer } }))).toEqual([
      `services[1].readiness.writablePointer ${JSON.stringify(writablePointer)} is not an RFC 6901 JSON pointer of ` +
        'at most 64 characters; use one such as "/database/writable" (escape ~ as ~0 and / as ~1 inside a key).',
    ]);
  });
});

describe('services[] capacity, instance types, health check, rollout, uses', () => {
  const capacity = (primary: CapacityConfig, secondary: CapacityConfig = catalog.capacity.secondary) =>
    withService(1, { capacity: { primary, secondary } });

  test('min above max, fractions, too few in the primary', () => {
    expect(problemsOf(capacity({ min: 5, max: 4 }))).toContain(
      'services[1].capacity.primary must satisfy min <= max (got min 5, max 4); raise max or lower min.',
    );
    expect(problemsOf(capacity({ min: 2.5, max: 4 }))).toEqual([
      'services[1].capacity.primary min/max must be whole numbers >= 0 (got 2.5/4).',
    ]);
    expect(problemsOf(capacity({ min: 1, max: 4 }))).toEqual([
      'services[1].capacity.primary.min must be at least 2 so the region survives the loss of an instance (got 1).',
    ]);
  });

  test("a desired capacity is runtime state (a deploy must not undo the plan's scale-up)", () => {
    const withDesired = { min: 2, desired: 2, max: 4 } as unknown as CapacityConfig;
    expect(problemsOf(capacity(withDesired))).toContain(
      "services[1].capacity.primary.desired is not a setting: the running size is runtime state (scaling and the Region switch plan's " +
        'scale-up change it, and a deploy must not undo them); remove it and set min, the size a new group starts with.',
    );
  });

  test("production: each region's max covers the other's, per service", () => {
    const config = withService(1, { capacity: { primary: { min: 3, max: 6 }, secondary: { min: 2, max: 4 } } }, prod);
    expect(problemsOf(config)).toEqual([
      'services[1].capacity.secondary.max is 4, below services[1].capacity.primary.max 6: the Region switch plan ' +
        "scales the region it activates to the other region's capacity, and the secondary could not take the " +
        "primary's load; set it to 6 or more.",
    ]);
  });

  test.each([
    [['m7g.large'], 'must list at least 2 distinct instance types'],
    [['m7g.large', 'm7g.large'], 'must list at least 2 distinct instance types'],
    [['m7g.large', 'm7i.large'], 'mix Graviton (arm64) and x86 types'],
    [['large', 'm7g.large'], 'entry "large" is not an EC2 instance type'],
  ])('instance types %j', (instanceTypes, message) => {
    expect(problemsOf(withService(1, { instanceTypes }))).toEqual([
      expect.stringContaining(`services[1].instanceTypes`),
    ]);
    expect(problemsOf(withService(1, { instanceTypes }))[0]).toContain(message);
  });

  test.each([
    ['port', { port: 80 }, 'services[1].port must be 1024 to 65535 (got 80).'],
    [
      'healthCheck.intervalSeconds',
      { healthCheck: { ...catalog.healthCheck, intervalSeconds: 2 } },
      'services[1].healthCheck.intervalSeconds must be 5 to 300 (got 2).',
    ],
    [
      'healthCheck.unhealthyThresholdCount',
      { healthCheck: { ...catalog.healthCheck, unhealthyThresholdCount: 1 } },
      'services[1].healthCheck.unhealthyThresholdCount must be 2 to 10 (got 1).',
    ],
    [
      'healthCheck.healthyThresholdCount',
      { healthCheck: { ...catalog.healthCheck, healthyThresholdCount: 11 } },
      'services[1].healthCheck.healthyThresholdCount must be 2 to 10 (got 11).',
    ],
    [
      'healthCheck.path',
      { healthCheck: { ...catalog.healthCheck, path: 'health' } },
      'services[1].healthCheck.path "health" must be a path starting with "/".',
    ],
    [
      'rollout.deregistrationDelaySeconds',
      { rollout: { ...catalog.rollout, deregistrationDelaySeconds: 3601 } },
      'services[1].rollout.deregistrationDelaySeconds must be 0 to 3600 (got 3601).',
    ],
    [
      'rollout.healthCheckGracePeriodSeconds',
      { rollout: { ...catalog.rollout, healthCheckGracePeriodSeconds: -1 } },
      'services[1].rollout.healthCheckGracePeriodSeconds must be 0 to 7200 (got -1).',
    ],
    [
      'rollout.instanceWarmupSeconds',
      { rollout: { ...catalog.rollout, instanceWarmupSeconds: 3601 } },
      'services[1].rollout.instanceWarmupSeconds must be 0 to 3600 (got 3601).',
    ],
    [
      'rollout.targetCpuUtilizationPercent',
      { rollout: { ...catalog.rollout, targetCpuUtilizationPercent: 95 } },
      'services[1].rollout.targetCpuUtilizationPercent must be 10 to 90 (got 95).',
    ],
    [
      'rollout.rollback5xxPerMinute',
      { rollout: { ...catalog.rollout, rollback5xxPerMinute: 0 } },
      'services[1].rollout.rollback5xxPerMinute must be 1 to 100000 (got 0).',
    ],
    [
      'uses',
      { uses: ['database', 'queue'] as unknown as ServiceDefinition['uses'] },
      'services[1].uses [database, queue] must list distinct data components among database, sessionCache, sharedFiles.',
    ],
  ])('%s', (_key, change, message) => {
    expect(problemsOf(withService(1, change as Partial<ServiceDefinition>))).toEqual([message]);
  });
});

describe('data components follow the services', () => {
  test('what the shipped environments create', () => {
    expect(dataComponents(demo)).toEqual(['database', 'sessionCache', 'sharedFiles']);
    expect(dataComponents(withServices(catalog))).toEqual(['database']);
    expect(dataComponents(withServices({ ...catalog, uses: [] }))).toEqual([]);
  });

  test('the example service builders keep their keys overridable', () => {
    const cap = { primary: { min: 2, max: 2 }, secondary: { min: 1, max: 2 } };
    expect(webService(cap, ['m7g.large', 'c7g.large'], { port: 9000 }).port).toBe(9000);
    expect(catalogService(cap, ['m7g.large', 'c7g.large']).uses).toEqual(['database']);
  });
});

describe('what only the services together can get wrong (found by a review of the first version)', () => {
  test('a boot hook command that does not parse is refused before it breaks the boot script', () => {
    for (const command of ['echo "unterminated', 'if true; then echo']) {
      const problems = problemsOf(withService(1, { bootHook: { commands: [command] } }));
      expect(problems).toEqual([
        expect.stringContaining(
          `services[1].bootHook.commands[0] ${JSON.stringify(command)} is not a complete bash command (`,
        ),
      ]);
      expect(problems[0]).toContain('close its quotes and brackets');
    }
    // A trailing comment is fine: the subshell's parenthesis is on a line of its own.
    expect(problemsOf(withService(1, { bootHook: { commands: ['npm ci --omit=dev # dependencies'] } }))).toEqual([]);
  });

  test('two names that differ only by dashes (the same resource and output names)', () => {
    const twin = (name: string, priority: number) => ({
      ...catalog,
      name,
      uses: [],
      readiness: undefined,
      routing: { priority, pathPatterns: [`/api/${name}/*`] },
    });
    expect(problemsOf(withServices(web, twin('hello2', 10), twin('hello-2', 20)))).toEqual([
      'services names "hello2" and "hello-2" differ only by dashes (both Hello2 in resource and output names); rename one.',
    ]);
  });

  test('more environment variables together than the App stacks can hold (web has 1 in staging)', () => {
    const many = (prefix: string) => Object.fromEntries(Array.from({ length: 45 }, (_, i) => [`${prefix}${i}`, 'x']));
    const services = ['a', 'b', 'c', 'd', 'e'].map((n, i) => ({
      ...catalog,
      name: `svc-${n}`,
      uses: [],
      readiness: undefined,
      environment: many('V'),
      routing: { priority: 10 + i, pathPatterns: [`/api/${n}/*`] },
    }));
    expect(problemsOf(withServices(web, ...services))).toEqual([
      'services hold 226 environment variables together; at most 200 (each is a CloudFormation resource of both App ' +
        'stacks, 500 at most per stack): group related values into one.',
    ]);
  });

  test('x86 and Graviton services on one pinned base image', () => {
    const x86 = { ...catalog, instanceTypes: ['m7i.large', 'm6i.large'] };
    expect(problemsOf(withService(1, x86))).toEqual([
      'primary.machineImageId "ami-05a90000000000001" is the one image of every service with a directory artifact, ' +
        'and their instance types mix arm64 (web) and x86_64 (catalog): use one architecture for them, give the ' +
        'others an image artifact (machineImageIds), or remove machineImageId (the latest Amazon Linux 2023 of each ' +
        'architecture is then pinned in cdk.context.json).',
      expect.stringContaining('secondary.machineImageId "ami-05a90000000000002" is the one image'),
    ]);
    const unpinned = {
      ...staging,
      primary: { ...staging.primary, machineImageId: undefined },
      secondary: { ...staging.secondary, machineImageId: undefined },
    };
    expect(problemsOf(withService(1, x86, unpinned))).toEqual([]);
  });

  test('a host header that neither the certificate nor DNS serves', () => {
    const routing = { priority: 100, pathPatterns: ['/api/catalog/*'], hostHeaders: ['catalog.example.org'] };
    expect(problemsOf(withService(1, { routing }))).toContain(
      'services[1].routing.hostHeaders[0] "catalog.example.org" matches none of the names the load balancer\'s ' +
        'certificate and DNS serve (app.staging.example.com, eu-west-1.app.staging.example.com, ' +
        'eu-central-1.app.staging.example.com): no request for it reaches the listener; use one of them, or a pattern of them.',
    );
    // The service name and the regional names, by pattern, are served.
    const served = {
      priority: 100,
      pathPatterns: ['/api/catalog/*'],
      hostHeaders: ['*.app.staging.example.com', 'app.staging.example.com'],
    };
    expect(problemsOf(withService(1, { routing: served }))).toEqual([]);
  });

  test('a readiness path longer than 100 characters (the switch functions hold every one within 4 KB)', () => {
    const path = `/api/catalog/${'x'.repeat(100)}`;
    expect(problemsOf(withService(1, { readiness: { path, writablePointer: '/database/writable' } }))).toEqual([
      `services[1].readiness.path "${path}" must be a path starting with "/", at most 100 characters (the switch ` +
        "functions' environment holds every service's, within Lambda's 4 KB).",
    ]);
  });
});

describe('services[].artifact.exclude', () => {
  test('files left out of a plain directory; refused with a build or an image', () => {
    expect(
      problemsOf(withService(1, { artifact: { directory: 'services/catalog', exclude: ['.env', 'src/*.test.ts'] } })),
    ).toEqual([]);
    expect(problemsOf(withService(1, { artifact: { ...catalog.artifact, exclude: ['.env'] } }))).toEqual([
      "services[1].artifact.exclude applies to a directory without a build (a build's asset holds only the bundle); remove it.",
    ]);
    expect(problemsOf(withService(1, { artifact: { directory: 'services/catalog', exclude: [' x', ''] } }))).toEqual([
      'services[1].artifact.exclude[0] " x" must be a glob pattern of 1 to 256 printable ASCII characters, as in .gitignore (for example ".env").',
      'services[1].artifact.exclude[1] "" must be a glob pattern of 1 to 256 printable ASCII characters, as in .gitignore (for example ".env").',
    ]);
  });
});
