/**
 * The proof, over every bundled Control Tower rules file, that `applicableRuleFiles` prunes soundly: a file left
 * out for a template (it names none of the template's resource types) could only have reported a skip there.
 *
 * A rules file can report a finding on a template only through a rule that is evaluated, and it can reach the
 * template's resources only through the document's `Resources`. The checker below therefore requires, of every
 * file:
 *
 * - every reach into the document's `Resources` selects by exact type names spelled out as string literals in
 *   the file (`Resources.*[ Type == %X_TYPE ]` with `let X_TYPE = "AWS::..."`, `Type in [...]`, multi-line
 *   filters with `or`), except a look-up by logical ID (`%doc.Resources[ keys == %key ]`) inside a
 *   parameterized rule, which follows a reference out of a resource already selected; existence checks of the
 *   map itself (`Resources exists`) select nothing. Anything else (`Resources.*` or `Resources[*]` without a
 *   filter, `some Resources.*`, a logical ID, a regex or `!=` on `Type`, a type held in a variable that is not a
 *   literal of the file) is flagged;
 * - every unparameterized rule (cfn-guard evaluates and reports each) is gated by a `when` clause that is false
 *   when the template has none of those types: `%x not empty` of such a selection, or `is_cfn_hook(...)` (a
 *   Hook document, never a template).
 *
 * With both, a template with none of the named types makes every rule of the file skip. The end-to-end
 * comparison of the findings (full set against pruned, every template of every environment) is the slow
 * `scripts/check-rule-pruning.ts`, run in CI.
 */
import * as fs from 'fs';
import * as path from 'path';
import { applicableRuleFiles, CONTROL_TOWER_RULES_DIR, guardFiles } from '../../lib/compliance/control-tower';
import { tempDir } from '../helpers';

/** A token of a guard rules file; comments and custom messages (`<< ... >>`) are dropped. */
interface Token {
  readonly kind: 'word' | 'var' | 'string' | 'regex' | 'punct' | 'newline';
  readonly text: string;
  readonly line: number;
}

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  let i = 0;
  const push = (kind: Token['kind'], text: string) => tokens.push({ kind, text, line });
  while (i < source.length) {
    const c = source[i];
    if (c === '\n') {
      push('newline', '\n');
      line++;
      i++;
    } else if (/\s/.test(c)) {
      i++;
    } else if (c === '#') {
      while (i < source.length && source[i] !== '\n') i++;
    } else if (source.startsWith('<<', i)) {
      const end = source.indexOf('>>', i + 2);
      const stop = end < 0 ? source.length : end + 2;
      line += (source.slice(i, stop).match(/\n/g) ?? []).length;
      i = stop;
    } else if (c === '"' || c === "'" || c === '/') {
      let j = i + 1;
      while (j < source.length && source[j] !== c) j += source[j] === '\\' ? 2 : 1;
      push(c === '/' ? 'regex' : 'string', source.slice(i + 1, j));
      line += (source.slice(i, j).match(/\n/g) ?? []).length;
      i = j + 1;
    } else if (c === '%') {
      const m = /^%[A-Za-z0-9_]+/.exec(source.slice(i))!;
      push('var', m[0].slice(1));
      i += m[0].length;
    } else if (/[A-Za-z0-9_]/.test(c)) {
      const m = /^[A-Za-z0-9_]+/.exec(source.slice(i))!;
      push('word', m[0]);
      i += m[0].length;
    } else {
      const m = /^(==|!=|<=|>=|\|\||&&)/.exec(source.slice(i));
      push('punct', m ? m[0] : c);
      i += m ? m[0].length : 1;
    }
  }
  return tokens;
}

/** A full CloudFormation type name as `applicableRuleFiles` reads it from a file. */
const EXACT_TYPE = /^AWS::[A-Za-z0-9]+::[A-Za-z0-9]+$/;
const UNARY_CHECKS = new Set(['exists', 'empty', 'is_list', 'is_struct', 'is_string', 'not', '!']);

