import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { createLogGroup } from '../defaults';
import { ServiceBundle } from './service-bundle';
import { ServiceSettings, settingsCommands } from './service-settings';

/** Where the service finds the region's data tier and shared files. */
export interface ServiceEndpoints {
  /** Hostname of the Aurora cluster endpoint. */
  readonly databaseHost: string;
  /** Hostname of the Aurora reader endpoint. */
  readonly databaseReadHost: string;
  /** PostgreSQL port. */
  readonly databasePort: number;
  /** Secrets Manager name of the database credentials (a replica in the secondary region). */
  readonly databaseSecretName: string;
  /** Hostname of the cache's primary endpoint. */
  readonly cacheHost: string;
  /** Valkey port. */
  readonly cachePort: number;
  /** Secrets Manager name of the cache AUTH token. */
  readonly cacheAuthSecretName: string;
  /** ID of the region's EFS file system. */
  readonly fileSystemId: string;
}

/** Properties of a {@link ServiceBootstrap}. */
export interface ServiceBootstrapProps {
  /** The bundled service. */
  readonly bundle: ServiceBundle;
  /** The region's data tier and files. */
  readonly endpoints: ServiceEndpoints;
  /** Port the service listens on. */
  readonly port: number;
  /**
   * Seconds the service keeps answering after SIGTERM while its health check
   * fails, so the load balancer stops sending before the listener closes.
   */
  readonly drainSeconds: number;
  /** The region's CloudWatch Logs key, which encrypts the service logs. */
  readonly logsKey: kms.IKey;
  /**
   * How long service logs are kept in CloudWatch Logs.
   * @default LOG_RETENTION (one year)
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * The service's central configuration, loaded into its environment at boot; its version is in the script, so a
   * change of a setting changes the launch template and rolls the fleet.
   * @default - no settings
   */
  readonly settings?: ServiceSettings;
}

/** Mount point of the shared EFS file system on the instances. */
export const SHARED_MOUNT = '/mnt/shared';
/** Directory of the service's files inside the mount. */
export const FILES_DIR = `${SHARED_MOUNT}/files`;
/** Environment file with the secrets, readable by root only (systemd reads it before dropping privileges). */
export const SERVICE_ENV_FILE = '/etc/ha-web/service.env';
/** Node.js 22 as Amazon Linux 2023 installs it (a namespaced binary). */
export const NODE_BINARY = '/usr/bin/node-22';

/**
 * What an instance runs at first boot (Amazon Linux 2023): installs Node.js 22,
 * amazon-efs-utils and the CloudWatch agent; mounts the region's EFS file
 * system over TLS with IAM authorization; downloads the service bundle; reads
 * the database and cache secrets from Secrets Manager into a root-only
 * environment file (never into the log); runs the service under systemd
 * (restart on failure, SIGTERM to stop, sandboxed, unprivileged user) and
 * ships its logs to CloudWatch Logs. Grant the instance role with
 * {@link ServiceBootstrap.grantTo}.
 */
export class ServiceBootstrap extends Construct {
  /** The boot script, for the launch template. */
  public readonly userData: ec2.UserData;
  /** Log group of the service and bootstrap logs, one stream per instance. */
  public readonly logGroup: logs.LogGroup;
  private readonly bundle: ServiceBundle;
  private readonly settings?: ServiceSettings;

  constructor(scope: Construct, id: string, props: ServiceBootstrapProps) {
    super(scope, id);
    this.bundle = props.bundle;
    this.settings = props.settings;
    this.logGroup = createLogGroup(this, 'Logs', { encryptionKey: props.logsKey, retention: props.logRetention });
    this.userData = ec2.UserData.forLinux();
    this.userData.addCommands(...bootstrapCommands(props, this.logGroup.logGroupName));
  }

  /** Gives an instance role what the boot script and the service need, by grants only. */
  public grantTo(role: iam.IRole): void {
    // Exactly this version's object: the asset bucket holds every asset of the account.
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [this.bundle.asset.bucket.arnForObjects(this.bundle.asset.s3ObjectKey)],
      }),
    );
    this.logGroup.grantWrite(role);
    this.logGroup.grant(role, 'logs:DescribeLogStreams');
    this.settings?.grantRead(role);
  }
}

/**
 * UID and GID of the service's user, the same on every instance of both regions: EFS replication copies files
 * with their owner's numeric IDs, so after a region switch the other region's instances must own what this one
 * wrote. (A system account created without a fixed ID takes the next free one, which differs between AMIs.)
 */
export const SERVICE_UID = 2001;

/**
 * The boot script's step that prepares the service's files directory on the mounted EFS file system. In the
 * active region it creates it (owner the service user, mode 0750). In the passive region the file system is an
 * EFS replication destination, read-only until the region switch (AWS: "The file system is read-only and is
 * modified only by EFS replication"): `install` fails there with EROFS even when the directory exists, which
 * under `set -e` stopped the boot and had the ALB replace the instance in a loop. So a failure of this step is
 * logged and the boot goes on: the directory is used as replicated, and the service's readiness reports the
 * files (`writable: false`, or not ready while the directory is missing).
 */
