import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Stack } from 'aws-cdk-lib';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { SERVICE_RESERVED_VARIABLES, ServiceSecret } from '../../lib/config';
import { demo } from '../../lib/config/environments';
import {
  APP_DIR,
  BootstrappedService,
  FILES_DIR_RETRY_SECONDS,
  filesDirOf,
  filesDirUnits,
  secretsCommands,
  SERVICE_ENV_FILE,
  SHARED_MOUNT,
  ServiceBootstrap,
  ServiceEndpoints,
  sharedFilesCommands,
} from '../../lib/constructs/service-bootstrap';
import { ServiceSettings, settingsVersion } from '../../lib/constructs/service-settings';
import { ServiceBundle } from '../../lib/constructs/service-bundle';
import { bareStack, TEST_ACCOUNT, templateOf, testKey } from '../harness';
import { logicalIdOf, tempDir } from '../helpers';
import { systemdValue } from '../support/systemd';

/** The reference service of the config (`webService`): Node.js 22 by its boot hook, every data component. */
const WEB = demo.services.find((s) => s.name === 'web')!;
/** Distinct literal endpoints, so each shows where it lands in the script. */
const ENDPOINTS: ServiceEndpoints = {
  database: {
    host: 'writer.cluster.test',
    readHost: 'reader.cluster.test',
    port: 5432,
    name: 'app',
    clusterResourceId: 'cluster-ABCDEFGHIJKLMNOPQRSTUVWXY0',
  },
  cache: { host: 'primary.cache.test', port: 6379, authSecretName: 'test/cache-auth' },
  fileSystemId: 'fs-0123456789abcdef0',
};
const DATABASE = ENDPOINTS.database!;
/** Reserved, but never written: the deploy signs in to the database with IAM tokens. */
const RESERVED_NOT_SET = ['DATABASE_PASSWORD', 'DATABASE_PASSWORD_FILE'];
const CACHE = ENDPOINTS.cache!;
/** The web service's files directory on the shared mount. */
const FILES_DIR = filesDirOf(WEB.name);
const DRAIN_SECONDS = 23;
const IMAGE_ID = 'ami-0123456789abcdef0';

const stack = bareStack();
const logsKey = testKey(stack, 'LogsKey');
// The real service bundle: built once per content into the build cache (lib/bundling.ts), shared with `cdk synth`.
const bundle = new ServiceBundle(stack, 'Service', { directory: WEB.artifact.directory!, build: WEB.artifact.build });
const bootstrap = new ServiceBootstrap(stack, 'Bootstrap', {
  service: WEB,
  bundle,
  version: bundle.version,
  endpoints: ENDPOINTS,
  drainSeconds: DRAIN_SECONDS,
  logsKey,
});
const role = new iam.Role(stack, 'InstanceRole', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') });
bootstrap.grantTo(role);
const template = templateOf(stack);

/** A directory artifact of one file (packaged as it is: no build), for the scripts of other services. */
const SMALL_ARTIFACT = (() => {
  const dir = tempDir('bootstrap-artifact-');
  fs.writeFileSync(path.join(dir, 'server.js'), 'console.log("small");\n');
  return dir;
})();

/** The boot script of `bootstrap` in `scope`, tokens written `<token>`. */
function rendered(scope: Stack, b: ServiceBootstrap): string {
  const resolved = scope.resolve(b.userData.render());
  const joined = typeof resolved === 'string' ? [resolved] : (resolved['Fn::Join'][1] as unknown[]);
  return joined.map((part) => (typeof part === 'string' ? part : '<token>')).join('');
}

/** What {@link scriptOf} varies. */
interface ScriptOptions {
  /** Replaces keys of the web service. */
  readonly service?: Partial<BootstrappedService>;
  /** The data components the service uses. Default all three ({@link ENDPOINTS}). */
  readonly endpoints?: ServiceEndpoints;
  /** Central configuration. Default none. */
  readonly settings?: Record<string, string>;
  /** An image artifact (nothing to download, the image ID as the version). Default a directory artifact. */
  readonly image?: boolean;
}

/** The boot script of a bootstrap on a bare stack of its own (no synthesis), tokens written `<token>`. */
function scriptOf(options: ScriptOptions = {}): string {
  const s = bareStack();
  const artifact = options.image ? undefined : new ServiceBundle(s, 'Service', { directory: SMALL_ARTIFACT });
  const b = new ServiceBootstrap(s, 'Bootstrap', {
    service: { ...WEB, ...options.service },
    bundle: artifact,
    version: artifact?.version ?? IMAGE_ID,
    endpoints: options.endpoints ?? ENDPOINTS,
    drainSeconds: DRAIN_SECONDS,
    logsKey: testKey(s, 'LogsKey'),
    settings:
      options.settings && new ServiceSettings(s, 'Settings', { path: '/haweb/test/web', settings: options.settings }),
  });
  return rendered(s, b);
}

/** The boot script of the web service with `settings`. */
const settingsScript = (settings: Record<string, string>) => scriptOf({ settings });

/** The boot script's parts: literal text, or the CloudFormation value of a token. */
const parts: unknown[] = (() => {
  const resolved = stack.resolve(bootstrap.userData.render());
  if (typeof resolved === 'string') return [resolved];
  const [separator, joined] = resolved['Fn::Join'] as [string, unknown[]];
  expect(separator).toBe('');
  return joined;
})();
/** The boot script with every token written `<token>`. */
const userData = parts.map((part) => (typeof part === 'string' ? part : '<token>')).join('');
/** The first token after the literal text ending in `marker`. */
function tokenAfter(marker: string): unknown {
  const i = parts.findIndex((part) => typeof part === 'string' && part.endsWith(marker));
  if (i < 0) throw new Error(`no ${marker} in user data`);
  return parts[i + 1];
}

/** The variable names the boot script writes into the environment file (its ENV here-document). */
function writtenNames(script: string): string[] {
  const body = script.split(`cat > ${SERVICE_ENV_FILE} <<ENV\n`)[1]!.split('\nENV\n')[0]!;
  return body
    .split('\n')
    .filter((line) => /^[A-Z_]+=/.test(line))
    .map((line) => line.split('=')[0]!);
}

/** The names of the data components' variables among those the script writes. */
const dataVariables = (script: string) => writtenNames(script).filter((n) => /^(DATABASE|REDIS)_|^FILES_DIR$/.test(n));

/** The script's lines that install packages. */
const dnfLines = (script: string) => script.split('\n').filter((line) => line.startsWith('dnf install'));

const logGroupId = logicalIdOf(bootstrap.logGroup);
const statements: { Action: string | string[]; Resource: unknown }[] = Object.values(
  template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: logicalIdOf(role) }] } }),
).flatMap((p) => p.Properties.PolicyDocument.Statement);
const allowing = (action: string) => statements.filter((s) => ([] as string[]).concat(s.Action).includes(action));

