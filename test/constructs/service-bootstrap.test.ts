import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as fs from 'fs';
import * as path from 'path';
import { demo } from '../../lib/config/environments';
import { ServiceBundle, SERVICE_SOURCE_DIR } from '../../lib/constructs/service-bundle';
import { buildEnvironment, newApp, onlyResource, tempDir, templatesOf } from '../helpers';

const { env } = buildEnvironment();
const t = templatesOf(env);

/** The launch template's user data with every CloudFormation token replaced by `<token>`. */
function userDataOf(template: Template): string {
  const lt = onlyResource(template, 'AWS::EC2::LaunchTemplate').resource;
  const join = lt.Properties.LaunchTemplateData.UserData['Fn::Base64']['Fn::Join'][1] as unknown[];
  return join.map((part) => (typeof part === 'string' ? part : '<token>')).join('');
}

/** The JSON of the first token in the user data that follows `marker`. */
function tokenAfter(template: Template, marker: string): unknown {
  const lt = onlyResource(template, 'AWS::EC2::LaunchTemplate').resource;
  const join = lt.Properties.LaunchTemplateData.UserData['Fn::Base64']['Fn::Join'][1] as unknown[];
  const i = join.findIndex((part) => typeof part === 'string' && part.endsWith(marker));
  if (i < 0) throw new Error(`no ${marker} in user data`);
  return join[i + 1];
}

function policyStatements(template: Template): { Action: string | string[]; Resource: unknown }[] {
  return Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
    (p) => p.Properties.PolicyDocument.Statement,
  );
}

const primaryUserData = userDataOf(t.appPrimary);

describe('instance bootstrap (user data)', () => {
  test('installs Node.js 22, amazon-efs-utils and the CloudWatch agent on Amazon Linux 2023', () => {
    expect(primaryUserData).toContain('dnf install -y nodejs22 amazon-efs-utils amazon-cloudwatch-agent');
  });

  test('mounts the region file system with TLS and IAM authorization', () => {
    expect(primaryUserData).toMatch(
      /echo '<token>:\/ \/mnt\/shared efs _netdev,noresvport,tls,iam 0 0' >> \/etc\/fstab/,
    );
    expect(tokenAfter(t.appPrimary, "|| echo '")).toEqual({
      'Fn::ImportValue': expect.stringMatching(/^HaWeb-demo-Storage-us-east-1:ExportsOutputRefSharedFiles/),
    });
  });

  test('fails the boot if the file system cannot be mounted', () => {
    expect(primaryUserData).toContain('set -euo pipefail');
    expect(primaryUserData).toContain('\nmountpoint -q /mnt/shared\n');
  });

  test('reads both secrets from Secrets Manager by name in its own region', () => {
    expect(primaryUserData).toContain(
      `DB_SECRET=$(aws secretsmanager get-secret-value --region "$REGION" --secret-id 'haweb/demo/database'`,
    );
    expect(primaryUserData).toContain(
      `CACHE_TOKEN=$(aws secretsmanager get-secret-value --region "$REGION" --secret-id 'haweb/demo/cache-auth'`,
    );
  });

  test('writes the secrets into a root-only environment file and never traces the shell', () => {
    expect(primaryUserData).toMatch(/umask 077\ncat > \/etc\/ha-web\/service.env <<ENV\n/);
    expect(primaryUserData).toContain('DATABASE_PASSWORD=$(jq -r .password <<<"$DB_SECRET")');
    expect(primaryUserData).toContain('REDIS_PASSWORD=$CACHE_TOKEN');
    expect(primaryUserData).not.toMatch(/set -x|set -o xtrace/);
  });

  test('turns on TLS to the database and the cache', () => {
    expect(primaryUserData).toContain('DATABASE_SSL=true\nDATABASE_SSL_CA=/etc/ha-web/rds-ca.pem');
    expect(primaryUserData).toContain('REDIS_TLS=true');
  });

  test('points the service at its region data tier', () => {
    expect(tokenAfter(t.appSecondary, 'DATABASE_HOST=')).toEqual({
      'Fn::ImportValue': expect.stringMatching(
        /^HaWeb-demo-Data-us-west-2:ExportsOutputFnGetAttDatabaseCluster\w+EndpointAddress/,
      ),
    });
    expect(tokenAfter(t.appSecondary, 'REDIS_HOST=')).toEqual({
      'Fn::ImportValue': expect.stringMatching(
        /^HaWeb-demo-Data-us-west-2:ExportsOutputFnGetAttSessionCache\w+PrimaryEndPointAddress/,
      ),
    });
  });

  test('trusts exactly one proxy hop (the ALB) for the client IP', () => {
    expect(primaryUserData).toContain('TRUSTED_PROXY_HOPS=1');
  });

  test('drains for as long as the ALB needs to see the failing health check', () => {
    expect(primaryUserData).toContain(
      `SHUTDOWN_DRAIN_SECONDS=${demo.service.healthCheckIntervalSeconds * demo.service.unhealthyThresholdCount}`,
    );
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
      expect(primaryUserData).toContain(`\n${line}\n`);
    }
    expect(primaryUserData).toContain('systemctl enable --now ha-web.service');
  });

  test('stops within drain plus a bounded grace', () => {
    expect(primaryUserData).toContain('TimeoutStopSec=80');
  });

  test('ships the service and bootstrap logs to the region log group', () => {
    expect(primaryUserData).toContain('"file_path":"/var/log/ha-web/service.log","log_group_name":"');
    expect(primaryUserData).toContain('amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s');
    t.appPrimary.hasResourceProperties('AWS::Logs::LogGroup', {
      RetentionInDays: 365,
      KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^LogsKey'), 'Arn'] },
    });
  });

  test('downloads the service bundle of its launch template version', () => {
    expect(primaryUserData).toMatch(
      /aws s3 cp --region "\$REGION" 's3:\/\/cdk-hnb659fds-assets-111111111111-us-east-1\/[0-9a-f]{64}\.zip'/,
    );
  });

  test('reports the bundle hash as the service version', () => {
    expect(primaryUserData).toMatch(/\nSERVICE_VERSION=[0-9a-f]{64}\n/);
  });
});

