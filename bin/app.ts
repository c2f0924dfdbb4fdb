#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { addComplianceChecks } from '../lib/compliance';
import { ConfigError, loadEnvironmentConfig } from '../lib/config';
import { HaEnvironment } from '../lib/ha-environment';
import { recordedContextKey } from '../lib/recorded';

// Wiring only: pick the environment (-c env=<name>), build its stacks, add the
// compliance checks (cdk-nag and the Control Tower rules). A config error stops
// here, before anything is synthesized.
const app = new App();
try {
  const config = loadEnvironmentConfig(app.node.tryGetContext('env'));
  // The IDs and creation facts `npm run region -- record-ids` kept in cdk.context.json (lib/recorded.ts).
  const recorded = app.node.tryGetContext(recordedContextKey(config.name));
  addComplianceChecks(app, new HaEnvironment(app, config, recorded), config, {
    // aws-cdk-lib's switch for its built-in CloudFormation Validate, kept for the cached copy that replaces it.
    cloudFormationValidate: process.env.CDK_VALIDATION !== 'false',
  });
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(1);
  }
  throw err;
}