describe('instance bootstrap (user data)', () => {
  test('is a bash script for Linux', () => {
    expect(userData.startsWith('#!/bin/bash\n')).toBe(true);
  });

  test("installs the CloudWatch agent, amazon-efs-utils and the boot hook's Node.js 22 on Amazon Linux 2023, in one dnf call", () => {
    expect(WEB.bootHook?.packages).toEqual(['nodejs22']);
    expect(dnfLines(userData)).toHaveLength(1);
    expect(dnfLines(userData)[0]!.split(' ')).toEqual(
      expect.arrayContaining(['dnf', 'install', '-y', 'amazon-cloudwatch-agent', 'amazon-efs-utils', 'nodejs22']),
    );
  });

  test('mounts the given file system with TLS and IAM authorization', () => {
    expect(userData).toContain(
      `echo '${ENDPOINTS.fileSystemId}:/ /mnt/shared efs _netdev,noresvport,tls,iam 0 0' >> /etc/fstab`,
    );
  });

  test('fails the boot if the file system cannot be mounted', () => {
    expect(userData).toContain('set -euo pipefail');
    expect(userData).toContain('\nmountpoint -q /mnt/shared\n');
  });

  test('reads the cache token from Secrets Manager by name in its own region, and no database secret', () => {
    expect(userData).toContain(
      `CACHE_TOKEN=$(aws secretsmanager get-secret-value --region "$REGION" --secret-id '${CACHE.authSecretName}'`,
    );
    expect(userData.match(/secretsmanager get-secret-value/g)).toHaveLength(1);
  });

  test('signs in to the database as the service’s own role with IAM database authentication, no password', () => {
    expect(userData).toContain(`\nDATABASE_NAME=${DATABASE.name}\n`);
    expect(userData).toContain('\nDATABASE_USER=svc_web\nDATABASE_AUTH=iam\nDATABASE_REGION=$REGION\n');
    expect(userData).not.toContain('DATABASE_PASSWORD');
  });

  test('writes the secrets into a root-only environment file and never traces the shell', () => {
    expect(userData).toMatch(/^install -d -m 0755 \/etc\/ha-web$/m);
    expect(userData).toMatch(/umask 077\ncat > \/etc\/ha-web\/service.env <<ENV\n/);
    expect(userData).toContain('REDIS_PASSWORD=$CACHE_TOKEN');
    expect(userData).not.toMatch(/set -x|set -o xtrace/);
  });

  test('holds no secret value and no dynamic reference to one', () => {
    expect(userData).not.toMatch(/resolve:secretsmanager/i);
    expect(userData).not.toMatch(/^(DATABASE_PASSWORD|REDIS_PASSWORD)=[A-Za-z0-9]{16,}$/m);
  });

  test('turns on TLS to the database and the cache', () => {
    expect(userData).toContain('DATABASE_SSL=true\nDATABASE_SSL_CA=/etc/ha-web/rds-ca.pem');
    expect(userData).toContain('REDIS_TLS=true');
  });

  test('points the service at the writer endpoint, the reader endpoint only as its fallback, and the cache primary', () => {
    expect(userData).toContain(`\nDATABASE_HOST=${DATABASE.host}\nDATABASE_PORT=${DATABASE.port}\n`);
    // The passive region's writer endpoint is inactive until the switch: reads go to the reader meanwhile.
    expect(userData).toContain(`\nDATABASE_READER_HOST=${DATABASE.readHost}\n`);
    expect(userData.split(DATABASE.readHost)).toHaveLength(2);
    expect(userData).toContain(`\nREDIS_HOST=${CACHE.host}\nREDIS_PORT=${CACHE.port}\n`);
  });

  test('gives the service its own files directory on the mount (/mnt/shared/<service>)', () => {
    expect(FILES_DIR).toBe('/mnt/shared/web');
    expect(userData).toContain(`\nFILES_DIR=${FILES_DIR}\n`);
  });

  test('tells the service its name and port', () => {
    expect(userData).toContain('\nSERVICE_NAME=web\n');
    expect(userData).toContain(`\nPORT=${WEB.port}\n`);
  });

  test('trusts exactly one proxy hop (the ALB) for the client IP', () => {
    expect(userData).toContain('TRUSTED_PROXY_HOPS=1');
  });

  test('drains for the given drain time', () => {
    expect(userData).toContain(`\nSHUTDOWN_DRAIN_SECONDS=${DRAIN_SECONDS}\n`);
  });

  test("runs the service's command under systemd in the app folder: unprivileged, restart on failure, SIGTERM to stop", () => {
    expect(WEB.runCommand).toBe('/usr/bin/node-22 --enable-source-maps server.js');
    for (const line of [
      'User=ha-web',
      `WorkingDirectory=${APP_DIR}`,
      'EnvironmentFile=/etc/ha-web/service.env',
      `ExecStart=${WEB.runCommand}`,
      'Restart=on-failure',
      'KillSignal=SIGTERM',
      'RequiresMountsFor=/mnt/shared',
      'ProtectSystem=strict',
      'NoNewPrivileges=true',
    ]) {
      expect(userData).toContain(`\n${line}\n`);
    }
    expect(userData).toContain('systemctl enable --now ha-web.service');
  });

  test('stops within drain plus a bounded grace (60 s)', () => {
    expect(userData).toContain(`\nTimeoutStopSec=${DRAIN_SECONDS + 60}\n`);
  });

  test('ships the service and bootstrap logs to its log group', () => {
    expect(userData).toContain('"file_path":"/var/log/ha-web/service.log","log_group_name":"');
    expect(userData).toContain('amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s');
    expect(tokenAfter('"file_path":"/var/log/ha-web/service.log","log_group_name":"')).toEqual({ Ref: logGroupId });
    expect(tokenAfter('"file_path":"/var/log/ha-web-bootstrap.log","log_group_name":"')).toEqual({
      Ref: logGroupId,
    });
  });

  test('the log group is kept for a year and encrypted with the given key', () => {
    template.resourceCountIs('AWS::Logs::LogGroup', 1);
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      RetentionInDays: 365,
      KmsKeyId: { 'Fn::GetAtt': [logicalIdOf(logsKey), 'Arn'] },
    });
  });

  test('the log retention can be set', () => {
    const other = bareStack();
    new ServiceBootstrap(other, 'Bootstrap', {
      service: WEB,
      version: IMAGE_ID,
      endpoints: {},
      drainSeconds: DRAIN_SECONDS,
      logsKey: testKey(other),
      logRetention: logs.RetentionDays.TWO_YEARS,
    });
    templateOf(other).hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 731 });
  });

  test('downloads the service artifact of its launch template version into the app folder', () => {
    expect(bundle.asset.assetHash).toMatch(/^[0-9a-f]{64}$/);
    expect(userData).toContain(
      `aws s3 cp --region "$REGION" 's3://cdk-hnb659fds-assets-${TEST_ACCOUNT}-us-east-1/${bundle.asset.assetHash}.zip'`,
    );
    expect(userData).toContain(`\nunzip -q -o /tmp/ha-web-service.zip -d ${APP_DIR} `);
    expect(dnfLines(userData)[0]!.split(' ')).toContain('unzip');
  });

  test('reports the bundle hash as the service version', () => {
    expect(userData).toContain(`\nSERVICE_VERSION=${bundle.version}\n`);
    expect(bundle.version).toBe(bundle.asset.assetHash);
  });
});

