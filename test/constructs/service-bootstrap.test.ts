import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { SERVICE_RESERVED_VARIABLES } from '../../lib/config';
import {
  FILES_DIR,
  FILES_DIR_RETRY_SECONDS,
  filesDirUnits,
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

/** Distinct literal endpoints, so each shows where it lands in the script. */
const ENDPOINTS: ServiceEndpoints = {
  databaseHost: 'writer.cluster.test',
  databaseReadHost: 'reader.cluster.test',
  databasePort: 5432,
  databaseSecretName: 'test/database',
  cacheHost: 'primary.cache.test',
  cachePort: 6379,
  cacheAuthSecretName: 'test/cache-auth',
  fileSystemId: 'fs-0123456789abcdef0',
};
const DRAIN_SECONDS = 23;

const stack = bareStack();
const logsKey = testKey(stack, 'LogsKey');
// The real service bundle: built once per content into the build cache (lib/bundling.ts), shared with `cdk synth`.
const bundle = new ServiceBundle(stack, 'Service');
const bootstrap = new ServiceBootstrap(stack, 'Bootstrap', {
  bundle,
  endpoints: ENDPOINTS,
  port: 8080,
  drainSeconds: DRAIN_SECONDS,
  logsKey,
});
const role = new iam.Role(stack, 'InstanceRole', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') });
bootstrap.grantTo(role);
const template = templateOf(stack);

/** The boot script of a bootstrap with `settings`, tokens written `<token>`. */
function settingsScript(settings: Record<string, string>): string {
  const s = bareStack();
  const b = new ServiceBootstrap(s, 'Bootstrap', {
    bundle: new ServiceBundle(s, 'Service'),
    endpoints: ENDPOINTS,
    port: 8080,
    drainSeconds: DRAIN_SECONDS,
    logsKey: testKey(s, 'LogsKey'),
    settings: new ServiceSettings(s, 'Settings', { path: '/haweb/test/web', settings }),
  });
  const resolved = s.resolve(b.userData.render());
  const joined = typeof resolved === 'string' ? [resolved] : (resolved['Fn::Join'][1] as unknown[]);
  return joined.map((part) => (typeof part === 'string' ? part : '<token>')).join('');
}

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

const logGroupId = logicalIdOf(bootstrap.logGroup);
const statements: { Action: string | string[]; Resource: unknown }[] = Object.values(
  template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: logicalIdOf(role) }] } }),
).flatMap((p) => p.Properties.PolicyDocument.Statement);
const allowing = (action: string) => statements.filter((s) => ([] as string[]).concat(s.Action).includes(action));

describe('instance bootstrap (user data)', () => {
  test('is a bash script for Linux', () => {
    expect(userData.startsWith('#!/bin/bash\n')).toBe(true);
  });

  test('installs Node.js 22, amazon-efs-utils and the CloudWatch agent on Amazon Linux 2023', () => {
    expect(userData).toContain('dnf install -y nodejs22 amazon-efs-utils amazon-cloudwatch-agent');
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

  test('reads both secrets from Secrets Manager by name in its own region', () => {
    expect(userData).toContain(
      `DB_SECRET=$(aws secretsmanager get-secret-value --region "$REGION" --secret-id '${ENDPOINTS.databaseSecretName}'`,
    );
    expect(userData).toContain(
      `CACHE_TOKEN=$(aws secretsmanager get-secret-value --region "$REGION" --secret-id '${ENDPOINTS.cacheAuthSecretName}'`,
    );
  });

  test('writes the secrets into a root-only environment file and never traces the shell', () => {
    expect(userData).toMatch(/^install -d -m 0755 \/etc\/ha-web$/m);
    expect(userData).toMatch(/umask 077\ncat > \/etc\/ha-web\/service.env <<ENV\n/);
    expect(userData).toContain('DATABASE_PASSWORD=$(jq -r .password <<<"$DB_SECRET")');
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
    expect(userData).toContain(`\nDATABASE_HOST=${ENDPOINTS.databaseHost}\nDATABASE_PORT=${ENDPOINTS.databasePort}\n`);
    // The passive region's writer endpoint is inactive until the switch: reads go to the reader meanwhile.
    expect(userData).toContain(`\nDATABASE_READER_HOST=${ENDPOINTS.databaseReadHost}\n`);
    expect(userData.split(ENDPOINTS.databaseReadHost)).toHaveLength(2);
    expect(userData).toContain(`\nREDIS_HOST=${ENDPOINTS.cacheHost}\nREDIS_PORT=${ENDPOINTS.cachePort}\n`);
  });

  test('tells the service its port', () => {
    expect(userData).toContain('\nPORT=8080\n');
  });

  test('trusts exactly one proxy hop (the ALB) for the client IP', () => {
    expect(userData).toContain('TRUSTED_PROXY_HOPS=1');
  });

  test('drains for the given drain time', () => {
    expect(userData).toContain(`\nSHUTDOWN_DRAIN_SECONDS=${DRAIN_SECONDS}\n`);
  });

  test('runs the service under systemd: unprivileged, restart on failure, SIGTERM to stop', () => {
    for (const line of [
      'User=ha-web',
      'EnvironmentFile=/etc/ha-web/service.env',
      'ExecStart=/usr/bin/node-22 --enable-source-maps /opt/ha-web/app/server.js',
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
      bundle: new ServiceBundle(other, 'Service'),
      endpoints: ENDPOINTS,
      port: 8080,
      drainSeconds: DRAIN_SECONDS,
      logsKey: testKey(other),
      logRetention: logs.RetentionDays.TWO_YEARS,
    });
    templateOf(other).hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 731 });
  });

  test('downloads the service bundle of its launch template version', () => {
    expect(bundle.asset.assetHash).toMatch(/^[0-9a-f]{64}$/);
    expect(userData).toContain(
      `aws s3 cp --region "$REGION" 's3://cdk-hnb659fds-assets-${TEST_ACCOUNT}-us-east-1/${bundle.asset.assetHash}.zip'`,
    );
  });

  test('reports the bundle hash as the service version', () => {
    expect(userData).toContain(`\nSERVICE_VERSION=${bundle.version}\n`);
    expect(bundle.version).toBe(bundle.asset.assetHash);
  });
});

