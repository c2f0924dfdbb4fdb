import { applySkips, LintFinding, SKIPS, TemplateJson } from '../../scripts/lint-templates';

const templates = new Map<string, TemplateJson>([
  [
    'App.template.json',
    {
      Resources: {
        Listener: { Type: 'AWS::ElasticLoadBalancingV2::Listener' },
        Bucket: { Type: 'AWS::S3::Bucket' },
        Fleet: { Type: 'AWS::AutoScaling::AutoScalingGroup' },
        Fn: { Type: 'AWS::Lambda::Function' },
        Plan: { Type: 'AWS::ARCRegionSwitch::Plan' },
      },
    },
  ],
]);
const finding = (rule: string, id: string, message: string): LintFinding => ({
  Filename: 'App.template.json',
  Level: 'Error',
  Message: message,
  Location: { Path: ['Resources', id, 'Properties'] },
  Rule: { Id: rule },
});

describe('cfn-lint skips', () => {
  test('skip exactly the listed findings: Tags on a listener, the instance refresh policy, a Lambda role DependsOn', () => {
    const { failures, skipped } = applySkips(
      [
        finding('E3002', 'Listener', "Additional properties are not allowed ('Tags' was unexpected)"),
        finding(
          'E3016',
          'Fleet',
          "Additional properties are not allowed ('AutoScalingInstanceRefresh' was unexpected)",
        ),
        finding(
          'W3005',
          'Fn',
          "'FnRoleABCD1234' dependency already enforced by a 'GetAtt' at 'Resources/Fn/Properties/Role'",
        ),
      ],
      templates,
    );
    expect(failures).toEqual([]);
    expect([...skipped.values()]).toEqual([1, 1, 1]);
  });

  test('let the same rules fail anywhere else', () => {
    const others = [
      finding('E3002', 'Bucket', "Additional properties are not allowed ('Tags' was unexpected)"),
      finding('E3002', 'Listener', "Additional properties are not allowed ('Foo' was unexpected)"),
      finding('W3005', 'Plan', "'PlanRoleABCD1234' dependency already enforced by a 'GetAtt'"),
      finding('E3016', 'Bucket', "Additional properties are not allowed ('AutoScalingInstanceRefresh' was unexpected)"),
      finding('E1001', 'Listener', 'anything else'),
    ];
    expect(applySkips(others, templates).failures).toEqual(others);
  });

  test('every skip gives the rule, what it covers and a reason', () => {
    for (const s of SKIPS) {
      expect(s.rule).toMatch(/^[EWI]\d{4}$/);
      expect(s.reason.length).toBeGreaterThan(80);
    }
  });
});