/** What the checker learned of one rules file. */
export interface SelectionReport {
  /** Every way the file could reach resources other than by an exact type name it spells out, by line. */
  readonly problems: string[];
  /** The exact types its selections name. */
  readonly selectedTypes: Set<string>;
}

/** Checks that every selection of resources in `source` is by exact, literally named types, and gated by one. */
export function checkRuleSelections(source: string): SelectionReport {
  const tokens = tokenize(source);
  const problems: string[] = [];
  const selectedTypes = new Set<string>();
  const at = (t: Token, what: string) => problems.push(`line ${t.line}: ${what}`);

  // File-level variables (depth 0): constants (a string or a list of strings), the document (`let x = this`).
  const constants = new Map<string, string[]>();
  const fileLets = new Set<string>();
  const documentVars = new Set<string>();
  const typeSelections = new Set<string>();
  let depth = 0;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t.text === '{' || t.text === '[') depth++;
    else if (t.text === '}' || t.text === ']') depth--;
    else if (depth === 0 && t.kind === 'word' && t.text === 'let' && tokens[i + 2]?.text === '=') {
      const value = tokens[i + 3];
      fileLets.add(tokens[i + 1].text);
      if (value?.text === 'this' && tokens[i + 4]?.kind === 'newline') documentVars.add(tokens[i + 1].text);
      if (value?.kind === 'string' && tokens[i + 4]?.kind === 'newline')
        constants.set(tokens[i + 1].text, [value.text]);
      else if (value?.text === '[') {
        const items: string[] = [];
        let j = i + 4;
        for (; tokens[j] && tokens[j].text !== ']'; j++) {
          if (tokens[j].kind === 'string') items.push(tokens[j].text);
          else if (tokens[j].text !== ',' && tokens[j].kind !== 'newline') break;
        }
        if (tokens[j]?.text === ']') constants.set(tokens[i + 1].text, items);
      }
    }
  }
  for (const [name, values] of constants) {
    if (values.includes('Resources')) problems.push(`constant ${name} names the key "Resources"`);
  }

  /** The exact types of a `Type == x` / `Type in x` operand, or undefined when it is not exact and literal. */
  const exactOperand = (op: string, operand: Token[]): string[] | undefined => {
    let values: string[] | undefined;
    if (operand.length === 1 && operand[0].kind === 'string' && op === '==') values = [operand[0].text];
    else if (operand.length === 1 && operand[0].kind === 'var') {
      const v = constants.get(operand[0].text);
      if (v && (op === 'in' || v.length === 1)) values = v;
    } else if (op === 'in' && operand[0]?.text === '[' && operand[operand.length - 1]?.text === ']') {
      const inner = operand.slice(1, -1).filter((t) => t.text !== ',');
      if (inner.every((t) => t.kind === 'string' || (t.kind === 'var' && constants.get(t.text)?.length === 1))) {
        values = inner.map((t) => (t.kind === 'string' ? t.text : constants.get(t.text)![0]));
      }
    }
    return values && values.length > 0 && values.every((v) => EXACT_TYPE.test(v)) ? values : undefined;
  };

  /**
   * Splits a condition (a filter's body or a `when` clause) into its conjunctive normal form: lines are and-ed,
   * `or` (on either side of a line break) joins alternatives.
   */
  const cnf = (body: Token[]): Token[][][] => {
    const clauses: Token[][][] = [];
    let clause: Token[][] = [[]];
    let nest = 0;
    for (let k = 0; k < body.length; k++) {
      const t = body[k];
      const isOr = nest === 0 && (t.text === 'or' || t.text === 'OR' || t.text === '||');
      if ('([{'.includes(t.text) && t.kind === 'punct') nest++;
      if (')]}'.includes(t.text) && t.kind === 'punct') nest--;
      if (isOr) clause.push([]);
      else if (nest === 0 && (t.kind === 'newline' || t.text === 'and' || t.text === 'AND' || t.text === '&&')) {
        const next = body.slice(k + 1).find((n) => n.kind !== 'newline');
        const last = clause[clause.length - 1];
        if (t.kind === 'newline' && (last.length === 0 || next?.text === 'or' || next?.text === 'OR')) continue;
        clause = clause.filter((a) => a.length > 0);
        if (clause.length > 0) clauses.push(clause);
        clause = [[]];
      } else clause[clause.length - 1].push(t);
    }
    clause = clause.filter((a) => a.length > 0);
    if (clause.length > 0) clauses.push(clause);
    return clauses;
  };

  /** The exact types a filter body restricts to, or undefined when some resource of another type can pass. */
  const filterTypes = (body: Token[]): string[] | undefined => {
    for (const clause of cnf(body)) {
      const types = clause.map((atom) => {
        const [subject, op, ...operand] = atom;
        if (subject?.text !== 'Type' || (op?.text !== '==' && op?.text !== 'in')) return undefined;
        return exactOperand(op.text, operand);
      });
      if (types.every((t) => t !== undefined)) return types.flat();
    }
    return undefined;
  };

  /** Index of the token closing the bracket opened at `open`. */
  const closing = (open: number): number => {
    const pair: Record<string, string> = { '[': ']', '{': '}', '(': ')' };
    let nest = 0;
    for (let k = open; k < tokens.length; k++) {
      if (tokens[k].text === tokens[open].text && tokens[k].kind === 'punct') nest++;
      else if (tokens[k].text === pair[tokens[open].text] && tokens[k].kind === 'punct' && --nest === 0) return k;
    }
    return tokens.length - 1;
  };

  // The rules, and which of their parameters some call passes the document to (followed until nothing changes).
  interface RuleSpan {
    readonly name: string;
    readonly params: string[];
    readonly start: number;
    readonly end: number;
  }
  const rules: RuleSpan[] = [];
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i].kind !== 'word' || tokens[i].text !== 'rule' || tokens[i + 1]?.kind !== 'word') continue;
    const params: string[] = [];
    let k = i + 2;
    if (tokens[k]?.text === '(') {
      const close = closing(k);
      for (; k < close; k++) if (tokens[k].kind === 'word') params.push(tokens[k].text);
    }
    while (k < tokens.length && !(tokens[k].text === '{' && tokens[k].kind === 'punct')) k++;
    rules.push({ name: tokens[i + 1].text, params, start: i, end: closing(k) });
  }
  const ruleAt = (i: number) => rules.find((r) => i > r.start && i <= r.end);
  const documentParams = new Set<string>(); // `<rule>.<param>`
  /** Whether variable `name`, used at token `i`, may hold the document; unknown variables may. */
  const holdsDocument = (name: string, i: number): boolean => {
    const rule = ruleAt(i);
    if (rule?.params.includes(name)) return documentParams.has(`${rule.name}.${name}`);
    if (documentVars.has(name)) return true;
    return !fileLets.has(name);
  };
  for (let changed = true; changed;) {
    changed = false;
    for (let i = 1; i < tokens.length; i++) {
      const callee = rules.find((r) => r.params.length > 0 && r.name === tokens[i - 1].text);
      if (!callee || tokens[i].text !== '(' || tokens[i - 2]?.text === 'rule') continue;
      const args: Token[][] = [[]];
      for (let k = i + 1, nest = 0; k < tokens.length && nest >= 0; k++) {
        const a = tokens[k];
        if (a.kind === 'punct' && '([{'.includes(a.text)) nest++;
        if (a.kind === 'punct' && ')]}'.includes(a.text)) nest--;
        if (nest === 0 && a.text === ',') args.push([]);
        else if (nest >= 0 && a.kind !== 'newline') args[args.length - 1].push(a);
      }
      args.forEach((arg, j) => {
        const param = `${callee.name}.${callee.params[j]}`;
        const isDocument =
          arg.length === 1 && (arg[0].text === 'this' || (arg[0].kind === 'var' && holdsDocument(arg[0].text, i)));
        if (isDocument && !documentParams.has(param)) {
          documentParams.add(param);
          changed = true;
        }
      });
    }
  }

  // Walk the blocks: a block may have the document as `this` unless it was opened on a property or a selection.
  interface Scope {
    readonly document: boolean;
    readonly params: ReadonlySet<string>;
    readonly end: number;
  }
  const scopes: Scope[] = [{ document: true, params: new Set(), end: tokens.length }];
  const scope = () => scopes[scopes.length - 1];
  let lineStart = 0;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    while (i > scope().end) scopes.pop();
    if (t.kind === 'newline') {
      lineStart = i + 1;
      continue;
    }

    if (t.kind === 'word' && t.text === 'rule') {
      // A rule: its parameters, and for an unparameterized one the gate of its `when` clause.
      const name = tokens[i + 1];
      const hasParams = tokens[i + 2]?.text === '(';
      const params = new Set<string>();
      let k = i + 2;
      if (hasParams) {
        const close = closing(k);
        for (; k < close; k++) if (tokens[k].kind === 'word') params.add(tokens[k].text);
        k = close + 1;
      }
      let open = k;
      while (open < tokens.length && !(tokens[open].text === '{' && tokens[open].kind === 'punct')) open++;
      if (!hasParams) {
        const when = tokens[k]?.text === 'when' ? tokens.slice(k + 1, open) : [];
        const gated = cnf(when).some((clause) =>
          clause.every(
            (atom) =>
              (atom.length === 3 &&
                atom[0].kind === 'var' &&
                typeSelections.has(atom[0].text) &&
                ((atom[1].text === 'not' && atom[2].text === 'empty') ||
                  (atom[1].text === '!' && atom[2].text === 'empty'))) ||
              (atom[0].text === 'is_cfn_hook' && isStandardHookCheck(source)),
          ),
        );
        if (!gated) {
          at(name, `rule ${name.text} is not gated by "when %x not empty" of a selection by exact type`);
        }
      }
      scopes.push({ document: true, params, end: closing(open) });
      i = open;
      lineStart = open + 1;
      continue;
    }

    if (t.kind === 'punct' && t.text === '{') {
      // A block opened on a query: the query's root decides what `this` is inside.
      let start = lineStart;
      while (start < i && ['some', 'not', '!'].includes(tokens[start].text)) start++;
      const root = tokens[start];
      const document =
        root === undefined || root.text === '}' || (root.kind === 'word' && root.text === 'this')
          ? scope().document
          : root.kind === 'var' && holdsDocument(root.text, start) && tokens[start + 1]?.text !== '.';
      scopes.push({ document, params: scope().params, end: closing(i) });
      lineStart = i + 1;
      continue;
    }

    const isResourcesKey = (t.kind === 'word' || t.kind === 'string') && t.text === 'Resources';
    if (!isResourcesKey) {
      // `%doc.*` (the document's top-level keys, Resources among them) from a variable that may be the document.
      const wildcard = tokens[i + 1]?.text === '.' && tokens[i + 2]?.text === '*';
      if (t.kind === 'var' && wildcard && holdsDocument(t.text, i)) {
        at(t, `%${t.text}.* may reach every top-level key of the document`);
      }
      continue;
    }

    // `Resources`: the document's, if the path starts here in a document scope or at the document itself.
    const prev = tokens[i - 1];
    let documentReach: boolean;
    if (prev?.text === '.') {
      const root = tokens[i - 2];
      documentReach =
        root?.kind === 'var'
          ? holdsDocument(root.text, i - 2)
          : root?.kind === 'word' && root.text === 'this' && scope().document;
    } else {
      documentReach = scope().document;
    }
    if (!documentReach) continue;

    const next = tokens[i + 1];
    if (next && UNARY_CHECKS.has(next.text)) continue;
    let open = -1;
    if (next?.text === '[') open = i + 1;
    else if (next?.text === '.' && tokens[i + 2]?.text === '*' && tokens[i + 3]?.text === '[') open = i + 3;
    if (open < 0) {
      at(t, `"Resources${next?.text ?? ''}${tokens[i + 2]?.text ?? ''}" reaches resources without a type filter`);
      continue;
    }
    const close = closing(open);
    const body = tokens.slice(open + 1, close);
    if (body.length === 1 && body[0].text === '*') {
      at(t, 'Resources[*] reaches every resource');
      continue;
    }
    if (body[0]?.text === 'keys' && body[1]?.text === '==' && body.length === 3) {
      if (scope().params.size === 0) at(t, 'Resources[ keys == ... ] outside a parameterized rule');
      continue;
    }
    const types = filterTypes(body);
    if (!types) {
      at(t, `Resources filter [ ${body.map((b) => b.text).join(' ')} ] is not by exact, literal type names`);
      continue;
    }
    types.forEach((type) => selectedTypes.add(type));
    // `let x = Resources.*[ ... ]` at file level: a selection a rule may be gated by.
    if (tokens[i - 1]?.text === '=' && tokens[i - 3]?.text === 'let' && scopes.length === 1) {
      typeSelections.add(tokens[i - 2].text);
    }
  }
  return { problems, selectedTypes };
}