export function sharedFilesCommands(user = 'ha-web'): string[] {
  return [
    `if ! ${filesDirCommand(user)}; then`,
    `  echo "${FILES_DIR} not prepared: ${SHARED_MOUNT} is read-only (an EFS replication destination until the region switch) or refused; the service reports it"`,
    'fi',
  ];
}

/** Creates the service's files directory on the mount (owner the service user, mode 0750); idempotent. */
export function filesDirCommand(user = 'ha-web'): string {
  return `install -d -o ${user} -g ${user} -m 0750 ${FILES_DIR}`;
}

/** Seconds between the files-directory unit's attempts (`FILES_DIR_RETRY_SECONDS`). */
export const FILES_DIR_RETRY_SECONDS = 60;

/**
 * systemd units that create the files directory once the mount can be written: in the passive region the boot
 * cannot (the EFS replication destination is read-only), and after the region's promotion the directory may
 * still be missing (no replication had arrived yet); the service runs as an unprivileged user who cannot create
 * it under the mount's root-owned top. A timer runs the creation as root every
 * {@link FILES_DIR_RETRY_SECONDS} seconds until the directory exists (`ExecCondition` skips it after that), so a
 * promoted region's instances get it within a minute, without a restart.
 */
export function filesDirUnits(user = 'ha-web'): string[] {
  return [
    "cat > /etc/systemd/system/ha-web-files-dir.service <<'UNIT'",
    '[Unit]',
    'Description=Create the HA web service files directory once the shared mount is writable',
    `RequiresMountsFor=${SHARED_MOUNT}`,
    '[Service]',
    'Type=oneshot',
    `ExecCondition=/bin/sh -c '! test -d ${FILES_DIR}'`,
    `ExecStart=/usr/bin/${filesDirCommand(user)}`,
    'UNIT',
    "cat > /etc/systemd/system/ha-web-files-dir.timer <<'UNIT'",
    '[Unit]',
    'Description=Retry creating the HA web service files directory (read-only until the region switch)',
    '[Timer]',
    `OnActiveSec=${FILES_DIR_RETRY_SECONDS}`,
    `OnUnitActiveSec=${FILES_DIR_RETRY_SECONDS}`,
    '[Install]',
    'WantedBy=timers.target',
    'UNIT',
  ];
}

