/**
 * An evaluator of the intrinsic functions `planHealthCheckIdOf` (lib/constructs/failover-records.ts) emits, for
 * the construct test of it and for the test of the PRIMARY record's gate in the synthesized operations stack.
 */

/** Two entries of a plan's `PlanHealthChecks` attribute, as observed on deployed plans. */
export const PLAN_ENTRY_EAST = 'Z0123456789PRODZONE:app.example.com:us-east-1:11111111-aaaa-4bbb-8ccc-000000000001';
export const PLAN_ENTRY_WEST = 'Z0123456789PRODZONE:app.example.com:us-west-2:22222222-aaaa-4bbb-8ccc-000000000002';

/**
 * Evaluates `expr` (Join, Split, Select over a `Fn::GetAtt` of `PlanHealthChecks`) with the attribute's value
 * `planHealthChecks`, as CloudFormation would. Fails on any other intrinsic or attribute, and throws like
 * CloudFormation (`out of range`) on an `Fn::Select` past the end of its list.
 */
export function evaluatePlanHealthChecks(expr: unknown, planHealthChecks: string[]): unknown {
  if (typeof expr === 'string') return expr;
  if (Array.isArray(expr)) return expr.map((e) => evaluatePlanHealthChecks(e, planHealthChecks));
  const node = expr as Record<string, unknown>;
  if ('Fn::GetAtt' in node) {
    expect(node['Fn::GetAtt']).toEqual([expect.any(String), 'PlanHealthChecks']);
    return planHealthChecks;
  }
  if ('Fn::Join' in node) {
    const [sep, parts] = node['Fn::Join'] as [string, unknown];
    return (evaluatePlanHealthChecks(parts, planHealthChecks) as string[]).join(sep);
  }
  if ('Fn::Split' in node) {
    const [sep, text] = node['Fn::Split'] as [string, unknown];
    return (evaluatePlanHealthChecks(text, planHealthChecks) as string).split(sep);
  }
  if ('Fn::Select' in node) {
    const [index, list] = node['Fn::Select'] as [number, unknown];
    const items = evaluatePlanHealthChecks(list, planHealthChecks) as string[];
    if (index >= items.length) throw new Error(`Fn::Select index ${index} out of range`);
    return items[index];
  }
  throw new Error(`unexpected intrinsic ${JSON.stringify(expr)}`);
}