describe('only the data components the service uses', () => {
  const none = scriptOf({ endpoints: {} });
  const databaseOnly = scriptOf({ endpoints: { database: DATABASE } });

  test('all three (the web service): the database, cache and files variables', () => {
    expect(dataVariables(userData)).toEqual([
      ...SERVICE_RESERVED_VARIABLES.filter((n) => /^(DATABASE|REDIS)_/.test(n) && !RESERVED_NOT_SET.includes(n)),
      'FILES_DIR',
    ]);
  });

  test('none: no data variable, no mount, no amazon-efs-utils, no CA download, no files timer, no secret read', () => {
    expect(dataVariables(none)).toEqual([]);
    expect(none).not.toMatch(/^(DATABASE_|REDIS_|FILES_DIR=)/m);
    expect(none).not.toContain(SHARED_MOUNT);
    expect(none).not.toContain('/etc/fstab');
    expect(none).not.toContain('amazon-efs-utils');
    expect(none).not.toContain('rds-ca');
    expect(none).not.toContain('truststore.pki.rds.amazonaws.com');
    expect(none).not.toContain('ha-web-files-dir');
    expect(none).not.toContain('secretsmanager');
    expect(none).toContain('\nReadWritePaths=/var/log/ha-web\n');
    // The service still starts.
    expect(none).toContain('systemctl enable --now ha-web.service');
  });

  test('the database only: its DATABASE_* variables and CA bundle, no secret, nothing of the cache or files', () => {
    expect(dataVariables(databaseOnly)).toEqual(
      SERVICE_RESERVED_VARIABLES.filter((n) => n.startsWith('DATABASE_') && !RESERVED_NOT_SET.includes(n)),
    );
    expect(databaseOnly).toContain(`\nDATABASE_HOST=${DATABASE.host}\n`);
    expect(databaseOnly).not.toContain('secretsmanager');
    expect(databaseOnly).toContain(
      '\ncurl -fsSL -o /etc/ha-web/rds-ca.pem https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem\n',
    );
    expect(databaseOnly).not.toContain('REDIS_');
    expect(databaseOnly).not.toContain(CACHE.authSecretName);
    expect(databaseOnly).not.toContain('CACHE_TOKEN=$(');
    expect(databaseOnly).not.toContain(SHARED_MOUNT);
    expect(databaseOnly).not.toContain('amazon-efs-utils');
    expect(databaseOnly).not.toContain('ha-web-files-dir');
  });
});

