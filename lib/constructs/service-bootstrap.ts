import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { createLogGroup } from '../defaults';
import { ServiceBundle } from './service-bundle';
import { ServiceSettings, settingsCommands } from './service-settings';
import { databaseRoleOf, type BootHook, type ServiceSecret } from '../config';

/** Where a service finds the region's Aurora cluster (when it uses the database). */
export interface DatabaseEndpoints {
  /** Hostname of the Aurora cluster endpoint. */
  readonly host: string;
  /** Hostname of the Aurora reader endpoint. */
  readonly readHost: string;
  /** PostgreSQL port. */
  readonly port: number;
  /** The application database. */
  readonly name: string;
  /**
   * The cluster's resource ID (`cluster-...`): the instance role may sign IAM database authentication tokens for
   * the service's role on it (`rds-db:connect`).
   */
  readonly clusterResourceId: string;
}

/** Where a service finds the region's session cache (when it uses it). */
export interface CacheEndpoints {
  /** Hostname of the cache's primary endpoint. */
  readonly host: string;
  /** Valkey port. */
  readonly port: number;
  /** Secrets Manager name of the cache AUTH token. */
  readonly authSecretName: string;
}

/** The region's data components a service uses; each absent one is neither configured nor reachable. */
export interface ServiceEndpoints {
  /** The database: `DATABASE_*`. @default - not used */
  readonly database?: DatabaseEndpoints;
  /** The session cache: `REDIS_*`. @default - not used */
  readonly cache?: CacheEndpoints;
  /** ID of the region's EFS file system, mounted at {@link SHARED_MOUNT}: `FILES_DIR`. @default - not used */
  readonly fileSystemId?: string;
}

/** What the boot script needs of the service itself (`ServiceDefinition` of the config). */
export interface BootstrappedService {
  /** The service's name. */
  readonly name: string;
  /** Port it listens on. */
  readonly port: number;
  /** The command systemd runs in {@link APP_DIR}, as the service user. */
  readonly runCommand: string;
  /** Packages and commands before the start. */
  readonly bootHook?: BootHook;
  /** Secrets read at boot, variable name to secret. */
  readonly secrets?: Readonly<Record<string, ServiceSecret>>;
}

/** Properties of a {@link ServiceBootstrap}. */
export interface ServiceBootstrapProps {
  /** The service. */
  readonly service: BootstrappedService;
  /**
   * The service's packaged directory, downloaded to {@link APP_DIR} at boot.
   * @default - none: the image holds the service (an image artifact)
   */
  readonly bundle?: ServiceBundle;
  /** The version the instances report (`SERVICE_VERSION`): the bundle's hash, or the image ID. */
  readonly version: string;
  /** The region's data components the service uses. */
  readonly endpoints: ServiceEndpoints;
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
/** Directory of a service's files inside the mount: `/mnt/shared/<service>` (`FILES_DIR`). */
export function filesDirOf(service: string): string {
  return `${SHARED_MOUNT}/${service}`;
}
/** Where the service's artifact is unpacked, and its working directory. */
export const APP_DIR = '/opt/haweb/app';
/** Environment file with the secrets, readable by root only (systemd reads it before dropping privileges). */
export const SERVICE_ENV_FILE = '/etc/ha-web/service.env';

/** `value` in single quotes for bash. */
function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * What an instance runs at first boot (Amazon Linux 2023), for one service: installs the CloudWatch agent, the
 * service's boot-hook packages and, when it uses shared files, amazon-efs-utils; mounts the region's EFS file
 * system over TLS with IAM authorization; downloads the service's artifact (unless its image holds it); reads
 * the data components' secrets and the service's own from Secrets Manager into a root-only environment file
 * (never into the log); loads its central configuration; runs the boot hook's commands; runs the service under
 * systemd (restart on failure, SIGTERM to stop, sandboxed, unprivileged user) and ships its logs to CloudWatch
 * Logs. Grant the instance role with {@link ServiceBootstrap.grantTo}.
 */
export class ServiceBootstrap extends Construct {
  /** The boot script, for the launch template. */
  public readonly userData: ec2.UserData;
  /** Log group of the service and bootstrap logs, one stream per instance. */
  public readonly logGroup: logs.LogGroup;
  private readonly bundle?: ServiceBundle;
  private readonly settings?: ServiceSettings;