/** Whether the file's `is_cfn_hook` is the Control Tower one: true only of a Hook document with the type as key. */
function isStandardHookCheck(source: string): boolean {
  const m = /rule\s+is_cfn_hook\s*\(\s*doc\s*,\s*(\w+)\s*\)\s*\{([^}]*)\}/.exec(source);
  return !!m && m[2].trim() === `%doc.%${m[1]}.resourceProperties exists`;
}

const GOOD = `
let S3_BUCKET_TYPE = "AWS::S3::Bucket"
let INPUT_DOCUMENT = this
let s3_buckets = Resources.*[ Type == %S3_BUCKET_TYPE ]

rule s3_check when is_cfn_template(%INPUT_DOCUMENT)
                   %s3_buckets not empty {
    %s3_buckets.Properties.BucketEncryption exists
        << [CT.S3.PR.1]: encrypt "Resources" / buckets # not a comment >>
}
rule s3_check when is_cfn_hook(%INPUT_DOCUMENT, %S3_BUCKET_TYPE) {
    %INPUT_DOCUMENT.%S3_BUCKET_TYPE.resourceProperties.BucketEncryption exists
}
rule is_cfn_template(doc) {
    %doc {
        AWSTemplateFormatVersion exists  or
        Resources exists
    }
}
rule is_cfn_hook(doc, RESOURCE_TYPE) {
    %doc.%RESOURCE_TYPE.resourceProperties exists
}
`;

