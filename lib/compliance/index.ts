import {
  App,
  CloudFormationValidatePlugin,
  type IPolicyValidationContext,
  type IPolicyValidationPlugin,
  type PolicyValidationPluginReport,
  Validations,
} from 'aws-cdk-lib';
import * as fs from 'fs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { EnvironmentConfig } from '../config';
import { HaEnvironment } from '../ha-environment';
import { CachedValidation } from './cached-validation';
import { acknowledgeControlTowerFindings, ControlTowerRules, ControlTowerRulesProps } from './control-tower';

export * from './cached-validation';
export * from './control-tower';

/**
 * The rule sets by others that run at every synth of an environment: aws-cdk-lib's CloudFormation Validate
 * (its default rules), cdk-nag's AwsSolutions pack (its acknowledgements sit at the resources,
 * `acknowledgeNag`) and AWS Control Tower's proactive controls through cfn-guard (its acknowledgements are the
 * reviewed list `CONTROL_TOWER_ACKNOWLEDGEMENTS`). An unacknowledged finding fails synthesis;
 * `cdk.out/validation-report.json` lists every finding and acknowledgement. The template-based rule sets
 * evaluate each template once per content ({@link CachedValidation}); cdk-nag reads the constructs, every time.
 */
export function addComplianceChecks(
  app: App,
  environment: HaEnvironment,
  config: EnvironmentConfig,
  options: ComplianceCheckOptions = {},
): void {
  acknowledgeControlTowerFindings(environment.stacks, config);
  const controlTowerRules = new ControlTowerRules(options.controlTower);
  Validations.of(app).addPlugins(
    ...(options.cloudFormationValidate === false ? [] : [new CachedCloudFormationValidate()]),
    new AwsSolutionsChecks(app, { verbose: true }),
    new CachedValidation(controlTowerRules, { identity: controlTowerRules.identity }),
  );
}

/** Options of {@link addComplianceChecks}. */
export interface ComplianceCheckOptions {
  /**
   * Whether aws-cdk-lib's CloudFormation Validate runs (the cached copy, {@link CachedCloudFormationValidate}).
   * aws-cdk-lib's documented switch `CDK_VALIDATION=false` turns off only the copy it adds by itself, so
   * bin/app.ts passes `false` here when that variable is `false`: the switch keeps its meaning. The project's
   * tests use it where they do not look at that rule set's findings; `cdk synth`, `npm run lint:templates` and
   * CI never set it.
   * @default true
   */
  readonly cloudFormationValidate?: boolean;
  /** More Control Tower rules ({@link ControlTowerRulesProps}). @default - the Control Tower set only */
  readonly controlTower?: ControlTowerRulesProps;
}

/**
 * aws-cdk-lib's built-in CloudFormation Validate plugin (the default rules of `cdk synth`), evaluating each
 * template at most once per content. Registering it replaces the copy aws-cdk-lib would add by itself (a
 * user-registered `CloudFormationValidatePlugin` takes its place), with the same rules and the same name, so its
 * findings are reported, acknowledged and failed exactly as the built-in ones.
 */
export class CachedCloudFormationValidate extends CloudFormationValidatePlugin {
  private readonly cached: CachedValidation;

  constructor() {
    super();
    const uncached: IPolicyValidationPlugin = {
      name: this.name,
      version: this.version,
      validate: (context) => super.validate(context),
    };
    this.cached = new CachedValidation(uncached, {
      // The engine's rules and schemas come with aws-cdk-lib: its version and the engine's pin them.
      identity: `aws-cdk-lib ${AWS_CDK_LIB_VERSION} engine ${this.version}`,
    });
  }

  public validate(context: IPolicyValidationContext): PolicyValidationPluginReport {
    return this.cached.validate(context);
  }
}

/** The installed aws-cdk-lib's version. */
const AWS_CDK_LIB_VERSION: string = JSON.parse(
  fs.readFileSync(require.resolve('aws-cdk-lib/package.json'), 'utf8'),
).version;
