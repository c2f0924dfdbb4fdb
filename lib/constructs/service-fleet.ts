import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as efs from 'aws-cdk-lib/aws-efs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { databaseRoleOf, ServiceDefinition } from '../config';
import { ServiceNames } from '../names';
import { acknowledgeNag } from '../nag';
import { servicePascalName } from '../stack-outputs';
import { ServiceBootstrap, ServiceEndpoints } from './service-bootstrap';
import { ServiceBundle } from './service-bundle';
import { ServiceSettings } from './service-settings';
import { pinnedMachineImage, WebFleet } from './web-fleet';

/** The region's data components as a service's instances reach them. */
export interface RegionData {
  /** Where the service finds them (only those it uses are given to it). */
  readonly endpoints: ServiceEndpoints;
  /** The region's file system, when the environment has shared files. */
  readonly fileSystem?: efs.IFileSystem;
  /**
   * ARN of the key that encrypts the data components' secrets in this region.
   * @default - secrets use the AWS managed key (the secondary's replicas)
   */
  readonly secretsKeyArn?: string;
}

/** Properties of a {@link ServiceFleet}. */
export interface ServiceFleetProps {
  /** The service, as the config defines it. */
  readonly service: ServiceDefinition;
  /** Which of the config's regions this is: picks the capacity and, for an image artifact, the image. */
  readonly role: 'primary' | 'secondary';
  /** The service's fixed names. */
  readonly names: ServiceNames;
  /**
   * The region's base image for a directory artifact (`RegionConfig.machineImageId`).
   * @default - the latest Amazon Linux 2023 image, looked up once and kept in `cdk.context.json`
   */
  readonly baseMachineImageId?: string;
  /** The region's VPC. */
  readonly vpc: ec2.IVpc;
  /** Security group of the instances (the data stores trust it). */
  readonly securityGroup: ec2.ISecurityGroup;
  /** The region's shared HTTPS listener. */
  readonly listener: elbv2.ApplicationListener;
  /** Topic of the alarms and scaling notifications. */
  readonly alarmTopic: sns.ITopic;
  /** The region's CloudWatch Logs key. */
  readonly logsKey: kms.IKey;
  /** The region's data components. */
  readonly data: RegionData;
}

/**
 * One service in one region, deployed from its config entry with no special case for any service: its artifact
 * (a bundled or packaged directory as an S3 asset, or an image), its central configuration, the boot script with
 * only the data components it uses, and its {@link WebFleet} (Auto Scaling group with instance refresh and alarm
 * rollback, target group, rule on the shared listener). The instance role gets exactly what the service needs:
 * its artifact, logs and settings, the secrets of the data components it uses and its own, the file system when
 * it uses shared files, and its `grants`.
 */
export class ServiceFleet extends Construct {
  /** The fleet: group, launch template, target group, listener rule, rollback alarms. */
  public readonly fleet: WebFleet;
  /** The boot script and the service's log group. */
  public readonly bootstrap: ServiceBootstrap;
  /** The service's central configuration in this region. */
  public readonly settings: ServiceSettings;
  /** The artifact, for a directory artifact. */
  public readonly bundle?: ServiceBundle;