/** GOOD with its selection replaced. */
const withSelection = (selection: string) =>
  GOOD.replace('let s3_buckets = Resources.*[ Type == %S3_BUCKET_TYPE ]', `let s3_buckets = ${selection}`);

describe('checkRuleSelections', () => {
  test('accepts the Control Tower idiom: a file-level selection by a type constant, gated rules', () => {
    expect(checkRuleSelections(GOOD)).toEqual({ problems: [], selectedTypes: new Set(['AWS::S3::Bucket']) });
  });

  test('accepts multi-line filters of exact types joined by or, literal lists and an and-ed extra condition', () => {
    const multi = withSelection(`Resources.*[
    Type == %S3_BUCKET_TYPE or
    Type == "AWS::S3::AccessPoint"
    Properties exists
]`);
    expect(checkRuleSelections(multi)).toEqual({
      problems: [],
      selectedTypes: new Set(['AWS::S3::Bucket', 'AWS::S3::AccessPoint']),
    });
    const list = `let TYPES = [ "AWS::IAM::Role", "AWS::IAM::User" ]\n${withSelection('Resources[ Type in %TYPES ]')}`;
    expect(checkRuleSelections(list).problems).toEqual([]);
    expect(checkRuleSelections(withSelection('Resources.*[ Type in ["AWS::SQS::Queue"] ]')).problems).toEqual([]);
  });

  test('accepts a look-up by logical ID inside a parameterized rule (following a reference)', () => {
    const lookup = `${GOOD}
rule query_for_resource(doc, resource_key, referenced_resource_type) {
    let referenced_resource = %doc.Resources[ keys == %resource_key ]
    %referenced_resource { Type in %referenced_resource_type }
}`;
    expect(checkRuleSelections(lookup).problems).toEqual([]);
  });

  test('accepts a property named Resources inside a selected resource', () => {
    const property = `${GOOD}
rule check(eks_cluster) {
    %eks_cluster {
        some EncryptionConfig[*] {
            Resources is_list
            some Resources[*] == "secrets"
        }
    }
}`;
    expect(checkRuleSelections(property).problems).toEqual([]);
  });

  test.each([
    ['a regex on Type', withSelection('Resources.*[ Type == /AWS::S3::.*/ ]'), /not by exact, literal type/],
    ['a type from a variable defined elsewhere', withSelection('Resources.*[ Type == %BUCKET_TYPE ]'), /not by exact/],
    [
      'a type constant that is not a literal',
      `let T2 = %S3_BUCKET_TYPE\n${withSelection('Resources.*[ Type == %T2 ]')}`,
      /not by exact/,
    ],
    ['a partial type name', withSelection('Resources.*[ Type == "AWS::S3" ]'), /not by exact/],
    ['Type !=', withSelection('Resources.*[ Type != "AWS::S3::Bucket" ]'), /not by exact/],
    [
      'a non-type alternative',
      withSelection('Resources.*[ Type == %S3_BUCKET_TYPE or Properties exists ]'),
      /not by exact/,
    ],
    ['a filter on properties only', withSelection('Resources.*[ Properties.Tags exists ]'), /not by exact/],
    ['Resources.* without a filter', withSelection('Resources.*'), /without a type filter/],
    ['Resources[*]', withSelection('Resources[*]'), /every resource/],
    ['a logical ID', withSelection('Resources.MyBucket'), /without a type filter/],
    ['a quoted key', withSelection("this.'Resources'.*"), /without a type filter/],
    [
      'a look-up by key outside a parameterized rule',
      withSelection('Resources[ keys == /Bucket/ ]'),
      /outside a parameterized/,
    ],
  ])('flags a selection by %s', (_what, source, message) => {
    // The rules gated by that selection are flagged too: it is not a selection by exact type.
    expect(checkRuleSelections(source).problems).toEqual([
      expect.stringMatching(message),
      expect.stringMatching(/rule s3_check is not gated/),
    ]);
  });

  test.each([
    [
      'some Resources.* in a rule',
      `rule all_buckets when %s3_buckets not empty {\n    some Resources.* { Type == "AWS::S3::Bucket" }\n}`,
    ],
    [
      'iterating all resources in a rule',
      `rule tagged when %s3_buckets not empty {\n    Resources.* { Properties.Tags exists }\n}`,
    ],
    [
      '%doc.Resources.* in a parameterized rule',
      `rule s3_tagged when %s3_buckets not empty {\n    tagged(%INPUT_DOCUMENT)\n}\nrule tagged(doc) {\n    %doc.Resources.*.Properties.Tags exists\n}`,
    ],
    [
      'a type regex in a parameterized rule',
      `rule s3_tagged when %s3_buckets not empty {\n    tagged(%INPUT_DOCUMENT)\n}\nrule tagged(doc) {\n    %doc.Resources[ Type == /AWS::S3::.*/ ] { Properties.Tags exists }\n}`,
    ],
  ])('flags %s', (_what, rule) => {
    expect(checkRuleSelections(`${GOOD}\n${rule}\n`).problems).toEqual([expect.stringMatching(/line \d+: /)]);
  });

  test.each([
    ['no when clause', 'rule must_have_a_bucket {\n    %s3_buckets not empty\n}'],
    [
      'a when clause that holds without the type',
      'rule x when is_cfn_template(%INPUT_DOCUMENT) {\n    %s3_buckets.Properties exists\n}',
    ],
    [
      'a gate on a variable that is not a type selection',
      'rule x when %INPUT_DOCUMENT not empty {\n    Resources exists\n}',
    ],
    [
      'a gate with a non-type alternative',
      'rule x when %s3_buckets not empty or is_cfn_template(this) {\n    Resources exists\n}',
    ],
  ])('flags an unparameterized rule with %s', (_what, rule) => {
    expect(checkRuleSelections(`${GOOD}\n${rule}\n`).problems).toEqual([expect.stringMatching(/is not gated/)]);
  });

  test('flags a gate on is_cfn_hook when that rule is not the Hook document check', () => {
    const source = GOOD.replace('%doc.%RESOURCE_TYPE.resourceProperties exists', 'Resources exists');
    expect(checkRuleSelections(source).problems).toEqual([expect.stringMatching(/rule s3_check is not gated/)]);
  });
});

