import { App, Stack, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as fs from 'fs';
import * as path from 'path';
import {
  addComplianceChecks,
  ComplianceCheckOptions,
  acknowledgeControlTowerFindings,
  CONTROL_TOWER_ACKNOWLEDGEMENTS,
  CONTROL_TOWER_RULES_DIR,
  ControlTowerRules,
  guardFiles,
  unparsableRuleFiles,
} from '../../lib/compliance';
import * as controlTower from '../../lib/compliance/control-tower';
import { demo } from '../../lib/config/environments';
import { HaEnvironment } from '../../lib/ha-environment';
import { newApp, tempDir } from '../helpers';
import { EnvironmentName, PluginReport, synthesized } from '../synthesized';

// The reports of `cdk synth -c env=<name>` (bin/app.ts adds the checks), from the run's shared synthesis.
const reportsOf = (name: EnvironmentName) => {
  const env = synthesized(name);
  return { nag: env.report('AwsSolutions')!, controlTower: env.report('cdk-validator-cfnguard')! };
};

const reports = { demo: reportsOf('demo'), staging: reportsOf('staging'), prod: reportsOf('prod') };

describe.each(Object.entries(reports))('rule sets at synth, %s', (_name, { nag, controlTower }) => {
  test('cdk-nag AwsSolutions: no unacknowledged finding', () => {
    expect(nag.violations).toEqual([]);
    expect(nag.conclusion).toBe('success');
  });

  test('AWS Control Tower proactive controls: no unacknowledged finding', () => {
    expect(controlTower.violations).toEqual([]);
    expect(controlTower.conclusion).toBe('success');
  });

  test('every acknowledgement gives a reason of substance and sits on a resource, not a stack or the app', () => {
    for (const v of [...nag.suppressedViolations, ...controlTower.suppressedViolations]) {
      expect(v.reason.length).toBeGreaterThan(60);
      for (const c of v.violatingConstructs) expect(c.constructPath.split('/').length).toBeGreaterThan(2);
    }
  });
});

describe('the acknowledged findings are exactly the reviewed ones', () => {
  const rules = (r: PluginReport) => [...new Set(r.suppressedViolations.map((v) => v.ruleName))].sort();

  test('cdk-nag (demo)', () => {
    expect(rules(reports.demo.nag)).toEqual([
      'AwsSolutions-AEC3',
      'AwsSolutions-AEC5',
      'AwsSolutions-EC23',
      'AwsSolutions-EC26',
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore]',
      // The database-roles custom resource's functions (in the VPC).
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole]',
      'AwsSolutions-IAM5[Resource::*]',
      'AwsSolutions-IAM5[Resource::<DatabaseRolesFunctionB120C4B0.Arn>:*]',
      'AwsSolutions-IAM5[Resource::arn:aws:cloudformation:us-east-1:111111111111:stack/HaWeb-demo-App-us-east-1/*]',
      'AwsSolutions-IAM5[Resource::arn:aws:cloudformation:us-west-2:111111111111:stack/HaWeb-demo-App-us-west-2/*]',
      'AwsSolutions-IAM5[Resource::arn:aws:ec2:us-east-1:111111111111:instance/*]',
      'AwsSolutions-IAM5[Resource::arn:aws:ec2:us-east-1:111111111111:network-acl/*]',
      'AwsSolutions-IAM5[Resource::arn:aws:ec2:us-west-2:111111111111:instance/*]',
      'AwsSolutions-IAM5[Resource::arn:aws:ec2:us-west-2:111111111111:network-acl/*]',
      'AwsSolutions-L1',
      'AwsSolutions-S1',
      'AwsSolutions-SMG4',
    ]);
  });

  test('Control Tower: the demo and prod acknowledgements are those of the reviewed list that apply there', () => {
    expect(rules(reports.demo.controlTower)).toEqual([
      'elbv2_deletion_protection_enabled_check',
      'lambda_inside_vpc_check',
      's3_bucket_default_encryption_kms_check',
      's3_bucket_logging_enabled_check',
      's3_bucket_object_lock_enabled_check',
      's3_event_notifications_enabled_check',
    ]);
    // Production has ALB deletion protection on, so that acknowledgement does not apply there.
    expect(rules(reports.prod.controlTower)).not.toContain('elbv2_deletion_protection_enabled_check');
  });

  test('each Control Tower acknowledgement names its control, its rule and a reason', () => {
    const ruleNames = new Set(guardFiles([CONTROL_TOWER_RULES_DIR]).map((f) => fs.readFileSync(f, 'utf8')));
    for (const ack of CONTROL_TOWER_ACKNOWLEDGEMENTS) {
      expect(ack.control).toMatch(/^CT\.[A-Z0-9]+\.PR\.\d+$/);
      expect(
        [...ruleNames].some((text) => text.includes(`rule ${ack.rule} `) && text.includes(`[${ack.control}]`)),
      ).toBe(true);
      expect(ack.reason.length).toBeGreaterThan(80);
    }
  });
});

