/**
 * Listener-rule routing of the services that share the Application Load Balancer's HTTPS listener: the limits AWS
 * documents for a rule's `path-pattern` and `host-header` conditions, and the checks that every service's rule can
 * be reached (no rule evaluated earlier takes all of its requests) and that overlapping rules are ordered specific
 * first, catch-all last.
 *
 * Pure: no aws-cdk-lib, no I/O. The limits come from these AWS pages:
 * - Condition types for listener rules (host and path conditions, values and wildcards per condition and rule):
 *   https://docs.aws.amazon.com/elasticloadbalancing/latest/application/rule-condition-types.html
 * - Listener rules (evaluated in priority order, lowest value first):
 *   https://docs.aws.amazon.com/elasticloadbalancing/latest/application/listener-rules.html
 * - Quotas (condition values, condition wildcards and match evaluations per rule: 5 each):
 *   https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-limits.html
 * - RulePriorityPair (priority: minimum 1, maximum 50000):
 *   https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_RulePriorityPair.html
 */

/** The listener rule of one service on the shared HTTPS listener. */
export interface ServiceRouting {
  /**
   * Listener rule priority, 1 to 50,000; lower is evaluated first. Unique across services. Where two services'
   * rules overlap, the narrower one must come first (a lower number): `/api/catalog/*` at 100 before `/*` at 1000.
   */
  readonly priority: number;
  /**
   * ALB path-pattern values, at most 3: case-sensitive, up to 128 characters of A-Z a-z 0-9 `_ - . $ / ~ " ' @ : + &`
   * and the wildcards `*` (any run of characters, `/` included) and `?` (exactly one), starting with `/`.
   * @default - any path (then `hostHeaders` must be given)
   */
  readonly pathPatterns?: readonly string[];
  /**
   * ALB host-header values, at most 3: case-insensitive, up to 128 characters of A-Z a-z 0-9 `-` `.` and the
   * wildcards `*` and `?`, with at least one `.` and only letters after the last one (`*.example.com`).
   * @default - any host (then `pathPatterns` must be given)
   */
  readonly hostHeaders?: readonly string[];
}

/** A service as the routing checks see it: its name (for messages) and its listener rule. */
export interface RoutedService {
  /** The service's name, as the messages call it. */
  readonly name: string;
  /** The service's listener rule. */
  readonly routing: ServiceRouting;
}

/** Lowest listener rule priority (RulePriorityPair, Valid Range). */
export const ALB_MIN_RULE_PRIORITY = 1;
/** Highest listener rule priority (RulePriorityPair, Valid Range). */
export const ALB_MAX_RULE_PRIORITY = 50000;
/** Most values (match evaluations) of one condition (rule-condition-types, Condition basics). */
export const ALB_MAX_VALUES_PER_CONDITION = 3;
/** Most match evaluations of one rule, over all its conditions (rule-condition-types; quota, not adjustable). */
export const ALB_MAX_MATCH_EVALUATIONS_PER_RULE = 5;
/** Most wildcard characters (`*`, `?`) of one rule, over all its conditions (rule-condition-types; quota). */
export const ALB_MAX_WILDCARDS_PER_RULE = 5;
/** Longest path pattern or host name of a condition (rule-condition-types, Host and Path conditions). */
export const ALB_MAX_CONDITION_VALUE_LENGTH = 128;

