/**
 * A small evaluator of the resource policies in synthesized templates, enough to ask "does this policy let
 * this principal do this action, with this request context?" the way AWS does for a same-account request
 * that the resource policy alone must allow: an explicit Deny wins, otherwise some Allow must match principal,
 * action, resource and every condition. It knows the condition operators the app uses and fails on others,
 * so a test cannot pass by an operator it does not understand.
 */

/** A policy statement as it appears in a template. */
export interface Statement {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Principal?: '*' | { readonly Service?: unknown; readonly AWS?: unknown };
  readonly Action: string | string[];
  readonly Resource?: unknown;
  readonly Condition?: Record<string, Record<string, unknown>>;
}

/** Who asks, for what, with which request context. */
export interface Request {
  /** `{ Service: 'cloudwatch.amazonaws.com' }` or `{ AWS: '<role ARN>' }`. */
  readonly principal: { readonly Service?: string; readonly AWS?: string };
  readonly action: string;
  /** The resource, as the template names it (for example `{ Ref: 'Topic' }`), or undefined to skip the check. */
  readonly resource?: unknown;
  /** Condition keys and values of the request, for example `{ 'aws:SourceAccount': '111111111111' }`. */
  readonly context: Readonly<Record<string, string>>;
}

const asList = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

function wildcard(pattern: string, value: string): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );
  return re.test(value);
}

function principalMatches(statement: Statement, principal: Request['principal']): boolean {
  if (statement.Principal === '*') return true;
  const p = statement.Principal ?? {};
  if (principal.Service && asList(p.Service).includes(principal.Service)) return true;
  if (principal.AWS) {
    return asList(p.AWS).some((a) => a === '*' || a === principal.AWS || JSON.stringify(a) === JSON.stringify('*'));
  }
  return false;
}

function conditionHolds(operator: string, key: string, expected: unknown, context: Request['context']): boolean {
  const actual = context[key];
  const values = asList(expected).map((v) => (typeof v === 'string' ? v : JSON.stringify(v)));
  const ifExists = operator.endsWith('IfExists');
  const op = ifExists ? operator.slice(0, -'IfExists'.length) : operator;
  if (actual === undefined) return ifExists;
  switch (op) {
    case 'StringEquals':
    case 'ArnEquals':
    case 'Bool':
      return values.includes(actual);
    case 'StringLike':
    case 'ArnLike':
      return values.some((v) => wildcard(v, actual));
    default:
      throw new Error(`policy evaluator: unknown condition operator ${operator}`);
  }
}

function matches(statement: Statement, request: Request): boolean {
  if (!principalMatches(statement, request.principal)) return false;
  if (!asList(statement.Action).some((a) => wildcard(String(a), request.action))) return false;
  if (request.resource !== undefined) {
    const want = JSON.stringify(request.resource);
    if (!asList(statement.Resource).some((r) => r === '*' || JSON.stringify(r) === want)) return false;
  }
  for (const [operator, entries] of Object.entries(statement.Condition ?? {})) {
    for (const [key, expected] of Object.entries(entries)) {
      if (!conditionHolds(operator, key, expected, request.context)) return false;
    }
  }
  return true;
}

/** Whether `statements` allow `request`: no matching Deny, and a matching Allow. */
export function allows(statements: readonly Statement[], request: Request): boolean {
  if (statements.some((s) => s.Effect === 'Deny' && matches(s, request))) return false;
  return statements.some((s) => s.Effect === 'Allow' && matches(s, request));
}