describe('instance role grants for the bootstrap', () => {
  const statements = policyStatements(t.appPrimary);
  const allows = (action: string) => statements.filter((s) => ([] as string[]).concat(s.Action).includes(action));

  test('can read exactly its service bundle from the asset bucket', () => {
    const reads = allows('s3:GetObject');
    expect(reads).toHaveLength(1);
    expect(JSON.stringify(reads[0].Resource)).toMatch(/cdk-hnb659fds-assets-111111111111-us-east-1\/[0-9a-f]{64}\.zip/);
  });

  test('can write its log streams, only to the service log group', () => {
    const logs = statements.filter((s) => ([] as string[]).concat(s.Action).includes('logs:PutLogEvents'));
    expect(logs).toHaveLength(1);
    expect(JSON.stringify(logs[0].Resource)).toContain('BootstrapLogs');
  });

  test('reads secrets only by their names', () => {
    const reads = statements.filter((s) => ([] as string[]).concat(s.Action).includes('secretsmanager:GetSecretValue'));
    const resources = JSON.stringify(reads.map((s) => s.Resource));
    expect(resources).toContain('secret:haweb/demo/database-??????');
    expect(resources).toContain('secret:haweb/demo/cache-auth-??????');
    expect(resources).not.toMatch(/"\*"/);
  });
});

describe('ServiceBundle', () => {
  const bundleIn = (sourceDir: string) => {
    const stack = new Stack(newApp(), 'Bundle');
    return new ServiceBundle(stack, 'Service', { sourceDir });
  };
  const sourceWith = (code: string) => {
    const dir = tempDir('service-src-');
    fs.mkdirSync(path.join(dir, 'src'));
    fs.writeFileSync(path.join(dir, 'src', 'server.ts'), code);
    return dir;
  };

  test('a change to the service code changes the version, so the launch template rolls', () => {
    const a = bundleIn(sourceWith('console.log("v1");\n'));
    const b = bundleIn(sourceWith('console.log("v2");\n'));
    expect(a.version).not.toEqual(b.version);
  });

  test('the same code gives the same version wherever it is bundled', () => {
    expect(bundleIn(sourceWith('export const x = 1;\n')).version).toEqual(
      bundleIn(sourceWith('export const x = 1;\n')).version,
    );
  });

  test('bundles the real service into one server.js with a source map relative to the source folder', () => {
    const app = new App({ outdir: tempDir('bundle-out-') });
    const stack = new Stack(app, 'Real');
    const bundle = new ServiceBundle(stack, 'Service');
    app.synth();
    const dir = path.join(app.outdir, `asset.${bundle.asset.assetHash}`);
    expect(fs.readdirSync(dir).sort()).toEqual(['server.js', 'server.js.map']);
    const map = JSON.parse(fs.readFileSync(path.join(dir, 'server.js.map'), 'utf8'));
    expect(map.sources).toContain('src/server.ts');
    expect(SERVICE_SOURCE_DIR).toBe(path.join(__dirname, '..', '..', 'service'));
  });
});