describe("the service's boot hook, command and artifact", () => {
  const HOOK = {
    packages: ['nodejs22', 'ImageMagick'],
    commands: ['npm run migrate -- --yes', 'chmod 0644 server.js'],
  };
  const hooked = scriptOf({ service: { bootHook: HOOK } });
  const lines = hooked.split('\n');
  const at = (line: string) => {
    const i = lines.indexOf(line);
    expect(i).toBeGreaterThan(0);
    return i;
  };

  test('its packages are installed by the one dnf call', () => {
    expect(dnfLines(hooked)).toHaveLength(1);
    const words = dnfLines(hooked)[0]!.split(' ');
    expect(words.slice(0, 3)).toEqual(['dnf', 'install', '-y']);
    expect(words).toEqual(expect.arrayContaining(['amazon-cloudwatch-agent', 'nodejs22', 'ImageMagick']));
  });

  test('its commands run in order, as root in the app folder, after the artifact is unpacked and before the service starts', () => {
    const unpacked = lines.findIndex((l) => l.startsWith(`unzip -q -o /tmp/ha-web-service.zip -d ${APP_DIR}`));
    // Each in a subshell of its own, the closing parenthesis on a line of its own (a trailing comment stays one).
    const [first, second] = HOOK.commands.map((c) => at(c));
    for (const i of [first!, second!]) expect([lines[i - 1], lines[i + 1]]).toEqual([`(cd ${APP_DIR}`, ')']);
    const started = at('systemctl enable --now ha-web.service');
    expect(unpacked).toBeGreaterThan(0);
    expect(unpacked).toBeLessThan(first!);
    expect(first).toBeLessThan(second!);
    expect(second).toBeLessThan(started);
    // Not in the unit (which runs as the service user): in the boot script, which runs as root.
    expect(second).toBeLessThan(at("cat > /etc/systemd/system/ha-web.service <<'UNIT'"));
  });

  test('without a boot hook: no command runs in the app folder before the unit', () => {
    const plain = scriptOf({ service: { bootHook: undefined } });
    expect(plain).not.toContain(`(cd ${APP_DIR}`);
    expect(dnfLines(plain)[0]).not.toContain('nodejs22');
  });

  test('ExecStart is the configured run command, in the app folder', () => {
    const script = scriptOf({ service: { runCommand: '/opt/haweb/app/bin/server --port 8090' } });
    expect(script).toContain(`\nWorkingDirectory=${APP_DIR}\nEnvironmentFile=${SERVICE_ENV_FILE}\n`);
    expect(script).toContain('\nExecStart=/opt/haweb/app/bin/server --port 8090\n');
    expect(script).not.toContain('node-22');
  });

  test('an image artifact (no bundle): nothing is downloaded, the app folder exists, the image ID is the version', () => {
    const image = scriptOf({ image: true });
    expect(image).not.toContain('aws s3 cp');
    expect(image).not.toContain('unzip');
    expect(image).not.toContain('.zip');
    expect(image).toContain(`\ninstall -d -m 0755 ${APP_DIR}\n`);
    expect(image).not.toContain(`rm -rf ${APP_DIR}`);
    expect(image).toContain(`\nSERVICE_VERSION=${IMAGE_ID}\n`);
  });

  test("the service's own secrets are read before the environment file is written, and the variable is unset after", () => {
    const script = scriptOf({ service: { secrets: { API_KEY: { secretName: 'test/api-key' } } } });
    const read = script.indexOf(`--secret-id 'test/api-key'`);
    expect(read).toBeGreaterThan(0);
    expect(read).toBeLessThan(script.indexOf(`cat > ${SERVICE_ENV_FILE} <<ENV`));
    expect(script).toContain(`cat > ${SERVICE_ENV_FILE} <<ENV\n$SECRETS_ENV\nSERVICE_NAME=`);
    expect(script).toMatch(/\nunset [A-Z_ ]*\bSECRETS_ENV\b/);
    expect(userData).not.toContain('$SECRETS_ENV');
    expect(userData).not.toContain("SECRETS_ENV=''");
  });
});

