import { Aspects, Stack, StackProps } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { createLogsKey, EncryptLogGroups, RetainExceptOnCreate } from './defaults';

/** Properties of a {@link RegionalStack}. */
export interface RegionalStackProps extends StackProps {
  /** The availability zones of the stack's region, from the environment config. */
  readonly availabilityZones: readonly string[];
}

/**
 * A stack bound to one account and region whose availability zones come from
 * config instead of a context lookup, so synthesis needs no AWS credentials.
 * Every retained resource in it is `RetainExceptOnCreate` (`defaults.ts`), so
 * a failed first create leaves nothing behind that blocks the retry.
 *
 * References between stacks (cdk.json: `@aws-cdk/core:defaultCrossStackReferences`
 * is `strong`):
 * - in the same region, an Export and `Fn::ImportValue`: CloudFormation refuses
 *   to change or delete a value another stack still imports, so no stack ever
 *   holds a stale value;
 * - across regions, only the immutable IDs of retained resources listed in
 *   `cross-region.ts` (`crossRegionId`): the values recorded in `cdk.context.json`
 *   after the first deploy (`recorded.ts`), else weak `Fn::GetStackOutput`
 *   references. Everything else the other region needs is found by the fixed
 *   names of `names.ts`. A test fails on any other cross-region reference.
 */
export class RegionalStack extends Stack {
  private readonly zones: string[];

  constructor(scope: Construct, id: string, props: RegionalStackProps) {
    super(scope, id, { ...props, crossRegionReferences: true });
    this.zones = [...props.availabilityZones];
    Aspects.of(this).add(new RetainExceptOnCreate());
  }

  /**
   * Creates the stack's CloudWatch Logs key (`createLogsKey`, logical ID `LogsKey...`) and encrypts with it
   * every log group of the stack that names no key, the log groups inside aws-cdk-lib's own constructs
   * included. A key per stack, not one per region, because AWS Control Tower CT.CLOUDWATCH.PR.3 accepts only
   * a key of the same template, and because a stack then depends on no other stack for its logs.
   */
  protected encryptLogGroups(): kms.Key {
    const key = createLogsKey(this, 'LogsKey');
    Aspects.of(this).add(new EncryptLogGroups(key));
    return key;
  }

  /** The configured zones; never a lookup. */
  public override get availabilityZones(): string[] {
    return this.zones;
  }
}
