import { Stack, StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';

/** Properties of a {@link RegionalStack}. */
export interface RegionalStackProps extends StackProps {
  /** The availability zones of the stack's region, from the environment config. */
  readonly availabilityZones: readonly string[];
}

/**
 * A stack bound to one account and region whose availability zones come from
 * config instead of a context lookup, so synthesis needs no AWS credentials.
 *
 * Cross-region references are on: a token from a stack in the other region
 * becomes an output of the producing stack and a CloudFormation
 * `Fn::GetStackOutput` (with `Region`) in the consuming stack, resolved when
 * the consuming stack is created or updated. That reference is weak: the
 * producer does not know it is consumed, so the values passed this way are
 * IDs of stateful resources that never change (the secondary's EFS file
 * system ID, the Global Datastore ID).
 */
export class RegionalStack extends Stack {
  private readonly zones: string[];

  constructor(scope: Construct, id: string, props: RegionalStackProps) {
    super(scope, id, { ...props, crossRegionReferences: true });
    this.zones = [...props.availabilityZones];
  }

  /** The configured zones; never a lookup. */
  public override get availabilityZones(): string[] {
    return this.zones;
  }
}