describe('the environment file', () => {
  test('sets exactly the variables validation reserves (service.environment may not name them), but the passwords', () => {
    const withSettings = settingsScript({ LOG_LEVEL: 'debug' });
    expect([...writtenNames(withSettings)].sort()).toEqual(
      SERVICE_RESERVED_VARIABLES.filter((n) => !RESERVED_NOT_SET.includes(n)).sort(),
    );
  });

  test('without settings: no Parameter Store read, no settings version', () => {
    expect(userData).not.toContain('get-parameters-by-path');
    expect(userData).not.toContain('SETTINGS_VERSION');
  });

  test("with settings: reads this version's path before writing the file; settings first, the version among the script's lines", () => {
    const script = settingsScript({ LOG_LEVEL: 'debug' });
    const version = settingsVersion({ LOG_LEVEL: 'debug' });
    const read = script.indexOf(
      `aws ssm get-parameters-by-path --region "$REGION" --path '/haweb/test/web/${version.slice(0, 16)}'`,
    );
    expect(read).toBeGreaterThan(0);
    expect(read).toBeLessThan(script.indexOf(`cat > ${SERVICE_ENV_FILE} <<ENV`));
    // First, so that a line of the script with the same name would win (systemd keeps the last assignment).
    expect(script).toContain(`cat > ${SERVICE_ENV_FILE} <<ENV\n$SETTINGS_ENV\nSERVICE_NAME=web\nSERVICE_VERSION=`);
    expect(script).toContain(`\nSETTINGS_VERSION=${version}\nENV\n`);
  });

  test('a changed value changes the script (so the launch template, and the instance refresh rolls the fleet)', () => {
    expect(settingsScript({ LOG_LEVEL: 'debug' })).not.toBe(settingsScript({ LOG_LEVEL: 'info' }));
  });
});

describe('ServiceBootstrap.grantTo', () => {
  test('lets the role read exactly its service bundle from the asset bucket', () => {
    const reads = allowing('s3:GetObject');
    expect(reads).toHaveLength(1);
    expect(reads[0].Action).toBe('s3:GetObject');
    expect(reads[0].Resource).toBe(
      `arn:aws:s3:::cdk-hnb659fds-assets-${TEST_ACCOUNT}-us-east-1/${bundle.asset.assetHash}.zip`,
    );
  });

  test('lets the role write its log streams, only to the service log group', () => {
    const writes = allowing('logs:PutLogEvents');
    expect(writes).toHaveLength(1);
    expect(writes[0].Resource).toEqual({ 'Fn::GetAtt': [logGroupId, 'Arn'] });
    for (const s of allowing('logs:DescribeLogStreams')) expect(JSON.stringify(s.Resource)).toContain(logGroupId);
  });

  test('grants nothing else: no secrets, no wildcard resource', () => {
    expect(allowing('secretsmanager:GetSecretValue')).toHaveLength(0);
    expect(JSON.stringify(statements.map((s) => s.Resource))).not.toMatch(/"\*"/);
  });
});

