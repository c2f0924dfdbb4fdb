#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { acknowledgeControlTowerFindings, ControlTowerRules } from '../lib/compliance/control-tower';
import { ConfigError, loadEnvironmentConfig } from '../lib/config';
import { HaEnvironment } from '../lib/ha-environment';

// Wiring only: pick the environment (-c env=<name>), build its stacks, add the
// compliance checks. A config error stops here, before anything is synthesized.
const app = new App();
try {
  const config = loadEnvironmentConfig(app.node.tryGetContext('env'));
  const environment = new HaEnvironment(app, config);
  acknowledgeControlTowerFindings(environment.stacks, config);
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(1);
  }
  throw err;
}
// cdk-nag's AwsSolutions pack and AWS Control Tower's proactive controls (cfn-guard): an unacknowledged finding
// of either fails synthesis.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }), new ControlTowerRules());
