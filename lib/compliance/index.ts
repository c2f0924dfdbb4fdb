import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { EnvironmentConfig } from '../config';
import { HaEnvironment } from '../ha-environment';
import { acknowledgeControlTowerFindings, ControlTowerRules, ControlTowerRulesProps } from './control-tower';

export * from './control-tower';

/**
 * The rule sets by others that run at every synth of an environment: cdk-nag's AwsSolutions pack (its
 * acknowledgements sit at the resources, `acknowledgeNag`) and AWS Control Tower's proactive controls through
 * cfn-guard (its acknowledgements are the reviewed list `CONTROL_TOWER_ACKNOWLEDGEMENTS`). An unacknowledged
 * finding of either fails synthesis; `cdk.out/validation-report.json` lists every finding and acknowledgement.
 */
export function addComplianceChecks(
  app: App,
  environment: HaEnvironment,
  config: EnvironmentConfig,
  controlTower: ControlTowerRulesProps = {},
): void {
  acknowledgeControlTowerFindings(environment.stacks, config);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }), new ControlTowerRules(controlTower));
}