describe("secretsCommands: the service's secrets, read for real with bash and jq from a stand-in AWS CLI", () => {
  /** The stand-in's secrets: name → SecretString. */
  const OTHER_VALUE = 'other-value-never-printed';
  const PASSWORD = `pa"ss\\word $HOME \${HOME} \`id\` $(id) %h #x 'q'`;
  const SECRETS: Record<string, string> = {
    'app/plain': 'plain-value-1',
    'app/json': JSON.stringify({ username: 'svc-user', password: PASSWORD, other: OTHER_VALUE, port: 5432 }),
    'app/text': 'not json: text-never-printed',
    'app/tricky': PASSWORD,
    'app/newline': 'first-line-never-printed\nsecond-line',
    'app/trailing-newline': 'value-then-newline\n',
  };

  /**
   * `aws` on PATH: answers `secretsmanager get-secret-value --secret-id <name> --query SecretString --output json`
   * with the secret's SecretString as JSON (what the AWS CLI prints), and an unknown name as the CLI does.
   */
  let bin = '';
  beforeAll(() => {
    const dir = tempDir('secrets-aws-');
    // One file per secret, at its name under secrets/, holding what the CLI prints: the SecretString as JSON.
    for (const [name, value] of Object.entries(SECRETS)) {
      fs.mkdirSync(path.dirname(path.join(dir, 'secrets', name)), { recursive: true });
      fs.writeFileSync(path.join(dir, 'secrets', name), `${JSON.stringify(value)}\n`);
    }
    fs.writeFileSync(
      path.join(dir, 'aws'),
      [
        '#!/bin/bash',
        'case "$*" in',
        '  "secretsmanager get-secret-value --region us-east-1 --secret-id "*" --query SecretString --output json") ;;',
        '  *) echo "unexpected call: aws $*" >&2; exit 2 ;;',
        'esac',
        `if [ ! -f '${dir}/secrets/'"$6" ]; then`,
        '  echo "An error occurred (ResourceNotFoundException) when calling the GetSecretValue operation: Secrets Manager can\'t find the specified secret." >&2',
        '  exit 254',
        'fi',
        `cat '${dir}/secrets/'"$6"`,
      ].join('\n') + '\n',
      { mode: 0o755 },
    );
    bin = dir;
  });

  /**
   * Runs the step and the environment file's here-document as the boot script has them, and returns the file's
   * lines (none when the step stopped the script) and everything printed.
   */
  function boot(secrets: Record<string, ServiceSecret>): { status: number | null; lines: string[]; output: string } {
    // The stand-in is called through a shell function by its absolute path, never found on PATH, so a real AWS CLI
    // installed on the machine can never answer instead of it.
    if (!fs.existsSync(path.join(bin, 'aws'))) throw new Error(`the stand-in AWS CLI ${bin}/aws is gone`);
    const out = path.join(tempDir('secrets-boot-'), 'service.env');
    const script = [
      'set -euo pipefail',
      `aws() { '${bin}/aws' "$@"; }`,
      'REGION=us-east-1',
      ...secretsCommands(secrets),
      'umask 077',
      `cat > '${out}' <<ENV`,
      '$SECRETS_ENV',
      'PORT=8080',
      'ENV',
    ].join('\n');
    const result = spawnSync('bash', ['-c', script], {
      encoding: 'utf8',
    });
    const lines = fs.existsSync(out) ? fs.readFileSync(out, 'utf8').split('\n').filter(Boolean) : [];
    return { status: result.status, lines, output: result.stdout + result.stderr };
  }

  test('no secrets: no step', () => {
    expect(secretsCommands({})).toEqual([]);
  });

  test('a whole secret and a JSON key reach the environment file as NAME="<JSON string>", in name order', () => {
    const result = boot({
      PLAIN: { secretName: 'app/plain' },
      DB_USER: { secretName: 'app/json', jsonKey: 'username' },
    });
    expect(result.output).toBe('');
    expect(result.status).toBe(0);
    expect(result.lines).toEqual(['DB_USER="svc-user"', 'PLAIN="plain-value-1"', 'PORT=8080']);
  });

  test('quotes, backslashes, $, backticks, % and # round-trip: the quoted part is the JSON string, systemd reads the value', () => {
    const result = boot({
      TRICKY: { secretName: 'app/tricky' },
      DB_PASSWORD: { secretName: 'app/json', jsonKey: 'password' },
    });
    expect(result.status).toBe(0);
    const secretLines = result.lines.filter((l) => !l.startsWith('PORT='));
    expect(secretLines).toHaveLength(2);
    for (const line of secretLines) {
      expect(line).toMatch(/^[A-Z_]+=".*"$/);
      expect(JSON.parse(line.slice(line.indexOf('=') + 1))).toBe(PASSWORD);
    }
    expect(Object.fromEntries(secretLines.map(systemdValue))).toEqual({ TRICKY: PASSWORD, DB_PASSWORD: PASSWORD });
    expect(result.lines.at(-1)).toBe('PORT=8080');
  });

  test.each([
    ['a key the secret lacks', 'nope'],
    ['a key whose value is not a string', 'port'],
  ])('%s stops the boot, naming the secret and printing no value', (_what, key) => {
    const result = boot({ DB_PASSWORD: { secretName: 'app/json', jsonKey: key } });
    expect(result.status).not.toBe(0);
    expect(result.lines).toEqual([]);
    expect(result.output).toMatch(/^jq: error \(at <stdin>:\d+\): secret app\/json /);
    for (const value of [OTHER_VALUE, 'svc-user', 'pa\\"ss', '5432']) expect(result.output).not.toContain(value);
  });

  // jq 1.6's `try ... catch` also catches the errors raised after it in the pipeline (fixed in jq 1.7); the parse
  // is collected instead, so the message names the key on both versions.
  test.each([
    ['a key the secret lacks', 'nope'],
    ['a key whose value is not a string', 'port'],
  ])('%s: the message names the secret, the key and the variable', (_what, key) => {
    const result = boot({ DB_PASSWORD: { secretName: 'app/json', jsonKey: key } });
    expect(result.status).not.toBe(0);
    expect(result.output).toContain(`secret app/json key ${key} (variable DB_PASSWORD) is missing`);
  });

  test('a JSON key of a secret that is not JSON stops the boot without printing the secret', () => {
    const result = boot({ TOKEN: { secretName: 'app/text', jsonKey: 'token' } });
    expect(result.status).not.toBe(0);
    expect(result.lines).toEqual([]);
    expect(result.output).toContain('secret app/text is not a JSON object');
    expect(result.output).not.toContain('never-printed');
    expect(result.output).not.toContain('not json');
  });

  test('a value with a line break stops the boot, naming the secret and printing no value', () => {
    const result = boot({ CERT: { secretName: 'app/newline' } });
    expect(result.status).not.toBe(0);
    expect(result.lines).toEqual([]);
    expect(result.output).toContain('secret app/newline (variable CERT) is missing or not printable ASCII on one line');
    expect(result.output).not.toContain('never-printed');
  });

  // jq's `$` matches before a final newline: the check anchors at the very end (`\\z`), so a secret stored with a
  // trailing newline (`--secret-string file://...`) is refused too.
  test('a value ending in a line break stops the boot too', () => {
    const result = boot({ TOKEN: { secretName: 'app/trailing-newline' } });
    expect(result.status).not.toBe(0);
    expect(result.lines).toEqual([]);
  });

  test('a secret that does not exist stops the boot (the CLI fails, pipefail)', () => {
    const result = boot({ PLAIN: { secretName: 'app/plain' }, GONE: { secretName: 'app/gone' } });
    expect(result.status).not.toBe(0);
    expect(result.lines).toEqual([]);
    expect(result.output).toContain('ResourceNotFoundException');
  });
});