describe('the bundled Control Tower rules', () => {
  const files = guardFiles([CONTROL_TOWER_RULES_DIR]);
  const reports = files.map((file) => ({
    file: path.relative(CONTROL_TOWER_RULES_DIR, file),
    path: file,
    ...checkRuleSelections(fs.readFileSync(file, 'utf8')),
  }));

  test('are all here', () => {
    expect(files.length).toBe(237);
  });

  test('select resources only by exact type names they spell out, in gated rules', () => {
    expect(reports.filter((r) => r.problems.length > 0).map((r) => `${r.file}: ${r.problems.join('; ')}`)).toEqual([]);
  });

  test('flag a bundled file once its selection matches types by pattern or its gate is removed', () => {
    const source = fs.readFileSync(path.join(CONTROL_TOWER_RULES_DIR, 's3', 'ct-s3-pr-1.guard'), 'utf8');
    expect(checkRuleSelections(source).problems).toEqual([]);
    const byPattern = source.replace(/Type == %[A-Z0-9_]+/, 'Type == /AWS::S3::.*/');
    expect(checkRuleSelections(byPattern).problems).toContainEqual(expect.stringMatching(/not by exact, literal/));
    const ungated = source.replace(/when is_cfn_template\(%INPUT_DOCUMENT\)\s+%\w+ not empty/, '');
    expect(checkRuleSelections(ungated).problems).toContainEqual(expect.stringMatching(/is not gated/));
  });

  test('each selects some type, and applicableRuleFiles keeps the file for every type it selects', () => {
    for (const r of reports) {
      expect([r.file, r.selectedTypes.size > 0]).toEqual([r.file, true]);
      for (const type of r.selectedTypes) {
        expect([r.file, type, applicableRuleFiles([r.path], new Set([type]))]).toEqual([r.file, type, [r.path]]);
      }
    }
  });
});

describe('applicableRuleFiles', () => {
  const dir = tempDir('rule-pruning-');
  const write = (name: string, text: string) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    return file;
  };
  const bucket = write('bucket.guard', GOOD);
  const queue = write('queue.guard', GOOD.replace(/AWS::S3::Bucket/g, 'AWS::SQS::Queue'));
  const none = write('none.guard', 'rule has_resources {\n    Resources exists\n}\n');
  const template = new Set(['AWS::S3::Bucket', 'AWS::IAM::Role']);

  test('keeps a file that names a type of the template', () => {
    expect(applicableRuleFiles([bucket], template)).toEqual([bucket]);
  });

  test('drops a file that names only types the template lacks', () => {
    expect(applicableRuleFiles([queue], template)).toEqual([]);
  });

  test('keeps a file that names no type', () => {
    expect(applicableRuleFiles([none], template)).toEqual([none]);
    expect(applicableRuleFiles([none], new Set())).toEqual([none]);
  });

  test('keeps the order of the files it keeps', () => {
    expect(applicableRuleFiles([none, queue, bucket], template)).toEqual([none, bucket]);
  });
});