describe('the rule sets addComplianceChecks registers', () => {
  /** Names of the plugins registered on a new app with `options`. */
  function pluginNames(options?: ComplianceCheckOptions): string[] {
    const acknowledge = jest.spyOn(controlTower, 'acknowledgeControlTowerFindings').mockImplementation(() => undefined);
    const added = jest.spyOn(Validations.prototype, 'addPlugins');
    try {
      addComplianceChecks(newApp(), { stacks: [] } as unknown as HaEnvironment, demo, options);
      return added.mock.calls.flat().map((p) => p.name);
    } finally {
      acknowledge.mockRestore();
      added.mockRestore();
    }
  }

  test('CloudFormation Validate (cached), cdk-nag and Control Tower', () => {
    expect(pluginNames()).toEqual(['CloudFormation Validate', 'AwsSolutions', 'cdk-validator-cfnguard']);
    expect(pluginNames({ cloudFormationValidate: true })).toEqual([
      'CloudFormation Validate',
      'AwsSolutions',
      'cdk-validator-cfnguard',
    ]);
  });

  test("without CloudFormation Validate when asked (bin/app.ts: CDK_VALIDATION=false, as for aws-cdk-lib's own copy)", () => {
    expect(pluginNames({ cloudFormationValidate: false })).toEqual(['AwsSolutions', 'cdk-validator-cfnguard']);
  });
});

describe('what fails synthesis', () => {
  test.each([
    ['cdk-nag', () => new AwsSolutionsChecks(), /AwsSolutions-S10/],
    ['Control Tower', () => new ControlTowerRules(), /CT\.S3\.PR\.10/],
  ])('a new non-compliant resource (%s)', (_name, plugin, finding) => {
    const app = newApp();
    new s3.Bucket(new Stack(app, 'Bucket', { env: { account: '111111111111', region: 'us-east-1' } }), 'Plain', {
      enforceSSL: false,
    });
    Validations.of(app).addPlugins(plugin());
    expect(() => app.synth()).toThrow(finding);
  });

  test('a Control Tower acknowledgement that matches nothing (stale entries do not linger)', () => {
    const app = new App();
    const stack = new Stack(app, 'Empty');
    expect(() => acknowledgeControlTowerFindings([stack], demo)).toThrow(
      /Control Tower acknowledgement of CT\.LAMBDA\.PR\.3 \(lambda_inside_vpc_check\): no AWS::Lambda::Function at .* in environment "demo"; remove or correct the stale entry/,
    );
  });
});

describe('a rules file cfn-guard cannot parse', () => {
  const dir = tempDir('guard-rules-');
  const broken = path.join(dir, 'broken.guard');
  fs.writeFileSync(broken, 'rule broken { Resources.*[ Type == "AWS::S3::Bucket" ] { Properties.X == ');
  const good = path.join(dir, 'good.guard');
  fs.writeFileSync(good, 'rule good when Resources exists { Resources.*.Type exists }\n');

  test('is found, with cfn-guard reading the rest (the plugin alone would pass it)', () => {
    expect(unparsableRuleFiles([good])).toEqual([]);
    const problems = unparsableRuleFiles([good, broken]);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('broken.guard');
  });

  test('stops the validation, naming the file, instead of passing', () => {
    const plugin = new ControlTowerRules({ extraRules: [broken] });
    expect(() => plugin.validate({ templatePaths: [] } as never)).toThrow(
      /cfn-guard cannot parse these rules, so they would pass without being checked:\n {2}- .*broken\.guard/,
    );
  });

  test('the bundled Control Tower rules all parse', () => {
    expect(guardFiles([CONTROL_TOWER_RULES_DIR]).length).toBeGreaterThan(200);
    expect(unparsableRuleFiles([CONTROL_TOWER_RULES_DIR])).toEqual([]);
  });
});