/** Characters a path pattern may hold (rule-condition-types, Path conditions), wildcards included. */
const PATH_CHARACTER = /[A-Za-z0-9_\-.$/~"'@:+&*?]/;
/** Characters a host name may hold (rule-condition-types, Host conditions), wildcards included. */
const HOST_CHARACTER = /[A-Za-z0-9\-.*?]/;

/**
 * What an absent `pathPatterns` matches: every request path. A request path always starts with `/` (and so must
 * every pattern, see `pathProblems`), so `/*` is exactly "any path" in the model the overlap checks use.
 */
const ANY_PATH = '/*';
/** What an absent `hostHeaders` matches: every host. */
const ANY_HOST = '*';

// ---------------------------------------------------------------------------------------------------------------
// Glob automata. A pattern is a string in which `*` matches any run of characters (empty and `/` included) and `?`
// exactly one; every other character matches itself (ignoring ASCII case when asked). Position i of a pattern is an
// NFA state: a literal or `?` at i moves to i + 1 on a character, a `*` at i stays on any character and moves to
// i + 1 on none. State pattern.length accepts.
// ---------------------------------------------------------------------------------------------------------------

/** The character a free `?` stands for in a witness or counterexample. */
const FREE_CHARACTER = 'x';

function fold(pattern: string, caseInsensitive: boolean): string {
  return caseInsensitive ? pattern.replace(/[A-Z]/g, (c) => c.toLowerCase()) : pattern;
}

const isWildcard = (c: string | undefined): boolean => c === '*' || c === '?';

/**
 * A string that matches both glob patterns, or undefined when none does. The witness is a shortest one: a free `?`
 * becomes `x`, a free `*` becomes nothing (`/api/*` and `/*` give `/api/`). With `caseInsensitive` (host names) ASCII
 * letters match either case and the witness is in lower case.
 *
 * Breadth-first search of the product of the two patterns' automata: state (i, j) = positions in `a` and `b`.
 */
export function globsIntersect(a: string, b: string, caseInsensitive: boolean): string | undefined {
  const pa = fold(a, caseInsensitive);
  const pb = fold(b, caseInsensitive);
  const width = pb.length + 1;
  const size = (pa.length + 1) * width;
  const done = new Uint8Array(size);
  const distance = new Int32Array(size).fill(-1);
  const from = new Int32Array(size).fill(-1);
  const read: string[] = new Array<string>(size).fill('');
  // Breadth first by witness length: a move across a `*` reads nothing and stays in the current layer, a move that
  // reads a character goes to the next one; so the accepting state is first reached by a shortest witness.
  let layer = [0];
  distance[0] = 0;
  for (let d = 0; layer.length > 0; d++) {
    const next: number[] = [];
    const reach = (state: number, to: number, char: string): void => {
      const dist = char === '' ? d : d + 1;
      if (done[to] || (distance[to] >= 0 && distance[to] <= dist)) return;
      distance[to] = dist;
      from[to] = state;
      read[to] = char;
      (char === '' ? layer : next).push(to);
    };
    for (let h = 0; h < layer.length; h++) {
      const state = layer[h];
      if (done[state] || distance[state] !== d) continue;
      done[state] = 1;
      const i = Math.floor(state / width);
      const j = state % width;
      if (i === pa.length && j === pb.length) {
        let witness = '';
        for (let s = state; s !== 0; s = from[s]) witness = read[s] + witness;
        return witness;
      }
      const x = pa[i];
      const y = pb[j];
      if (x === '*') reach(state, state + width, '');
      if (y === '*') reach(state, state + 1, '');
      if (x === undefined || y === undefined) continue;
      // A character read by both: each side either advances over a literal or `?`, or stays on its `*`. Both
      // staying on a `*` is never needed (dropping that character keeps both matches).
      const xStar = x === '*';
      const yStar = y === '*';
      if (xStar && yStar) continue;
      let char: string | undefined;
      if (!isWildcard(x)) char = isWildcard(y) || x === y ? x : undefined;
      else if (!isWildcard(y)) char = y;
      else char = FREE_CHARACTER;
      if (char !== undefined) reach(state, state + (xStar ? 0 : width) + (yStar ? 0 : 1), char);
    }
    layer = next;
  }
  return undefined;
}

/** A string that matches one of `as` and one of `bs`, or undefined when the two sets of patterns share none. */
export function globSetsIntersect(
  as: readonly string[],
  bs: readonly string[],
  caseInsensitive: boolean,
): string | undefined {
  let best: string | undefined;
  for (const a of as) {
    for (const b of bs) {
      const witness = globsIntersect(a, b, caseInsensitive);
      if (witness !== undefined && (best === undefined || witness.length < best.length)) best = witness;
    }
  }
  return best;
}

/** The NFA states reachable from `state` without reading: across every `*` (a state on a `*` reaches the next). */
function closure(pattern: string, state: number): number[] {
  const states = [state];
  while (pattern[state] === '*') states.push(++state);
  return states;
}

/**
 * A string that one of `inner` matches and none of `outer` does, or undefined when `outer` (a set of patterns,
 * matching what any of them matches) contains every string `inner` matches.
 *
 * Sound and complete for these globs: the patterns only ever compare a character with their own literals, so the
 * alphabet is reduced to the literals of all patterns plus one symbol for "any other character" without changing
 * any answer. The search walks `inner`'s automaton (a state per position) alongside the subset construction of the
 * union of `outer`'s automata, and reports the first pair where `inner` accepts and no `outer` pattern does.
 */
export function globSetCounterexample(
  outer: readonly string[],
  inner: readonly string[],
  caseInsensitive: boolean,
): string | undefined {
  const outers = outer.map((p) => fold(p, caseInsensitive));
  const inners = inner.map((p) => fold(p, caseInsensitive));
  const literals = new Set<string>();
  for (const p of [...outers, ...inners]) for (const c of p.split('')) if (!isWildcard(c)) literals.add(c);
  const other = ['x', 'z', 'q', '0', '_', '~'].find((c) => !literals.has(c)) ?? otherCharacter(literals);
  const alphabet = [other, ...literals]; // "other" first: counterexamples read "/ax", not "/a/"

  // The union of the outer automata, determinised on demand: an outer state is an id, offset of its pattern plus
  // position; tokens[id] is the pattern character there, '' at a pattern's end (accepting).
  const tokens: string[] = [];
  const starts: number[] = [];
  for (const p of outers) {
    starts.push(tokens.length);
    tokens.push(...p.split(''), ''); // UTF-16 units, as p[q] indexes the inner patterns
  }
  const close = (ids: readonly number[]): number[] => {
    const set = new Set<number>();
    for (let id of ids) {
      set.add(id);
      while (tokens[id] === '*') set.add(++id);
    }
    return [...set].sort((x, y) => x - y);
  };
  const subsets: number[][] = [];
  const accepting: boolean[] = [];
  const moves: Int32Array[] = [];
  const index = new Map<string, number>();
  const intern = (ids: number[]): number => {
    const key = ids.join(',');
    let d = index.get(key);
    if (d === undefined) {
      d = subsets.length;
      index.set(key, d);
      subsets.push(ids);
      accepting.push(ids.some((id) => tokens[id] === ''));
      moves.push(new Int32Array(alphabet.length).fill(-1));
    }
    return d;
  };
  const move = (d: number, a: number): number => {
    if (moves[d][a] < 0) {
      const next: number[] = [];
      for (const id of subsets[d]) {
        const t = tokens[id];
        if (t === '*') next.push(id);
        else if (t === '?' || t === alphabet[a]) next.push(id + 1);
      }
      moves[d][a] = intern(close(next));
    }
    return moves[d][a];
  };
  const start = intern(close(starts));

  for (const p of inners) {
    // Product states (position in p, outer subset), breadth first, so the counterexample is a shortest one.
    const width = p.length + 1;
    const seen = new Set<number>();
    const qs: number[] = [];
    const ds: number[] = [];
    const parents: number[] = [];
    const reads: number[] = [];
    const visit = (q: number, d: number, parent: number, a: number): void => {
      if (seen.has(d * width + q)) return;
      seen.add(d * width + q);
      qs.push(q);
      ds.push(d);
      parents.push(parent);
      reads.push(a);
    };
    for (const q of closure(p, 0)) visit(q, start, -1, -1);
    for (let n = 0; n < qs.length; n++) {
      const q = qs[n];
      if (q === p.length && !accepting[ds[n]]) {
        let text = '';
        for (let m = n; parents[m] >= 0; m = parents[m]) text = alphabet[reads[m]] + text;
        return text;
      }
      const t = p[q];
      if (t === undefined) continue;
      for (let a = 0; a < alphabet.length; a++) {
        if (!isWildcard(t) && t !== alphabet[a]) continue;
        const d = move(ds[n], a);
        for (const r of closure(p, t === '*' ? q : q + 1)) visit(r, d, n, a);
      }
    }
  }
  return undefined;
}

function otherCharacter(literals: ReadonlySet<string>): string {
  for (let code = 0x21; ; code++) {
    const c = String.fromCodePoint(code);
    if (!literals.has(c) && !isWildcard(c) && c === c.toLowerCase()) return c;
  }
}

/** Whether every string `inner` matches, `outer` matches too (`/a*` contains `/ab*`; `/a?*` does not contain `/a*`). */
export function globContains(outer: string, inner: string, caseInsensitive: boolean): boolean {
  return globSetCounterexample([outer], [inner], caseInsensitive) === undefined;
}

/**
 * Whether every string one of `inner` matches is matched by one of `outer`: each inner pattern is contained in the
 * union of the outer ones, which may hold where no single outer pattern contains it (`/a*` is in `/a` with `/a?*`).
 */
export function globSetContains(outer: readonly string[], inner: readonly string[], caseInsensitive: boolean): boolean {
  return globSetCounterexample(outer, inner, caseInsensitive) === undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Per-service checks
// ---------------------------------------------------------------------------------------------------------------

const quoted = (values: readonly string[]): string => `[${values.map((v) => JSON.stringify(v)).join(', ')}]`;

function badCharacters(value: string, allowed: RegExp): string[] {
  return [...new Set([...value].filter((c) => !allowed.test(c)))];
}

function listProblems(
  key: string,
  values: readonly string[],
  what: string,
  example: string,
  anyWhat: string,
  problems: string[],
): void {
  if (values.length === 0) {
    problems.push(
      `${key} is empty; a condition needs at least one value, so list ${what} such as "${example}", or remove the ` +
        `key to match ${anyWhat}.`,
    );
  } else if (values.length > ALB_MAX_VALUES_PER_CONDITION) {
    problems.push(
      `${key} ${quoted(values)} has ${values.length} values; an ALB condition takes at most ` +
        `${ALB_MAX_VALUES_PER_CONDITION}, so merge some of them with a wildcard (* or ?).`,
    );
  }
}

function lengthProblem(key: string, value: string, problems: string[]): void {
  if (value.length > ALB_MAX_CONDITION_VALUE_LENGTH) {
    problems.push(
      `${key} ${JSON.stringify(value)} is ${value.length} characters long; ALB takes at most ` +
        `${ALB_MAX_CONDITION_VALUE_LENGTH}, so shorten it (a trailing "*" can stand for the rest).`,
    );
  }
}

function pathProblems(key: string, value: string, problems: string[]): void {
  lengthProblem(key, value, problems);
  if (!value.startsWith('/')) {
    // Not an AWS rule but ours: a request path always starts with "/", so "api/*" would never match, and the overlap
    // checks model "any path" as "/*".
    const fixed = value.startsWith('?') ? `/${value.slice(1)}` : `/${value}`;
    problems.push(
      `${key} ${JSON.stringify(value)} must start with "/", as every request path does; write ` +
        `${JSON.stringify(fixed)}.`,
    );
  }
  const bad = badCharacters(value, PATH_CHARACTER);
  if (bad.length > 0) {
    problems.push(
      `${key} ${JSON.stringify(value)} contains ${quoted(bad)}, which an ALB path pattern can't; use only A-Z, a-z, ` +
        `0-9, _ - . $ / ~ " ' @ : + & and the wildcards * and ?.`,
    );
  }
}

function hostProblems(key: string, value: string, problems: string[]): void {
  lengthProblem(key, value, problems);
  const bad = badCharacters(value, HOST_CHARACTER);
  if (bad.length > 0) {
    problems.push(
      `${key} ${JSON.stringify(value)} contains ${quoted(bad)}, which an ALB host condition can't; use only A-Z, ` +
        'a-z, 0-9, - . and the wildcards * and ?.',
    );
  }
  const lastDot = value.lastIndexOf('.');
  if (lastDot < 0) {
    problems.push(
      `${key} ${JSON.stringify(value)} must contain a "." (an ALB host condition needs one); use the full name, ` +
        `such as ${JSON.stringify(`${value || 'www'}.example.com`)}.`,
    );
  } else if (!/^[A-Za-z]*$/.test(value.slice(lastDot + 1))) {
    problems.push(
      `${key} ${JSON.stringify(value)} has ${JSON.stringify(value.slice(lastDot + 1))} after its last "."; an ALB ` +
        'host condition allows only letters there, so end it with a top-level domain such as ".com" (a wildcard ' +
        'top-level domain such as "example.*" is not allowed).',
    );
  }
}

function serviceRoutingProblems(key: string, service: RoutedService, problems: string[]): void {
  const { priority, pathPatterns, hostHeaders } = service.routing;
  if (!Number.isInteger(priority) || priority < ALB_MIN_RULE_PRIORITY || priority > ALB_MAX_RULE_PRIORITY) {
    problems.push(
      `${key}.priority must be a whole number from ${ALB_MIN_RULE_PRIORITY} to ${ALB_MAX_RULE_PRIORITY}, the range ` +
        `of ALB listener rule priorities (got ${priority}); pick a free number in that range, lower for narrower rules.`,
    );
  }
  if (pathPatterns === undefined && hostHeaders === undefined) {
    problems.push(
      `${key} has neither pathPatterns nor hostHeaders; an ALB listener rule needs a condition, so add ` +
        `pathPatterns such as ["/${service.name}/*"] or hostHeaders such as ["${service.name}.example.com"].`,
    );
  }
  const paths = pathPatterns ?? [];
  const hosts = hostHeaders ?? [];
  if (pathPatterns) listProblems(`${key}.pathPatterns`, paths, 'a path pattern', '/orders/*', 'any path', problems);
  if (hostHeaders) {
    listProblems(`${key}.hostHeaders`, hosts, 'a host name', 'orders.example.com', 'any host', problems);
  }
  paths.forEach((p, k) => pathProblems(`${key}.pathPatterns[${k}]`, p, problems));
  hosts.forEach((h, k) => hostProblems(`${key}.hostHeaders[${k}]`, h, problems));
  const evaluations = paths.length + hosts.length;
  if (evaluations > ALB_MAX_MATCH_EVALUATIONS_PER_RULE) {
    problems.push(
      `${key} has ${evaluations} condition values (${paths.length} pathPatterns and ${hosts.length} hostHeaders); ` +
        `an ALB rule takes at most ${ALB_MAX_MATCH_EVALUATIONS_PER_RULE} match evaluations, so remove ` +
        `${evaluations - ALB_MAX_MATCH_EVALUATIONS_PER_RULE} or merge values with a wildcard.`,
    );
  }
  const wildcards = [...paths, ...hosts].join('').replace(/[^*?]/g, '').length;
  if (wildcards > ALB_MAX_WILDCARDS_PER_RULE) {
    problems.push(
      `${key} has ${wildcards} wildcards (* and ?) across pathPatterns and hostHeaders; an ALB rule takes at most ` +
        `${ALB_MAX_WILDCARDS_PER_RULE}, so drop values or write them with fewer wildcards.`,
    );
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Checks across services
// ---------------------------------------------------------------------------------------------------------------

/** The requests a rule matches, as a set of paths times a set of hosts. */
interface RuleLanguage {
  readonly paths: readonly string[];
  readonly hosts: readonly string[];
}

const languageOf = (r: ServiceRouting): RuleLanguage => ({
  paths: r.pathPatterns ?? [ANY_PATH],
  hosts: r.hostHeaders ?? [ANY_HOST],
});

/**
 * Whether every request `inner` matches, `outer` matches too. A rule matches a product of a path set and a host set,
 * neither empty (a glob always matches something), so containment is containment in each dimension.
 */
function ruleContains(outer: RuleLanguage, inner: RuleLanguage): boolean {
  return globSetContains(outer.paths, inner.paths, false) && globSetContains(outer.hosts, inner.hosts, true);
}

function describeRule(s: RoutedService, withPaths: boolean, withHosts: boolean): string {
  const parts = [`priority ${s.routing.priority}`];
  if (withPaths) parts.push(s.routing.pathPatterns ? `pathPatterns ${quoted(s.routing.pathPatterns)}` : 'any path');
  if (withHosts) parts.push(s.routing.hostHeaders ? `hostHeaders ${quoted(s.routing.hostHeaders)}` : 'any host');
  return `service "${s.name}" (${parts.join(', ')})`;
}

/** The smallest priority above `from` (else from the bottom) that no service uses. */
function freePriority(used: ReadonlySet<number>, from: number): number | undefined {
  for (let p = Math.max(from + 1, ALB_MIN_RULE_PRIORITY); p <= ALB_MAX_RULE_PRIORITY; p++) if (!used.has(p)) return p;
  for (let p = ALB_MIN_RULE_PRIORITY; p <= from; p++) if (!used.has(p)) return p;
  return undefined;
}

function overlapProblem(
  services: readonly RoutedService[],
  keyOf: (index: number) => string,
  i: number,
  j: number,
): string | undefined {
  const [e, l] = services[i].routing.priority < services[j].routing.priority ? [i, j] : [j, i];
  const earlier = services[e];
  const later = services[l];
  const el = languageOf(earlier.routing);
  const ll = languageOf(later.routing);
  const path = globSetsIntersect(el.paths, ll.paths, false);
  const host = globSetsIntersect(el.hosts, ll.hosts, true);
  if (path === undefined || host === undefined) return undefined;
  const earlierInLater = ruleContains(ll, el);
  const laterInEarlier = ruleContains(el, ll);
  if (earlierInLater && !laterInEarlier) return undefined; // specific first, catch-all later

  const withPaths = earlier.routing.pathPatterns !== undefined || later.routing.pathPatterns !== undefined;
  const withHosts = earlier.routing.hostHeaders !== undefined || later.routing.hostHeaders !== undefined;
  const example = [
    ...(withPaths ? [`path ${JSON.stringify(path)}`] : []),
    ...(withHosts ? [`host ${JSON.stringify(host)}`] : []),
  ].join(' on ');
  const E = describeRule(earlier, withPaths, withHosts);
  const L = describeRule(later, withPaths, withHosts);
  const pe = earlier.routing.priority;
  if (earlierInLater && laterInEarlier) {
    return (
      `${keyOf(l)}: ${L} matches exactly the requests of ${E} (for example ${example}), which is evaluated first, ` +
      `so "${later.name}" never receives a request; give the two services different paths or hosts.`
    );
  }
  if (laterInEarlier) {
    return (
      `${keyOf(l)}: ${L} is unreachable (shadowed): ${E} is evaluated first and matches every request ` +
      `"${later.name}" matches, for example ${example}; give "${later.name}" a priority below ${pe} so the ` +
      `narrower rule comes first, or narrow "${earlier.name}"'s patterns so they exclude these requests.`
    );
  }
  return (
    `${keyOf(e)} and ${keyOf(l)}: ${E} and ${L} partly overlap: a request such as ${example} matches both and goes ` +
    `to "${earlier.name}" only because it is evaluated first, yet neither rule contains the other; narrow a pattern ` +
    `so the rules share no request, or make the rule evaluated first a strict subset of the other (specific ` +
    'routes first, catch-alls last).'
  );
}

/**
 * The problems with the listener rules of services that share one ALB listener, one sentence each naming the key
 * (`keyOf(i)` is service i's prefix, such as `services[1].routing`), the value and the fix:
 * 1. each rule against AWS's documented limits (priority range, values and wildcards per condition and rule, the
 *    length and characters of path patterns and host names), and that it has a condition at all;
 * 2. priorities used twice;
 * 3. overlapping rules. Two rules overlap when some request matches both (their path sets and their host sets
 *    intersect; an absent list matches everything). That is allowed only when the rule evaluated first is strictly
 *    narrower (every request it matches the other matches too): specific routes first, catch-all later. Otherwise
 *    the later rule is shadowed (the earlier one contains it) or the two overlap partly; the problem gives a request
 *    that matches both.
 * Overlaps are checked only between rules that pass 1 and have different priorities, so one mistake is reported
 * once. Overlaps are judged pair by pair: a rule that several earlier rules cover only together is not reported.
 */
export function routingProblems(services: readonly RoutedService[], keyOf: (index: number) => string): string[] {
  const problems: string[] = [];
  const valid = services.map((s, i) => {
    const own: string[] = [];
    serviceRoutingProblems(keyOf(i), s, own);
    problems.push(...own);
    return own.length === 0;
  });

  const used = new Set(services.map((s) => s.routing.priority));
  services.forEach((s, j) => {
    const i = services.findIndex((o) => o.routing.priority === s.routing.priority);
    if (i === j || !Number.isInteger(s.routing.priority)) return;
    const free = freePriority(used, s.routing.priority);
    problems.push(
      `${keyOf(j)}.priority ${s.routing.priority} is also the priority of service "${services[i].name}" ` +
        `(${keyOf(i)}.priority); a listener can't have two rules with the same priority, so give "${s.name}" a ` +
        `free one` +
        (free === undefined ? '.' : ` such as ${free}.`),
    );
  });

  for (let i = 0; i < services.length; i++) {
    for (let j = i + 1; j < services.length; j++) {
      if (!valid[i] || !valid[j] || services[i].routing.priority === services[j].routing.priority) continue;
      const problem = overlapProblem(services, keyOf, i, j);
      if (problem) problems.push(problem);
    }
  }
  return problems;
}
