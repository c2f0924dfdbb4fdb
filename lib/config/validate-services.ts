import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { servicePascalName } from '../stack-outputs';
import { routingProblems } from './routing';
import { DATA_COMPONENTS, EnvironmentConfig, MAX_SERVICES, ServiceDefinition } from './types';

/** The repository root, against which artifact directories are resolved (where `cdk.json` is). */
export const REPOSITORY_ROOT = path.join(__dirname, '..', '..');

/**
 * The environment variables the platform sets itself (lib/constructs/service-bootstrap.ts: from the stacks, the
 * data components' secrets and the instance); a service's `environment` and `secrets` may not name them.
 * test/constructs/service-bootstrap.test.ts checks this list against the script.
 */
export const SERVICE_RESERVED_VARIABLES: readonly string[] = [
  'SERVICE_NAME',
  'SERVICE_VERSION',
  'SETTINGS_VERSION',
  'INSTANCE_ID',
  'PORT',
  'HOST',
  'TRUSTED_PROXY_HOPS',
  'DATABASE_HOST',
  'DATABASE_PORT',
  'DATABASE_READER_HOST',
  'DATABASE_NAME',
  'DATABASE_USER',
  'DATABASE_AUTH',
  'DATABASE_REGION',
  // Not set by the deploy (it signs in with IAM tokens), but reserved: how a service signs in is the platform's.
  'DATABASE_PASSWORD',
  'DATABASE_PASSWORD_FILE',
  'DATABASE_SSL',
  'DATABASE_SSL_CA',
  'REDIS_HOST',
  'REDIS_PORT',
  'REDIS_PASSWORD',
  'REDIS_TLS',
  'FILES_DIR',
  'COOKIE_SECURE',
  'SHUTDOWN_DRAIN_SECONDS',
  'SHUTDOWN_TIMEOUT_SECONDS',
];

/** Most settings one service's `environment` may hold: each is a CloudFormation resource and a Parameter Store write per region. */
export const MAX_SERVICE_SETTINGS = 50;

/** Most secrets one service may map (each is a Secrets Manager read at every boot). */
export const MAX_SERVICE_SECRETS = 20;

/** Variables that change how a runtime or the dynamic loader runs code or trusts TLS: never a service setting. */
const RUNTIME_VARIABLES =
  /^(PATH|LD_[A-Z0-9_]*|NODE_OPTIONS|NODE_TLS_REJECT_UNAUTHORIZED|NODE_EXTRA_CA_CERTS|NODE_PATH|PYTHONPATH|JAVA_TOOL_OPTIONS)$/;

/** A service name: 1 to 20 lower-case letters, digits and single dashes, starting with a letter, not ending in a dash. */
const SERVICE_NAME = /^[a-z](?:[a-z0-9]|-(?=[a-z0-9])){0,19}$/;

/** An AMI ID: `ami-` and 8 or 17 hexadecimal digits. */
export const AMI_ID = /^ami-([0-9a-f]{8}|[0-9a-f]{17})$/;

/**
 * bash's complaint about `command` as a script of its own (`bash -n`: parsed, never run), or undefined when it
 * parses. bash is on every machine this app synthesizes on (Debian/Ubuntu, Amazon Linux).
 */
export function bashSyntaxError(command: string): string | undefined {
  const result = spawnSync('bash', ['-n'], { input: `${command}\n`, encoding: 'utf8', timeout: 10_000 });
  if (result.error) throw new Error(`bash -n could not run to check a boot hook command: ${result.error.message}`);
  if (result.status === 0) return undefined;
  return (
    result.stderr
      .trim()
      .split('\n')
      .map((l) => l.replace(/^bash: (line \d+: )?/, ''))
      .join('; ') || 'bash -n failed'
  );
}