  constructor(scope: Construct, id: string, props: ServiceBootstrapProps) {
    super(scope, id);
    this.bundle = props.bundle;
    this.settings = props.settings;
    this.logGroup = createLogGroup(this, 'Logs', { encryptionKey: props.logsKey, retention: props.logRetention });
    this.userData = ec2.UserData.forLinux();
    this.userData.addCommands(...bootstrapCommands(props, this.logGroup.logGroupName));
  }

  /** Gives an instance role what the boot script needs (the artifact, the logs, the settings), by grants only. */
  public grantTo(role: iam.IRole): void {
    // Exactly this version's object: the asset bucket holds every asset of the account.
    if (this.bundle) {
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['s3:GetObject'],
          resources: [this.bundle.asset.bucket.arnForObjects(this.bundle.asset.s3ObjectKey)],
        }),
      );
    }
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

/** The service's user and group on every instance (one service per instance). */
export const SERVICE_USER = 'ha-web';

/**
 * The boot script's step that prepares the service's files directory on the mounted EFS file system. In the
 * active region it creates it (owner the service user, mode 0750). In the passive region the file system is an
 * EFS replication destination, read-only until the region switch (AWS: "The file system is read-only and is
 * modified only by EFS replication"): `install` fails there with EROFS even when the directory exists, which
 * under `set -e` stopped the boot and had the ALB replace the instance in a loop. So a failure of this step is
 * logged and the boot goes on: the directory is used as replicated, and the service's readiness reports the
 * files (`writable: false`, or not ready while the directory is missing).
 */
export function sharedFilesCommands(filesDir: string, user = SERVICE_USER): string[] {
  return [
    `if ! ${filesDirCommand(filesDir, user)}; then`,
    `  echo "${filesDir} not prepared: ${SHARED_MOUNT} is read-only (an EFS replication destination until the region switch) or refused; the service reports it"`,
    'fi',
  ];
}