describe('the environment file', () => {
  /** The variable names the boot script writes into the environment file (its ENV here-document). */
  function writtenNames(script: string): string[] {
    const body = script.split(`cat > ${SERVICE_ENV_FILE} <<ENV\n`)[1]!.split('\nENV\n')[0]!;
    return body
      .split('\n')
      .filter((line) => /^[A-Z_]+=/.test(line))
      .map((line) => line.split('=')[0]!);
  }

  test('sets exactly the variables validation reserves (service.settings may not name them)', () => {
    const withSettings = settingsScript({ LOG_LEVEL: 'debug' });
    expect([...writtenNames(withSettings)].sort()).toEqual([...SERVICE_RESERVED_VARIABLES].sort());
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
    expect(script).toContain(`cat > ${SERVICE_ENV_FILE} <<ENV\n$SETTINGS_ENV\nSERVICE_VERSION=`);
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
  const runStep = (readOnly: boolean, prepare: (shared: string) => void = () => undefined) => {
    const shared = tempDir('shared-mount-');
    prepare(shared);
    const step = ['set -euo pipefail', ...sharedFilesCommands('root'), 'echo step-done'].join('\n');
    const result = inNamespace(
      shared,
      [readOnly ? `mount -o remount,bind,ro ${SHARED_MOUNT}` : 'true', `bash -c "$2"`],
      step,
    );
    return { ...result, shared };
  };

  test('the boot script runs the step after mounting', () => {
    expect(userData).toContain([`mountpoint -q ${SHARED_MOUNT}`, ...sharedFilesCommands()].join('\n'));
    expect(userData).toContain(`ReadWritePaths=${SHARED_MOUNT} /var/log/ha-web`);
  });

  test('active region: creates the directory, owner and mode set', () => {
    const { status, stdout, stderr, shared } = runStep(false);
    expect({ status, stderr }).toEqual({ status: 0, stderr: '' });
    expect(stdout).toContain('step-done');
    const stat = fs.statSync(path.join(shared, path.basename(FILES_DIR)));
    expect(stat.isDirectory()).toBe(true);
    expect(stat.mode & 0o777).toBe(0o750);
  });

  test('passive region: a read-only mount holding the replicated directory does not stop the boot', () => {
    const { status, stdout, stderr } = runStep(true, (shared) => fs.mkdirSync(path.join(shared, 'files')));
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
    expect(fs.existsSync(path.join(shared, 'files'))).toBe(false);
  });

  test('after the promotion: the retry unit creates the missing directory as soon as the mount is writable', () => {
    const units = filesDirUnits('root');
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
    expect(fs.statSync(path.join(shared, 'files')).mode & 0o777).toBe(0o750);
    // The boot script installs and starts the timer, every FILES_DIR_RETRY_SECONDS seconds.
    expect(userData).toContain(filesDirUnits().join('\n'));
    expect(userData).toContain('systemctl enable --now ha-web-files-dir.timer');
    expect(units).toContain(`OnUnitActiveSec=${FILES_DIR_RETRY_SECONDS}`);
    expect(units).toContain(`ExecStart=/usr/bin/install -d -o root -g root -m 0750 ${FILES_DIR}`);
  });

  test('the step of the first version stops the boot on the read-only mount (EROFS)', () => {
    const old = ['set -euo pipefail', `install -d -o root -g root -m 0750 ${FILES_DIR}`, 'echo step-done'].join('\n');
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