/** Whether an EC2 instance type is a Graviton (arm64) type: its family carries a `g` after the generation digit (m7g, c7gn, t4g, r8gd). */
export function isGravitonInstanceType(instanceType: string): boolean {
  return /^[a-z]+\d+g/.test(instanceType);
}

/** Whether `text` matches an ALB-style glob (`*` any run of characters, `?` one), optionally ignoring case. */
export function globMatches(pattern: string, text: string, caseInsensitive = false): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`, caseInsensitive ? 'is' : 's').test(text);
}

/**
 * The service the shared listener sends `path` on `host` to: the rule of lowest priority whose conditions match,
 * or undefined (the listener's default action, a 404).
 */
export function routeOf(
  services: readonly ServiceDefinition[],
  host: string,
  requestPath: string,
): ServiceDefinition | undefined {
  return [...services]
    .sort((a, b) => a.routing.priority - b.routing.priority)
    .find(
      (s) =>
        (s.routing.pathPatterns ?? ['*']).some((p) => globMatches(p, requestPath)) &&
        (s.routing.hostHeaders ?? ['*']).some((h) => globMatches(h, host, true)),
    );
}

/** The regional names of an environment (`<region>.<domainName>`), which pre-flight, post-check and Route 53 use. */
export function regionalDomainNames(c: EnvironmentConfig): string[] {
  return [c.primary, c.secondary].map((r) => `${r.region}.${c.dns.domainName}`);
}

function checkVariableName(key: string, name: string, problems: string[]): boolean {
  if (!/^[A-Z][A-Z0-9_]{0,127}$/.test(name)) {
    problems.push(
      `${key} has the name "${name}": use capital letters, digits and underscores, starting with a letter (an ` +
        'environment variable name such as "LOG_LEVEL").',
    );
    return false;
  }
  if (SERVICE_RESERVED_VARIABLES.includes(name)) {
    problems.push(
      `${key}.${name} is set by the platform itself (from the stacks, the data components or the instance); remove ` +
        'it, or give the variable another name.',
    );
    return false;
  }
  if (RUNTIME_VARIABLES.test(name)) {
    problems.push(
      `${key}.${name} changes how the runtime or the system loads code or trusts certificates, not a setting of the ` +
        'service; remove it (the boot hook and the artifact decide these).',
    );
    return false;
  }
  return true;
}

function checkArtifact(key: string, s: ServiceDefinition, c: EnvironmentConfig, problems: string[]): void {
  const a = s.artifact;
  const hasDirectory = a.directory !== undefined;
  const hasImages = a.machineImageIds !== undefined;
  if (hasDirectory === hasImages) {
    problems.push(
      `${key}.artifact must give exactly one of directory (a folder of the repository, packaged as an S3 asset) and ` +
        `machineImageIds (an AMI per region with the service installed) (got ${hasDirectory ? 'both' : 'neither'}).`,
    );
    return;
  }
  if (a.exclude !== undefined && (hasImages || a.build)) {
    problems.push(
      `${key}.artifact.exclude applies to a directory without a build (a build's asset holds only the bundle); ` +
        'remove it.',
    );
  }
  (a.exclude ?? []).forEach((pattern, i) => {
    if (!/^[\x21-\x7e][\x20-\x7e]{0,255}$/.test(pattern)) {
      problems.push(
        `${key}.artifact.exclude[${i}] ${JSON.stringify(pattern)} must be a glob pattern of 1 to 256 printable ` +
          'ASCII characters, as in .gitignore (for example ".env").',
      );
    }
  });
  if (hasImages) {
    if (a.build) problems.push(`${key}.artifact.build applies to a directory only; remove it, or use a directory.`);
    const ids = a.machineImageIds!;
    for (const role of ['primary', 'secondary'] as const) {
      if (!AMI_ID.test(ids[role] ?? '')) {
        problems.push(
          `${key}.artifact.machineImageIds.${role} ${JSON.stringify(ids[role])} is not an AMI ID (ami- and 8 or 17 ` +
            `hexadecimal digits); use the ID of the service's image in ${c[role].region}.`,
        );
      }
    }
    if (ids.primary === ids.secondary) {
      problems.push(
        `${key}.artifact.machineImageIds are both "${ids.primary}"; an AMI ID belongs to one region: copy the image ` +
          `to ${c.secondary.region} (aws ec2 copy-image) and use the copy's ID there.`,
      );
    }
    return;
  }
  const dir = a.directory!;
  const full = path.resolve(REPOSITORY_ROOT, dir);
  const inside = (p: string) => p === REPOSITORY_ROOT || p.startsWith(REPOSITORY_ROOT + path.sep);
  if (path.isAbsolute(dir) || !inside(full)) {
    problems.push(
      `${key}.artifact.directory "${dir}" must be a folder inside the repository, relative to its root (where ` +
        'cdk.json is), so every checkout synthesizes the same asset.',
    );
    return;
  }
  if (!fs.existsSync(full) || !fs.statSync(full).isDirectory()) {
    problems.push(
      `${key}.artifact.directory "${dir}" is not a folder (looked for ${full}); create it with the service in it, ` +
        'or fix the path (relative to the repository root).',
    );
    return;
  }
  if (a.build) {
    const entry = path.resolve(full, a.build.entry);
    if (!inside(entry) || !fs.existsSync(entry) || !fs.statSync(entry).isFile()) {
      problems.push(
        `${key}.artifact.build.entry "${a.build.entry}" is not a file of ${dir}; give the entry point relative to ` +
          'the artifact directory, for example "src/server.ts".',
      );
    }
    (a.build.extraSources ?? []).forEach((extra, i) => {
      const p = path.resolve(REPOSITORY_ROOT, extra);
      if (path.isAbsolute(extra) || !inside(p) || !fs.existsSync(p)) {
        problems.push(
          `${key}.artifact.build.extraSources[${i}] "${extra}" is not a file or folder of the repository (relative ` +
            'to its root); fix the path or remove it.',
        );
      }
    });
  }
}