describe('the files directory step on a real mount (issue 10)', () => {
  // Runs the step exactly as the boot script has it, under `set -euo pipefail`, in a private mount namespace
  // where SHARED_MOUNT is a bind mount of a scratch directory: writable (the active region), or remounted
  // read-only (the EFS replication destination of the passive region: EROFS).
  /**
   * Runs `lines` (shell, `$2` is `step`) in a private mount namespace where SHARED_MOUNT is a bind mount of
   * `shared`, over a tmpfs on /mnt: nothing is created on the host's file system.
   */
  const inNamespace = (shared: string, lines: string[], step: string) =>
    spawnSync(
      'unshare',
      [
        '--mount',
        '--propagation',
        'private',
        'sh',
        '-c',
        [
          'set -e',
          'mount -t tmpfs tmpfs /mnt',
          `mkdir -p ${SHARED_MOUNT}`,
          `mount --bind "$1" ${SHARED_MOUNT}`,
          ...lines,
        ].join('\n'),
        'sh',
        shared,
        step,
      ],
      { encoding: 'utf8' },
    );
  /** The files directory inside the scratch directory that stands for the mount. */
  const filesIn = (shared: string) => path.join(shared, path.basename(FILES_DIR));
  const runStep = (readOnly: boolean, prepare: (shared: string) => void = () => undefined) => {
    const shared = tempDir('shared-mount-');
    prepare(shared);
    const step = ['set -euo pipefail', ...sharedFilesCommands(FILES_DIR, 'root'), 'echo step-done'].join('\n');
    const result = inNamespace(
      shared,
      [readOnly ? `mount -o remount,bind,ro ${SHARED_MOUNT}` : 'true', `bash -c "$2"`],
      step,
    );
    return { ...result, shared };
  };

  test('the boot script runs the step for its service after mounting', () => {
    expect(userData).toContain([`mountpoint -q ${SHARED_MOUNT}`, ...sharedFilesCommands(FILES_DIR)].join('\n'));
    expect(userData).toContain(`ReadWritePaths=${SHARED_MOUNT} /var/log/ha-web`);
  });

  test('active region: creates the directory, owner and mode set', () => {
    const { status, stdout, stderr, shared } = runStep(false);
    expect({ status, stderr }).toEqual({ status: 0, stderr: '' });
    expect(stdout).toContain('step-done');
    const stat = fs.statSync(filesIn(shared));
    expect(stat.isDirectory()).toBe(true);
    expect(stat.mode & 0o777).toBe(0o750);
  });

  test('passive region: a read-only mount holding the replicated directory does not stop the boot', () => {
    const { status, stdout, stderr } = runStep(true, (shared) => fs.mkdirSync(filesIn(shared)));
    expect(status).toBe(0);
    // install's own EROFS message stays in the boot log, followed by the step's explanation.
    expect(stderr).toMatch(/Read-only file system/);
    expect(stdout).toContain(`${FILES_DIR} not prepared: ${SHARED_MOUNT} is read-only`);
    expect(stdout).toContain('step-done');
  });

  test('passive region before the first replication: no directory yet, and the boot still goes on', () => {
    const { status, stdout, shared } = runStep(true);
    expect(status).toBe(0);
    expect(stdout).toContain('step-done');
    expect(fs.existsSync(filesIn(shared))).toBe(false);
  });

  test('after the promotion: the retry unit creates the missing directory as soon as the mount is writable', () => {
    const units = filesDirUnits(FILES_DIR, 'root');
    const line = (key: string) => units.find((l) => l.startsWith(`${key}=`))!.slice(key.length + 1);
    // What systemd runs each minute: the condition, then the creation (as root).
    const attempt = `if ${line('ExecCondition')}; then ${line('ExecStart')} && echo created; else echo skipped; fi`;
    const shared = tempDir('shared-mount-');
    const result = inNamespace(
      shared,
      [
        // The passive region: read-only, the directory not replicated yet. The attempt fails (the timer retries).
        `mount -o remount,bind,ro ${SHARED_MOUNT}`,
        `bash -c "$2" || echo failed-read-only`,
        // Promoted: the mount is writable; the next attempt creates it, the one after skips.
        `mount -o remount,bind,rw ${SHARED_MOUNT}`,
        `bash -c "$2"`,
        `bash -c "$2"`,
      ],
      attempt,
    );
    expect(result.stdout.split('\n').filter(Boolean)).toEqual(['failed-read-only', 'created', 'skipped']);
    expect(fs.statSync(filesIn(shared)).mode & 0o777).toBe(0o750);
    // The boot script installs and starts the timer, every FILES_DIR_RETRY_SECONDS seconds.
    expect(userData).toContain(filesDirUnits(FILES_DIR).join('\n'));
    expect(userData).toContain('systemctl enable --now ha-web-files-dir.timer');
    expect(units).toContain(`OnUnitActiveSec=${FILES_DIR_RETRY_SECONDS}`);
    expect(units).toContain(`ExecStart=/usr/bin/install -d -o root -g root -m 0750 ${FILES_DIR}`);
  });

  test('the step of the first version stops the boot on the read-only mount (EROFS)', () => {
    const oldFilesDir = `${SHARED_MOUNT}/files`;
    const old = ['set -euo pipefail', `install -d -o root -g root -m 0750 ${oldFilesDir}`, 'echo step-done'].join('\n');
    const shared = tempDir('shared-mount-');
    fs.mkdirSync(path.join(shared, 'files'));
    const script = `mount -t tmpfs tmpfs /mnt && mkdir -p ${SHARED_MOUNT} && mount --bind "$1" ${SHARED_MOUNT} && mount -o remount,bind,ro ${SHARED_MOUNT} && bash -c "$2"`;
    const result = spawnSync(
      'unshare',
      ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', shared, old],
      {
        encoding: 'utf8',
      },
    );
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/Read-only file system/);
    expect(result.stdout).not.toContain('step-done');
  });
});