/** The shell commands of the boot script (without the shebang). */
export function bootstrapCommands(props: ServiceBootstrapProps, logGroupName: string): string[] {
  const e = props.endpoints;
  const asset = props.bundle.asset;
  const settings = props.settings && !props.settings.isEmpty ? props.settings : undefined;
  const stopTimeoutSeconds = props.drainSeconds + 60;
  const agentConfig = JSON.stringify({
    logs: {
      logs_collected: {
        files: {
          collect_list: [
            {
              file_path: '/var/log/ha-web/service.log',
              log_group_name: logGroupName,
              log_stream_name: '{instance_id}/service',
            },
            {
              file_path: '/var/log/ha-web-bootstrap.log',
              log_group_name: logGroupName,
              log_stream_name: '{instance_id}/bootstrap',
            },
          ],
        },
      },
    },
  });
  return [
    // Never `set -x`: the secrets pass through shell variables below.
    'set -euo pipefail',
    'exec >>/var/log/ha-web-bootstrap.log 2>&1',
    'echo "bootstrap started $(date -Is)"',
    'install -d -m 0755 /etc/ha-web',
    'dnf install -y nodejs22 amazon-efs-utils amazon-cloudwatch-agent jq unzip',
    "IMDS_TOKEN=$(curl -fsS -X PUT http://169.254.169.254/latest/api/token -H 'X-aws-ec2-metadata-token-ttl-seconds: 300')",
    'INSTANCE_ID=$(curl -fsS -H "X-aws-ec2-metadata-token: $IMDS_TOKEN" http://169.254.169.254/latest/meta-data/instance-id)',
    'REGION=$(curl -fsS -H "X-aws-ec2-metadata-token: $IMDS_TOKEN" http://169.254.169.254/latest/meta-data/placement/region)',
    // Fixed IDs: replicated files keep their numeric owner across regions.
    `getent group ha-web >/dev/null || groupadd --system --gid ${SERVICE_UID} ha-web`,
    `id ha-web >/dev/null 2>&1 || useradd --system --uid ${SERVICE_UID} --gid ${SERVICE_UID} --no-create-home --shell /sbin/nologin ha-web`,
    'install -d -o ha-web -g ha-web -m 0750 /var/log/ha-web',

    // Logs first, so a failed boot is visible in CloudWatch.
    `cat > /opt/aws/amazon-cloudwatch-agent/etc/ha-web.json <<'AGENT'`,
    agentConfig,
    'AGENT',
    '/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s -c file:/opt/aws/amazon-cloudwatch-agent/etc/ha-web.json',

    // Shared files: EFS over TLS, authorized by the instance role.
    `install -d ${SHARED_MOUNT}`,
    `grep -q ' ${SHARED_MOUNT} ' /etc/fstab || echo '${e.fileSystemId}:/ ${SHARED_MOUNT} efs _netdev,noresvport,tls,iam 0 0' >> /etc/fstab`,
    `for attempt in $(seq 1 30); do mountpoint -q ${SHARED_MOUNT} && break; mount ${SHARED_MOUNT} || sleep 10; done`,
    `mountpoint -q ${SHARED_MOUNT}`,
    ...sharedFilesCommands(),

    // The service bundle of this launch template version.
    `aws s3 cp --region "$REGION" 's3://${asset.s3BucketName}/${asset.s3ObjectKey}' /tmp/ha-web-service.zip`,
    'rm -rf /opt/ha-web/app && install -d -m 0755 /opt/ha-web/app',
    'unzip -q -o /tmp/ha-web-service.zip -d /opt/ha-web/app && rm -f /tmp/ha-web-service.zip',
    'curl -fsSL -o /etc/ha-web/rds-ca.pem https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem',

    // Secrets: from Secrets Manager into a root-only file, never echoed.
    `DB_SECRET=$(aws secretsmanager get-secret-value --region "$REGION" --secret-id '${e.databaseSecretName}' --query SecretString --output text)`,
    `CACHE_TOKEN=$(aws secretsmanager get-secret-value --region "$REGION" --secret-id '${e.cacheAuthSecretName}' --query SecretString --output text)`,
    // Central configuration (Parameter Store), then the environment file.
    ...(settings ? settingsCommands(settings) : []),
    'umask 077',
    `cat > ${SERVICE_ENV_FILE} <<ENV`,
    // The settings first: a line below with the same name would win (systemd keeps the last assignment).
    ...(settings ? ['$SETTINGS_ENV'] : []),
    `SERVICE_VERSION=${props.bundle.version}`,
    'INSTANCE_ID=$INSTANCE_ID',
    `PORT=${props.port}`,
    'HOST=0.0.0.0',
    'TRUSTED_PROXY_HOPS=1',
    `DATABASE_HOST=${e.databaseHost}`,
    `DATABASE_PORT=${e.databasePort}`,
    // Reads go here while the writer endpoint is inactive (the passive region's secondary cluster).
    `DATABASE_READER_HOST=${e.databaseReadHost}`,
    'DATABASE_NAME=$(jq -r .dbname <<<"$DB_SECRET")',
    'DATABASE_USER=$(jq -r .username <<<"$DB_SECRET")',
    'DATABASE_PASSWORD=$(jq -r .password <<<"$DB_SECRET")',
    'DATABASE_SSL=true',
    'DATABASE_SSL_CA=/etc/ha-web/rds-ca.pem',
    `REDIS_HOST=${e.cacheHost}`,
    `REDIS_PORT=${e.cachePort}`,
    'REDIS_PASSWORD=$CACHE_TOKEN',
    'REDIS_TLS=true',
    `FILES_DIR=${FILES_DIR}`,
    'COOKIE_SECURE=true',
    `SHUTDOWN_DRAIN_SECONDS=${props.drainSeconds}`,
    'SHUTDOWN_TIMEOUT_SECONDS=45',
    ...(settings ? [`SETTINGS_VERSION=${settings.version}`] : []),
    'ENV',
    'umask 022',
    'unset DB_SECRET CACHE_TOKEN',

    // systemd: restart on failure, SIGTERM to stop, no privileges.
    "cat > /etc/systemd/system/ha-web.service <<'UNIT'",
    '[Unit]',
    'Description=HA web reference service',
    'Wants=network-online.target',
    'After=network-online.target remote-fs.target',
    `RequiresMountsFor=${SHARED_MOUNT}`,
    '[Service]',
    'Type=simple',
    'User=ha-web',
    'Group=ha-web',
    `EnvironmentFile=${SERVICE_ENV_FILE}`,
    `ExecStart=${NODE_BINARY} --enable-source-maps /opt/ha-web/app/server.js`,
    'Restart=on-failure',
    'RestartSec=2',
    'KillSignal=SIGTERM',
    `TimeoutStopSec=${stopTimeoutSeconds}`,
    'StandardOutput=append:/var/log/ha-web/service.log',
    'StandardError=append:/var/log/ha-web/service.log',
    'NoNewPrivileges=true',
    'ProtectSystem=strict',
    'ProtectHome=true',
    'PrivateTmp=true',
    // The mount, not the files directory: in the passive region the directory may arrive by replication after
    // the unit started, and it must be writable in the unit's namespace once the region is promoted.
    `ReadWritePaths=${SHARED_MOUNT} /var/log/ha-web`,
    '[Install]',
    'WantedBy=multi-user.target',
    'UNIT',
    "cat > /etc/logrotate.d/ha-web <<'ROTATE'",
    '/var/log/ha-web/service.log {',
    '  daily',
    '  rotate 3',
    '  compress',
    '  missingok',
    '  copytruncate',
    '}',
    'ROTATE',
    ...filesDirUnits(),
    'systemctl daemon-reload',
    'systemctl enable --now ha-web.service',
    'systemctl enable --now ha-web-files-dir.timer',
    'echo "bootstrap finished $(date -Is)"',
  ];
}