function checkCapacity(key: string, s: ServiceDefinition, c: EnvironmentConfig, problems: string[]): void {
  for (const [role, minInstances] of [
    ['primary', 2],
    ['secondary', 1],
  ] as const) {
    const cap = s.capacity[role];
    const k = `${key}.capacity.${role}`;
    if ('desired' in cap) {
      problems.push(
        `${k}.desired is not a setting: the running size is runtime state (scaling and the Region switch plan's ` +
          'scale-up change it, and a deploy must not undo them); remove it and set min, the size a new group starts with.',
      );
    }
    const { min, max } = cap;
    if (![min, max].every((n) => Number.isInteger(n) && n >= 0)) {
      problems.push(`${k} min/max must be whole numbers >= 0 (got ${min}/${max}).`);
      continue;
    }
    if (min > max) problems.push(`${k} must satisfy min <= max (got min ${min}, max ${max}); raise max or lower min.`);
    if (min < minInstances) {
      problems.push(
        `${k}.min must be at least ${minInstances} so the region survives the loss of an instance (got ${min}).`,
      );
    }
    const other = role === 'primary' ? 'secondary' : 'primary';
    if (c.production && max < s.capacity[other].max) {
      problems.push(
        `${k}.max is ${max}, below ${key}.capacity.${other}.max ${s.capacity[other].max}: the Region switch plan ` +
          `scales the region it activates to the other region's capacity, and the ${role} could not take the ` +
          `${other}'s load; set it to ${s.capacity[other].max} or more.`,
      );
    }
  }
}