  constructor(scope: Construct, id: string, props: ServiceFleetProps) {
    super(scope, id);
    const { service } = props;
    const { directory, build, exclude, machineImageIds } = service.artifact;
    const region = Stack.of(this).region;
    this.bundle =
      directory !== undefined ? new ServiceBundle(this, 'Artifact', { directory, build, exclude }) : undefined;
    this.settings = new ServiceSettings(this, 'Settings', {
      path: props.names.settingsPath,
      settings: service.environment ?? {},
    });
    const uses = (c: ServiceDefinition['uses'][number]) => service.uses.includes(c);
    const e = props.data.endpoints;
    this.bootstrap = new ServiceBootstrap(this, 'Bootstrap', {
      service,
      bundle: this.bundle,
      version: this.bundle?.version ?? machineImageIds![props.role],
      endpoints: {
        database: uses('database') ? e.database : undefined,
        cache: uses('sessionCache') ? e.cache : undefined,
        fileSystemId: uses('sharedFiles') ? e.fileSystemId : undefined,
      },
      // As long as the ALB needs to see the failing health check (interval x threshold).
      drainSeconds: service.healthCheck.intervalSeconds * service.healthCheck.unhealthyThresholdCount,
      logsKey: props.logsKey,
      settings: this.settings,
    });

    this.fleet = new WebFleet(this, 'Fleet', {
      serviceName: service.name,
      vpc: props.vpc,
      securityGroup: props.securityGroup,
      listener: props.listener,
      routing: service.routing,
      port: service.port,
      healthCheck: service.healthCheck,
      rollout: service.rollout,
      autoScalingGroupName: props.names.autoScalingGroupName,
      instanceTypes: service.instanceTypes,
      machineImage: machineImageIds
        ? ec2.MachineImage.genericLinux({ [region]: machineImageIds[props.role] })
        : pinnedMachineImage(this, service.instanceTypes[0]!, props.baseMachineImageId),
      capacity: service.capacity[props.role],
      alarmTopic: props.alarmTopic,
      userData: this.bootstrap.userData,
    });
    // A new set of settings exists before the instance refresh's instances boot and read it.
    if (!this.settings.isEmpty) this.fleet.autoScalingGroup.node.addDependency(this.settings);
    this.grant(props);
  }

  /** The instance role's permissions, by grants only. */
  private grant(props: ServiceFleetProps): void {
    const { service } = props;
    const role = this.fleet.role;
    const e = props.data.endpoints;
    this.bootstrap.grantTo(role);
    // Imported by name, so the grants land in the instance role's policy, not in the data stack's resource
    // policies (which would make the data stack depend on this one).
    const secretNames = service.uses.includes('sessionCache') && e.cache ? [e.cache.authSecretName] : [];
    if (service.uses.includes('database') && e.database) {
      // Its own role only, on this region's cluster: IAM database authentication tokens, no password.
      const stack = Stack.of(this);
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'ConnectAsServiceDatabaseRole',
          actions: ['rds-db:connect'],
          resources: [
            stack.formatArn({
              service: 'rds-db',
              resource: 'dbuser',
              resourceName: `${e.database.clusterResourceId}/${databaseRoleOf(service.name).role}`,
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          ],
        }),
      );
    }
    secretNames.forEach((name, i) =>
      secretsmanager.Secret.fromSecretNameV2(this, `DataSecret${i + 1}`, name).grantRead(role),
    );
    if (secretNames.length > 0 && props.data.secretsKeyArn) {
      kms.Key.fromKeyArn(this, 'DataSecretsKey', props.data.secretsKeyArn).grantDecrypt(role);
    }
    Object.keys(service.secrets ?? {})
      .sort()
      .forEach((name) =>
        secretsmanager.Secret.fromSecretNameV2(this, `Secret${name}`, service.secrets![name]!.secretName).grantRead(
          role,
        ),
      );
    if (service.uses.includes('sharedFiles') && props.data.fileSystem) props.data.fileSystem.grantReadWrite(role);
    (service.grants ?? []).forEach((g, i) => {
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({ sid: `Grant${i + 1}`, actions: [...g.actions], resources: [...g.resources] }),
      );
    });
    const wildcards = (service.grants ?? []).filter((g) => g.reason !== undefined);
    if (wildcards.length > 0) {
      const policy = role.node.findChild('DefaultPolicy');
      for (const g of wildcards) {
        for (const finding of [
          ...g.actions.filter((a) => a.includes('*')).map((a) => `Action::${a}`),
          ...g.resources.filter((r) => r.includes('*')).map((r) => `Resource::${r}`),
        ]) {
          acknowledgeNag(policy, `AwsSolutions-IAM5[${finding}]`, `Service ${service.name}'s grant: ${g.reason}`);
        }
      }
    }
  }
}

/** Construct ID of a service's fleet in a region's App stack: `Service` + its name in Pascal case. */
export function serviceFleetId(service: string): string {
  return `Service${servicePascalName(service)}`;
}