/** Creates the service's files directory on the mount (owner the service user, mode 0750); idempotent. */
export function filesDirCommand(filesDir: string, user = SERVICE_USER): string {
  return `install -d -o ${user} -g ${user} -m 0750 ${filesDir}`;
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
export function filesDirUnits(filesDir: string, user = SERVICE_USER): string[] {
  return [
    "cat > /etc/systemd/system/ha-web-files-dir.service <<'UNIT'",
    '[Unit]',
    'Description=Create the HA web service files directory once the shared mount is writable',
    `RequiresMountsFor=${SHARED_MOUNT}`,
    '[Service]',
    'Type=oneshot',
    `ExecCondition=/bin/sh -c '! test -d ${filesDir}'`,
    `ExecStart=/usr/bin/${filesDirCommand(filesDir, user)}`,
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

/**
 * The boot script's step that reads the service's own secrets into `SECRETS_ENV`, one `NAME="value"` line each
 * (the value JSON-quoted, read back by systemd as in {@link settingsCommands}). A secret (or its JSON key) that is
 * missing, or whose value is not printable ASCII on one line, stops the boot with its name in the log (never
 * its value): store binary or multi-line values base64-encoded.
 */
export function secretsCommands(secrets: Readonly<Record<string, ServiceSecret>>): string[] {
  const names = Object.keys(secrets).sort();
  if (names.length === 0) return [];
  return [
    "SECRETS_ENV=''",
    ...names.map((name) => {
      const { secretName, jsonKey } = secrets[name]!;
      const what = jsonKey === undefined ? `secret ${secretName}` : `secret ${secretName} key ${jsonKey}`;
      // `--output json` prints SecretString as a JSON string, whatever it holds.
      const check =
        `if type == "string" and test("\\\\A[ -~]*\\\\z") then "${name}=" + tojson ` +
        `else error(${JSON.stringify(`${what} (variable ${name}) is missing or not printable ASCII on one line`)}) end`;
      const jq =
        jsonKey === undefined
          ? `jq -r ${shellQuote(check)}`
          : // jq's own parse error would quote the secret: replace it.
            `jq -r --arg key ${shellQuote(jsonKey)} ${shellQuote(
              // `try ... catch` of jq 1.6 would also catch the errors further down the pipeline: collect instead.
              `[try fromjson catch empty] | if length == 0 then error(${JSON.stringify(`secret ${secretName} is not a JSON object`)}) else .[0] end | ` +
                `(if type == "object" then .[$key] else null end) | ${check}`,
            )}`;
      const read =
        `aws secretsmanager get-secret-value --region "$REGION" --secret-id ${shellQuote(secretName)} ` +
        '--query SecretString --output json';
      return `SECRETS_ENV+="$(${read} | ${jq})"$'\\n'`;
    }),
  ];
}

/** The shell commands of the boot script (without the shebang). */
export function bootstrapCommands(props: ServiceBootstrapProps, logGroupName: string): string[] {
  const { service, endpoints: e } = props;
  const asset = props.bundle?.asset;
  const settings = props.settings && !props.settings.isEmpty ? props.settings : undefined;
  const secrets = service.secrets ?? {};
  const hasSecrets = Object.keys(secrets).length > 0;
  const filesDir = filesDirOf(service.name);
  const stopTimeoutSeconds = props.drainSeconds + 60;
  const packages = [
    'amazon-cloudwatch-agent',
    'jq',
    ...(asset ? ['unzip'] : []),
    ...(e.fileSystemId ? ['amazon-efs-utils'] : []),
    ...(service.bootHook?.packages ?? []),
  ];
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
    `echo "bootstrap of ${service.name} started $(date -Is)"`,
    'install -d -m 0755 /etc/ha-web',
    `dnf install -y ${packages.join(' ')}`,
    "IMDS_TOKEN=$(curl -fsS -X PUT http://169.254.169.254/latest/api/token -H 'X-aws-ec2-metadata-token-ttl-seconds: 300')",
    'INSTANCE_ID=$(curl -fsS -H "X-aws-ec2-metadata-token: $IMDS_TOKEN" http://169.254.169.254/latest/meta-data/instance-id)',
    'REGION=$(curl -fsS -H "X-aws-ec2-metadata-token: $IMDS_TOKEN" http://169.254.169.254/latest/meta-data/placement/region)',
    // Fixed IDs: replicated files keep their numeric owner across regions.
    `getent group ${SERVICE_USER} >/dev/null || groupadd --system --gid ${SERVICE_UID} ${SERVICE_USER}`,
    `id ${SERVICE_USER} >/dev/null 2>&1 || useradd --system --uid ${SERVICE_UID} --gid ${SERVICE_UID} --no-create-home --shell /sbin/nologin ${SERVICE_USER}`,
    `install -d -o ${SERVICE_USER} -g ${SERVICE_USER} -m 0750 /var/log/ha-web`,

    // Logs first, so a failed boot is visible in CloudWatch.
    `cat > /opt/aws/amazon-cloudwatch-agent/etc/ha-web.json <<'AGENT'`,
    agentConfig,
    'AGENT',
    '/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s -c file:/opt/aws/amazon-cloudwatch-agent/etc/ha-web.json',

    // Shared files: EFS over TLS, authorized by the instance role.
    ...(e.fileSystemId
      ? [
          `install -d ${SHARED_MOUNT}`,
          `grep -q ' ${SHARED_MOUNT} ' /etc/fstab || echo '${e.fileSystemId}:/ ${SHARED_MOUNT} efs _netdev,noresvport,tls,iam 0 0' >> /etc/fstab`,
          `for attempt in $(seq 1 30); do mountpoint -q ${SHARED_MOUNT} && break; mount ${SHARED_MOUNT} || sleep 10; done`,
          `mountpoint -q ${SHARED_MOUNT}`,
          ...sharedFilesCommands(filesDir),
        ]
      : []),

    // The service's artifact of this launch template version (an image artifact holds it already).
    ...(asset
      ? [
          `aws s3 cp --region "$REGION" 's3://${asset.s3BucketName}/${asset.s3ObjectKey}' /tmp/ha-web-service.zip`,
          `rm -rf ${APP_DIR} && install -d -m 0755 ${APP_DIR}`,
          `unzip -q -o /tmp/ha-web-service.zip -d ${APP_DIR} && rm -f /tmp/ha-web-service.zip`,
        ]
      : [`install -d -m 0755 ${APP_DIR}`]),
    ...(e.database
      ? ['curl -fsSL -o /etc/ha-web/rds-ca.pem https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem']
      : []),

    // Secrets: from Secrets Manager into a root-only file, never echoed.
    ...(e.cache
      ? [
          `CACHE_TOKEN=$(aws secretsmanager get-secret-value --region "$REGION" --secret-id '${e.cache.authSecretName}' --query SecretString --output text)`,
        ]
      : []),
    ...secretsCommands(secrets),
    // Central configuration (Parameter Store), then the environment file.
    ...(settings ? settingsCommands(settings) : []),
    'umask 077',
    `cat > ${SERVICE_ENV_FILE} <<ENV`,
    // The settings and secrets first: a line below with the same name would win (systemd keeps the last assignment).
    ...(settings ? ['$SETTINGS_ENV'] : []),
    ...(hasSecrets ? ['$SECRETS_ENV'] : []),
    `SERVICE_NAME=${service.name}`,
    `SERVICE_VERSION=${props.version}`,
    'INSTANCE_ID=$INSTANCE_ID',
    `PORT=${service.port}`,
    'HOST=0.0.0.0',
    'TRUSTED_PROXY_HOPS=1',
    ...(e.database
      ? [
          `DATABASE_HOST=${e.database.host}`,
          `DATABASE_PORT=${e.database.port}`,
          // Reads go here while the writer endpoint is inactive (the passive region's secondary cluster).
          `DATABASE_READER_HOST=${e.database.readHost}`,
          `DATABASE_NAME=${e.database.name}`,
          // The service's own role, signed in with IAM database authentication tokens (no password anywhere).
          `DATABASE_USER=${databaseRoleOf(service.name).role}`,
          'DATABASE_AUTH=iam',
          'DATABASE_REGION=$REGION',
          'DATABASE_SSL=true',
          'DATABASE_SSL_CA=/etc/ha-web/rds-ca.pem',
        ]
      : []),
    ...(e.cache
      ? [`REDIS_HOST=${e.cache.host}`, `REDIS_PORT=${e.cache.port}`, 'REDIS_PASSWORD=$CACHE_TOKEN', 'REDIS_TLS=true']
      : []),
    ...(e.fileSystemId ? [`FILES_DIR=${filesDir}`] : []),
    'COOKIE_SECURE=true',
    `SHUTDOWN_DRAIN_SECONDS=${props.drainSeconds}`,
    'SHUTDOWN_TIMEOUT_SECONDS=45',
    ...(settings ? [`SETTINGS_VERSION=${settings.version}`] : []),
    'ENV',
    'umask 022',
    'unset CACHE_TOKEN SECRETS_ENV',

    // The service's boot hook, as root, after its artifact is in place, each command in a subshell of its own
    // (its `cd` or `set` does not leak; the parenthesis on its own line, so a trailing comment stays a comment).
    ...(service.bootHook?.commands ?? []).flatMap((command) => [`(cd ${APP_DIR}`, command, ')']),

    // systemd: restart on failure, SIGTERM to stop, no privileges.
    "cat > /etc/systemd/system/ha-web.service <<'UNIT'",
    '[Unit]',
    `Description=HA web service ${service.name}`,
    'Wants=network-online.target',
    'After=network-online.target remote-fs.target',
    ...(e.fileSystemId ? [`RequiresMountsFor=${SHARED_MOUNT}`] : []),
    '[Service]',
    'Type=simple',
    `User=${SERVICE_USER}`,
    `Group=${SERVICE_USER}`,
    `WorkingDirectory=${APP_DIR}`,
    `EnvironmentFile=${SERVICE_ENV_FILE}`,
    `ExecStart=${service.runCommand}`,
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
    `ReadWritePaths=${e.fileSystemId ? `${SHARED_MOUNT} ` : ''}/var/log/ha-web`,
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
    ...(e.fileSystemId ? filesDirUnits(filesDir) : []),
    'systemctl daemon-reload',
    'systemctl enable --now ha-web.service',
    ...(e.fileSystemId ? ['systemctl enable --now ha-web-files-dir.timer'] : []),
    `echo "bootstrap of ${service.name} finished $(date -Is)"`,
  ];
}