function checkInstanceTypes(key: string, types: readonly string[], problems: string[]): void {
  const malformed = types.filter((t) => !/^[a-z][a-z0-9-]*\.[a-z0-9]+$/.test(t));
  for (const t of malformed) {
    problems.push(`${key}.instanceTypes entry "${t}" is not an EC2 instance type; use one such as "t3.small".`);
  }
  if (types.length < 2 || new Set(types).size !== types.length) {
    problems.push(
      `${key}.instanceTypes [${types.join(', ')}] must list at least 2 distinct instance types, in order of ` +
        'preference, so a shortage of one type does not stop a scale-up; add an equivalent type such as "t3a.small" ' +
        'next to "t3.small".',
    );
  }
  if (malformed.length === 0 && new Set(types.map(isGravitonInstanceType)).size > 1) {
    problems.push(
      `${key}.instanceTypes [${types.join(', ')}] mix Graviton (arm64) and x86 types; the launch template has one ` +
        'AMI, so list types of one architecture only.',
    );
  }
}

function checkEnvironmentAndSecrets(key: string, s: ServiceDefinition, problems: string[]): void {
  const settings = Object.entries(s.environment ?? {});
  if (settings.length > MAX_SERVICE_SETTINGS) {
    problems.push(
      `${key}.environment has ${settings.length} variables; at most ${MAX_SERVICE_SETTINGS} (each is a ` +
        'CloudFormation resource and a Parameter Store write per region): group related values into one variable.',
    );
  }
  for (const [name, value] of settings) {
    checkVariableName(`${key}.environment`, name, problems);
    if (typeof value !== 'string' || !/^[\x20-\x7e]{1,4096}$/.test(value)) {
      problems.push(
        `${key}.environment.${name} ${JSON.stringify(value)} must be 1 to 4,096 printable ASCII characters without ` +
          'line breaks (a Parameter Store standard parameter read into a systemd environment file).',
      );
    } else if (/\{\{resolve:|\$\{Token\[/.test(value)) {
      problems.push(
        `${key}.environment.${name} ${JSON.stringify(value)} holds a CloudFormation dynamic reference or a CDK ` +
          'token, which the deploy would replace (a secret would land in a plain parameter); map the secret in ' +
          `${key}.secrets instead.`,
      );
    }
  }
  const secrets = Object.entries(s.secrets ?? {});
  if (secrets.length > MAX_SERVICE_SECRETS) {
    problems.push(
      `${key}.secrets has ${secrets.length} entries; at most ${MAX_SERVICE_SECRETS}: group values in one JSON secret.`,
    );
  }
  for (const [name, secret] of secrets) {
    if (!checkVariableName(`${key}.secrets`, name, problems)) continue;
    if (s.environment && name in s.environment) {
      problems.push(
        `${key}.secrets.${name} is also in ${key}.environment; a variable comes from one place: remove one.`,
      );
    }
    if (!/^[A-Za-z0-9/_+=.@-]{1,512}$/.test(secret.secretName ?? '')) {
      problems.push(
        `${key}.secrets.${name}.secretName ${JSON.stringify(secret.secretName)} is not a Secrets Manager secret ` +
          'name (1 to 512 of letters, digits and /_+=.@-); give the name, the same in both regions, not an ARN.',
      );
    }
    if (secret.jsonKey !== undefined && !/^[\x20-\x7e]{1,256}$/.test(secret.jsonKey)) {
      problems.push(
        `${key}.secrets.${name}.jsonKey ${JSON.stringify(secret.jsonKey)} must be 1 to 256 printable ASCII ` +
          "characters (a key of the secret's JSON value), or be left out to take the whole secret.",
      );
    }
  }
}

function checkBootAndGrants(key: string, s: ServiceDefinition, problems: string[]): void {
  if (!/^\/[^\s%\\]*( [\x20-\x7e]+)?$/.test(s.runCommand) || /[%\\\n]/.test(s.runCommand)) {
    problems.push(
      `${key}.runCommand ${JSON.stringify(s.runCommand)} must be an absolute program path and its arguments on one ` +
        'line, printable ASCII without % or \\ (systemd ExecStart, no shell), for example ' +
        '"/usr/bin/node-22 --enable-source-maps server.js".',
    );
  }
  (s.bootHook?.packages ?? []).forEach((p, i) => {
    if (!/^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/.test(p)) {
      problems.push(
        `${key}.bootHook.packages[${i}] ${JSON.stringify(p)} is not a package name (letters, digits, . _ + -); ` +
          'give the dnf package name, for example "nodejs22".',
      );
    }
  });
  (s.bootHook?.commands ?? []).forEach((cmd, i) => {
    if (!/^[\x20-\x7e]{1,4096}$/.test(cmd)) {
      problems.push(
        `${key}.bootHook.commands[${i}] ${JSON.stringify(cmd)} must be one line of 1 to 4,096 printable ASCII ` +
          'characters; split a script into several commands, or ship it in the artifact and call it.',
      );
      return;
    }
    const syntax = bashSyntaxError(cmd);
    if (syntax !== undefined) {
      problems.push(
        `${key}.bootHook.commands[${i}] ${JSON.stringify(cmd)} is not a complete bash command (${syntax}); close ` +
          'its quotes and brackets: it would stop the boot script, and the instance would never start the service.',
      );
    }
  });
  (s.grants ?? []).forEach((g, i) => {
    const k = `${key}.grants[${i}]`;
    if (g.actions.length === 0 || g.resources.length === 0) {
      problems.push(`${k} needs at least one action and one resource.`);
    }
    for (const action of g.actions) {
      if (!/^[a-z0-9-]+:[A-Za-z0-9]+\*?$/.test(action) && !/^[a-z0-9-]+:[A-Z][A-Za-z0-9]*\*$/.test(action)) {
        problems.push(
          `${k}.actions entry ${JSON.stringify(action)} is not an IAM action of one service ("sqs:SendMessage", ` +
            'or a prefix such as "s3:Get*"); name the actions the service calls, never "*" or "<service>:*".',
        );
      }
    }
    if ([...g.actions, ...g.resources].some((v) => v.includes('*')) && !(g.reason ?? '').trim()) {
      problems.push(
        `${k} has a wildcard (${[...g.actions, ...g.resources].filter((v) => v.includes('*')).join(', ')}) and no ` +
          'reason: say why the service needs it in reason (reviewers see it as the cdk-nag acknowledgement), or ' +
          'name the exact actions and resources.',
      );
    }
    for (const resource of g.resources) {
      if (resource !== '*' && !/^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12})?:.+$/.test(resource)) {
        problems.push(
          `${k}.resources entry ${JSON.stringify(resource)} is not an ARN; give the resources' ARNs (or "*" for an ` +
            'action that takes no resource).',
        );
      }
    }
  });
}

function checkHealth(key: string, s: ServiceDefinition, c: EnvironmentConfig, problems: string[]): void {
  const between = (k: string, v: number, lo: number, hi: number): void => {
    if (!Number.isInteger(v) || v < lo || v > hi) problems.push(`${key}.${k} must be ${lo} to ${hi} (got ${v}).`);
  };
  between('port', s.port, 1024, 65535);
  between('healthCheck.intervalSeconds', s.healthCheck.intervalSeconds, 5, 300);
  between('healthCheck.unhealthyThresholdCount', s.healthCheck.unhealthyThresholdCount, 2, 10);
  between('healthCheck.healthyThresholdCount', s.healthCheck.healthyThresholdCount, 2, 10);
  between('rollout.deregistrationDelaySeconds', s.rollout.deregistrationDelaySeconds, 0, 3600);
  between('rollout.healthCheckGracePeriodSeconds', s.rollout.healthCheckGracePeriodSeconds, 0, 7200);
  between('rollout.instanceWarmupSeconds', s.rollout.instanceWarmupSeconds, 0, 3600);
  between('rollout.targetCpuUtilizationPercent', s.rollout.targetCpuUtilizationPercent, 10, 90);
  between('rollout.rollback5xxPerMinute', s.rollout.rollback5xxPerMinute, 1, 100000);
  if (!/^\/[\x21-\x7e]{0,1023}$/.test(s.healthCheck.path)) {
    problems.push(`${key}.healthCheck.path ${JSON.stringify(s.healthCheck.path)} must be a path starting with "/".`);
  }
  const usesDatabase = s.uses.includes('database');
  const r = s.readiness;
  if (!r) {
    if (usesDatabase) {
      problems.push(
        `${key}.readiness is missing, and the service uses the database: give its readiness path and ` +
          'writablePointer, so post-check can prove the promoted region writes.',
      );
    }
    return;
  }
  if (!/^\/[\x21-\x7e]{0,99}$/.test(r.path)) {
    problems.push(
      `${key}.readiness.path ${JSON.stringify(r.path)} must be a path starting with "/", at most 100 characters ` +
        "(the switch functions' environment holds every service's, within Lambda's 4 KB).",
    );
  } else {
    for (const host of regionalDomainNames(c)) {
      const routed = routeOf(c.services, host, r.path);
      if (routed !== s) {
        problems.push(
          `${key}.readiness.path "${r.path}" on ${host} is routed to ${routed ? `service "${routed.name}"` : 'no service (404)'}, ` +
            `not to "${s.name}": pre-flight and post-check request it through the load balancer; use a path that ` +
            `${key}.routing sends to this service (its hostHeaders must match the regional names too).`,
        );
        break;
      }
    }
  }
  if (r.writablePointer === undefined) {
    if (usesDatabase) {
      problems.push(
        `${key}.readiness.writablePointer is missing, and the service uses the database: give the JSON pointer to ` +
          'where the readiness body reports a writable database (for example "/database/writable"), so post-check ' +
          'can prove the promoted region writes.',
      );
    }
  } else if (!/^(\/([^~/]|~[01])*)+$/.test(r.writablePointer) || r.writablePointer.length > 64) {
    problems.push(
      `${key}.readiness.writablePointer ${JSON.stringify(r.writablePointer)} is not an RFC 6901 JSON pointer of at ` +
        'most 64 characters; use one such as "/database/writable" (escape ~ as ~0 and / as ~1 inside a key).',
    );
  }
}

/**
 * Most `environment` variables of all services together: each is a resource of both App stacks, and a stack holds
 * at most 500 (CloudFormation quotas); a service's own resources take about 15 more each.
 */
export const MAX_TOTAL_SETTINGS = 200;

/** What only the services together can get wrong. */
function environmentWideProblems(c: EnvironmentConfig): string[] {
  const problems: string[] = [];
  const services = c.services;
  // Construct IDs and output keys hold the name in Pascal case: `hello-2` and `hello2` would be the same.
  const byPascal = new Map<string, string>();
  for (const s of services) {
    const pascal = servicePascalName(s.name);
    const other = byPascal.get(pascal);
    if (other !== undefined && other !== s.name) {
      problems.push(
        `services names "${other}" and "${s.name}" differ only by dashes (both ${pascal} in resource and output ` +
          'names); rename one.',
      );
    }
    byPascal.set(pascal, s.name);
  }
  const total = services.reduce((n, s) => n + Object.keys(s.environment ?? {}).length, 0);
  if (total > MAX_TOTAL_SETTINGS) {
    problems.push(
      `services hold ${total} environment variables together; at most ${MAX_TOTAL_SETTINGS} (each is a ` +
        'CloudFormation resource of both App stacks, 500 at most per stack): group related values into one.',
    );
  }
  // One pinned base image per region serves every directory artifact: one CPU architecture.
  const onBase = services.filter(
    (s) =>
      s.artifact.directory !== undefined &&
      s.instanceTypes.length > 0 &&
      s.instanceTypes.every((t) => /^[a-z][a-z0-9-]*\.[a-z0-9]+$/.test(t)),
  );
  const arch = (s: ServiceDefinition) => (isGravitonInstanceType(s.instanceTypes[0]!) ? 'arm64' : 'x86_64');
  const archs = [...new Set(onBase.map(arch))];
  for (const role of ['primary', 'secondary'] as const) {
    const image = c[role].machineImageId;
    if (image === undefined || archs.length < 2) continue;
    const list = archs.map(
      (a) =>
        `${a} (${onBase
          .filter((s) => arch(s) === a)
          .map((s) => s.name)
          .join(', ')})`,
    );
    problems.push(
      `${role}.machineImageId "${image}" is the one image of every service with a directory artifact, and their ` +
        `instance types mix ${list.join(' and ')}: use one architecture for them, give the others an image ` +
        'artifact (machineImageIds), or remove machineImageId (the latest Amazon Linux 2023 of each ' +
        'architecture is then pinned in cdk.context.json).',
    );
  }
  // A host name the listener can be asked for: the certificate and DNS serve the service name and the regional ones.
  const served = [c.dns.domainName, ...regionalDomainNames(c)];
  services.forEach((s, i) => {
    (s.routing.hostHeaders ?? []).forEach((host, j) => {
      if (!served.some((name) => globMatches(host, name, true))) {
        problems.push(
          `services[${i}].routing.hostHeaders[${j}] "${host}" matches none of the names the load balancer's ` +
            `certificate and DNS serve (${served.join(', ')}): no request for it reaches the listener; use one of ` +
            'them, or a pattern of them.',
        );
      }
    });
  });
  return problems;
}

/** Every problem of `c.services`, each naming the key, the value and the fix. */
export function serviceProblems(c: EnvironmentConfig): string[] {
  const problems: string[] = [];
  const services = c.services ?? [];
  if ('service' in c) {
    problems.push(
      'service is not a setting any more: each service is an entry of services (README, "Deploy your own ' +
        'service"); move its keys there.',
    );
  }
  if (services.length < 1 || services.length > MAX_SERVICES) {
    problems.push(`services must list 1 to ${MAX_SERVICES} services (got ${services.length}).`);
    return problems;
  }
  const seen = new Map<string, number>();
  services.forEach((s, i) => {
    const key = `services[${i}]`;
    if (!SERVICE_NAME.test(s.name)) {
      problems.push(
        `${key}.name "${s.name}" must be 1 to 20 lower-case letters, digits and single dashes, starting with a ` +
          'letter (it is part of resource names and paths).',
      );
    }
    const first = seen.get(s.name);
    if (first !== undefined) {
      problems.push(`${key}.name "${s.name}" is also services[${first}].name; names are unique: rename one.`);
    } else {
      seen.set(s.name, i);
    }
    checkArtifact(key, s, c, problems);
    checkBootAndGrants(key, s, problems);
    checkEnvironmentAndSecrets(key, s, problems);
    checkInstanceTypes(key, s.instanceTypes, problems);
    checkCapacity(key, s, c, problems);
    checkHealth(key, s, c, problems);
    const unknown = s.uses.filter((u) => !DATA_COMPONENTS.includes(u));
    if (unknown.length > 0 || new Set(s.uses).size !== s.uses.length) {
      problems.push(
        `${key}.uses [${s.uses.join(', ')}] must list distinct data components among ${DATA_COMPONENTS.join(', ')}.`,
      );
    }
  });
  problems.push(...routingProblems(services, (i) => `services[${i}].routing`));
  problems.push(...environmentWideProblems(c));
  for (const host of regionalDomainNames(c)) {
    if (!routeOf(services, host, c.dns.healthCheckPath)) {
      problems.push(
        `dns.healthCheckPath "${c.dns.healthCheckPath}" on ${host} is routed to no service (the listener answers ` +
          '404, and Route 53 would take the region out): use the readiness path of the service that decides the ' +
          "region's health.",
      );
      break;
    }
  }
  return problems;
}
