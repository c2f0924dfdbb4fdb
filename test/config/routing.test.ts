import {
  ALB_MAX_CONDITION_VALUE_LENGTH,
  globContains,
  globSetContains,
  globSetCounterexample,
  globSetsIntersect,
  globsIntersect,
  RoutedService,
  routingProblems,
  ServiceRouting,
} from '../../lib/config/routing';

const keyOf = (i: number) => `services[${i}].routing`;
const svc = (name: string, routing: ServiceRouting): RoutedService => ({ name, routing });
const problemsOf = (...services: RoutedService[]) => routingProblems(services, keyOf);
const one = (routing: ServiceRouting) => problemsOf(svc('orders', routing));

const compiled = new Map<string, RegExp>();

/** Whether `text` matches `pattern`: an oracle independent of the module (a regular expression). */
function oracle(pattern: string, text: string, caseInsensitive: boolean): boolean {
  const key = `${caseInsensitive}${pattern}`;
  let re = compiled.get(key);
  if (!re) {
    const source = [...pattern]
      .map((c) => (c === '*' ? '[\\s\\S]*' : c === '?' ? '[\\s\\S]' : c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')))
      .join('');
    re = new RegExp(`^${source}$`, caseInsensitive ? 'i' : '');
    compiled.set(key, re);
  }
  return re.test(text);
}

describe('routingProblems: AWS limits of one rule', () => {
  test('accepts a specific route before the catch-all (the example services)', () => {
    expect(
      problemsOf(
        svc('web', { priority: 1000, pathPatterns: ['/*'] }),
        svc('catalog', { priority: 100, pathPatterns: ['/api/catalog/*'] }),
      ),
    ).toEqual([]);
  });

  test.each([0, 50001, 1.5, -3])('rejects priority %p outside 1 to 50000', (priority) => {
    expect(one({ priority, pathPatterns: ['/orders/*'] })).toEqual([
      `services[0].routing.priority must be a whole number from 1 to 50000, the range of ALB listener rule ` +
        `priorities (got ${priority}); pick a free number in that range, lower for narrower rules.`,
    ]);
  });

  test('accepts priorities 1 and 50000', () => {
    expect(one({ priority: 1, pathPatterns: ['/a'] })).toEqual([]);
    expect(one({ priority: 50000, pathPatterns: ['/a'] })).toEqual([]);
  });

  test('rejects a rule without conditions', () => {
    expect(one({ priority: 10 })).toEqual([
      'services[0].routing has neither pathPatterns nor hostHeaders; an ALB listener rule needs a condition, so add ' +
        'pathPatterns such as ["/orders/*"] or hostHeaders such as ["orders.example.com"].',
    ]);
  });

  test('rejects an empty list of values', () => {
    expect(one({ priority: 10, pathPatterns: [], hostHeaders: ['orders.example.com'] })).toEqual([
      'services[0].routing.pathPatterns is empty; a condition needs at least one value, so list a path pattern such ' +
        'as "/orders/*", or remove the key to match any path.',
    ]);
  });

  test('rejects more than 3 values in one condition', () => {
    expect(one({ priority: 10, pathPatterns: ['/a', '/b', '/c', '/d'] })).toEqual([
      'services[0].routing.pathPatterns ["/a", "/b", "/c", "/d"] has 4 values; an ALB condition takes at most 3, so ' +
        'merge some of them with a wildcard (* or ?).',
    ]);
    expect(one({ priority: 10, hostHeaders: ['a.example.com', 'b.example.com', 'c.example.com'] })).toEqual([]);
  });

  test('rejects more than 5 match evaluations in one rule', () => {
    const hostHeaders = ['a.example.com', 'b.example.com', 'c.example.com'];
    expect(one({ priority: 10, pathPatterns: ['/a', '/b', '/c'], hostHeaders })).toEqual([
      'services[0].routing has 6 condition values (3 pathPatterns and 3 hostHeaders); an ALB rule takes at most 5 ' +
        'match evaluations, so remove 1 or merge values with a wildcard.',
    ]);
    expect(one({ priority: 10, pathPatterns: ['/a', '/b'], hostHeaders })).toEqual([]);
  });

  test('rejects more than 5 wildcards in one rule, counting both conditions', () => {
    expect(one({ priority: 10, pathPatterns: ['/a/*/*', '/b/???'], hostHeaders: ['*.example.com'] })).toEqual([
      'services[0].routing has 6 wildcards (* and ?) across pathPatterns and hostHeaders; an ALB rule takes at most ' +
        '5, so drop values or write them with fewer wildcards.',
    ]);
    expect(one({ priority: 10, pathPatterns: ['/a/*/*', '/b/???'], hostHeaders: ['a.example.com'] })).toEqual([]);
  });

  test('rejects a path pattern longer than 128 characters', () => {
    const exact = `/${'a'.repeat(ALB_MAX_CONDITION_VALUE_LENGTH - 1)}`;
    expect(one({ priority: 10, pathPatterns: [exact] })).toEqual([]);
    expect(one({ priority: 10, pathPatterns: [`${exact}b`] })).toEqual([
      `services[0].routing.pathPatterns[0] "${exact}b" is 129 characters long; ALB takes at most 128, so shorten ` +
        'it (a trailing "*" can stand for the rest).',
    ]);
  });

  test('rejects a path pattern that does not start with "/"', () => {
    expect(one({ priority: 10, pathPatterns: ['/ok', 'api/*'] })).toEqual([
      'services[0].routing.pathPatterns[1] "api/*" must start with "/", as every request path does; write "/api/*".',
    ]);
  });

  test('accepts every character AWS documents for path patterns', () => {
    expect(one({ priority: 10, pathPatterns: [`/AZaz09_-.$/~"'@:+&*?`] })).toEqual([]);
  });

  test('rejects characters a path pattern cannot hold', () => {
    expect(one({ priority: 10, pathPatterns: ['/items/{id}', '/a b%20#'] })).toEqual([
      'services[0].routing.pathPatterns[0] "/items/{id}" contains ["{", "}"], which an ALB path pattern can\'t; use ' +
        'only A-Z, a-z, 0-9, _ - . $ / ~ " \' @ : + & and the wildcards * and ?.',
      'services[0].routing.pathPatterns[1] "/a b%20#" contains [" ", "%", "#"], which an ALB path pattern can\'t; ' +
        'use only A-Z, a-z, 0-9, _ - . $ / ~ " \' @ : + & and the wildcards * and ?.',
    ]);
  });

  test('accepts every character AWS documents for host names', () => {
    expect(one({ priority: 10, hostHeaders: ['AZaz09-.*?.Example.COM'] })).toEqual([]);
  });

  test('rejects characters a host name cannot hold', () => {
    expect(one({ priority: 10, hostHeaders: ['my_app.example.com'] })).toEqual([
      'services[0].routing.hostHeaders[0] "my_app.example.com" contains ["_"], which an ALB host condition can\'t; ' +
        'use only A-Z, a-z, 0-9, - . and the wildcards * and ?.',
    ]);
  });

  test('rejects a host name without a "."', () => {
    expect(one({ priority: 10, hostHeaders: ['localhost'] })).toEqual([
      'services[0].routing.hostHeaders[0] "localhost" must contain a "." (an ALB host condition needs one); use the ' +
        'full name, such as "localhost.example.com".',
    ]);
  });

  test.each(['example.*', 'example.c0m', 'example.co-'])('rejects %p: only letters after the last "."', (host) => {
    const tld = host.slice(host.lastIndexOf('.') + 1);
    expect(one({ priority: 10, hostHeaders: [host] })).toEqual([
      `services[0].routing.hostHeaders[0] "${host}" has "${tld}" after its last "."; an ALB host condition allows ` +
        'only letters there, so end it with a top-level domain such as ".com" (a wildcard top-level domain such as ' +
        '"example.*" is not allowed).',
    ]);
  });

  test('rejects a host name longer than 128 characters', () => {
    const host = `${'a'.repeat(125)}.com`;
    expect(one({ priority: 10, hostHeaders: [host] })).toEqual([
      `services[0].routing.hostHeaders[0] "${host}" is 129 characters long; ALB takes at most 128, so shorten it (a ` +
        'trailing "*" can stand for the rest).',
    ]);
  });

  test('rejects a priority used twice, naming both services and a free priority', () => {
    expect(
      problemsOf(
        svc('web', { priority: 1000, pathPatterns: ['/*'] }),
        svc('catalog', { priority: 100, pathPatterns: ['/api/catalog/*'] }),
        svc('docs', { priority: 101, pathPatterns: ['/docs/*'], hostHeaders: ['docs.example.com'] }),
        svc('admin', { priority: 100, hostHeaders: ['admin.example.com'] }),
      ),
    ).toEqual([
      'services[3].routing.priority 100 is also the priority of service "catalog" (services[1].routing.priority); a ' +
        'listener can\'t have two rules with the same priority, so give "admin" a free one such as 102.',
    ]);
  });
});

describe('routingProblems: overlapping rules', () => {
  test('rejects a specific route after the catch-all as shadowed', () => {
    expect(
      problemsOf(
        svc('web', { priority: 10, pathPatterns: ['/*'] }),
        svc('catalog', { priority: 100, pathPatterns: ['/api/catalog/*'] }),
      ),
    ).toEqual([
      'services[1].routing: service "catalog" (priority 100, pathPatterns ["/api/catalog/*"]) is unreachable ' +
        '(shadowed): service "web" (priority 10, pathPatterns ["/*"]) is evaluated first and matches every request ' +
        '"catalog" matches, for example path "/api/catalog/"; give "catalog" a priority below 10 so the narrower rule ' +
        'comes first, or narrow "web"\'s patterns so they exclude these requests.',
    ]);
  });

  test('rejects a partial overlap with a request that matches both', () => {
    expect(
      problemsOf(svc('b', { priority: 10, pathPatterns: ['/*b'] }), svc('a', { priority: 20, pathPatterns: ['/a*'] })),
    ).toEqual([
      'services[0].routing and services[1].routing: service "b" (priority 10, pathPatterns ["/*b"]) and service "a" ' +
        '(priority 20, pathPatterns ["/a*"]) partly overlap: a request such as path "/ab" matches both and goes to ' +
        '"b" only because it is evaluated first, yet neither rule contains the other; narrow a pattern so the rules ' +
        'share no request, or make the rule evaluated first a strict subset of the other (specific routes first, ' +
        'catch-alls last).',
    ]);
  });

  test('rejects a partial overlap across dimensions, giving the path and the host', () => {
    expect(
      problemsOf(
        svc('api', { priority: 10, pathPatterns: ['/api/*'] }),
        svc('tenant', { priority: 20, hostHeaders: ['api.example.com'] }),
      ),
    ).toEqual([expect.stringContaining('partly overlap: a request such as path "/api/" on host "api.example.com"')]);
  });

  test('accepts rules with the same paths on disjoint hosts', () => {
    expect(
      problemsOf(
        svc('a', { priority: 10, pathPatterns: ['/*'], hostHeaders: ['a.example.com'] }),
        svc('b', { priority: 20, pathPatterns: ['/*'], hostHeaders: ['b.example.com', '*.b.example.com'] }),
      ),
    ).toEqual([]);
  });

  test('matches host names ignoring case', () => {
    expect(
      problemsOf(
        svc('upper', { priority: 10, hostHeaders: ['API.example.com'] }),
        svc('lower', { priority: 20, hostHeaders: ['api.example.com'] }),
      ),
    ).toEqual([
      'services[1].routing: service "lower" (priority 20, hostHeaders ["api.example.com"]) matches exactly the ' +
        'requests of service "upper" (priority 10, hostHeaders ["API.example.com"]) (for example host ' +
        '"api.example.com"), which is evaluated first, so "lower" never receives a request; give the two services ' +
        'different paths or hosts.',
    ]);
  });

  test('matches paths respecting case', () => {
    expect(
      problemsOf(
        svc('upper', { priority: 10, pathPatterns: ['/A*'] }),
        svc('lower', { priority: 20, pathPatterns: ['/a*'] }),
      ),
    ).toEqual([]);
  });

  test('accepts a host-only rule before a path catch-all, and rejects it after', () => {
    const admin = { hostHeaders: ['admin.example.com'] };
    expect(
      problemsOf(svc('admin', { priority: 10, ...admin }), svc('web', { priority: 20, pathPatterns: ['/*'] })),
    ).toEqual([]);
    expect(
      problemsOf(svc('admin', { priority: 30, ...admin }), svc('web', { priority: 20, pathPatterns: ['/*'] })),
    ).toEqual([expect.stringContaining('services[0].routing: service "admin" (priority 30, any path, hostHeaders')]);
  });

  test("judges containment against the union of the later rule's patterns", () => {
    // "/a*" is "/a" plus "/a?*": no single pattern of the later rule contains it, the three together do.
    expect(
      problemsOf(
        svc('narrow', { priority: 10, pathPatterns: ['/a*'] }),
        svc('wide', { priority: 20, pathPatterns: ['/a', '/a?*', '/b'] }),
      ),
    ).toEqual([]);
    expect(
      problemsOf(
        svc('narrow', { priority: 10, pathPatterns: ['/a*'] }),
        svc('wide', { priority: 20, pathPatterns: ['/ab*', '/a', '/b'] }),
      ),
    ).toEqual([expect.stringContaining('partly overlap: a request such as path "/a"')]);
  });

  test('checks no overlap for a rule that already breaks a limit', () => {
    expect(
      problemsOf(svc('web', { priority: 10, pathPatterns: ['/*'] }), svc('bad', { priority: 20, pathPatterns: ['x'] })),
    ).toEqual([expect.stringContaining('services[1].routing.pathPatterns[0] "x" must start with "/"')]);
  });
});

describe('glob containment and intersection', () => {
  test.each([
    ['/a*', '/ab*', true],
    ['/*', '/', true],
    ['/*', '/api/catalog/*', true],
    ['/*', '/a?c*', true],
    ['/a*', '/a?c', true],
    ['/a?c', '/a*', false],
    ['/a?*', '/a*', false], // "/a" matches "/a*" but not "/a?*"
    ['/a*', '/a?*', true],
    ['*b', 'a*', false],
    ['a*', '*b', false],
    ['/*/x', '/a/*/x', true],
    ['/*/*', '/*', false], // "/"
    ['/?*', '/*?', true],
    ['/*?', '/?*', true],
  ])('globContains(%p, %p) is %p', (outer, inner, expected) => {
    expect(globContains(outer, inner, false)).toBe(expected);
  });

  test('finds a witness for intersecting patterns and none for disjoint ones', () => {
    expect(globsIntersect('*b', 'a*', false)).toBe('ab');
    expect(globsIntersect('/api/*', '/*', false)).toBe('/api/');
    expect(globsIntersect('/a?c', '/*c', false)).toBe('/axc');
    expect(globsIntersect('/A*', '/a*', false)).toBeUndefined();
    expect(globsIntersect('/A*', '/a*', true)).toBe('/a');
    expect(globsIntersect('/a?', '/a', false)).toBeUndefined();
    expect(globsIntersect('*.example.com', 'API.Example.com', true)).toBe('api.example.com');
  });

  test('compares host names ignoring case in containment', () => {
    expect(globContains('*.EXAMPLE.com', 'api.example.COM', true)).toBe(true);
    expect(globContains('*.EXAMPLE.com', 'api.example.COM', false)).toBe(false);
  });

  test('contains a pattern in a union that no single member contains', () => {
    for (const outer of ['/ab*', '/a', '/a?*']) expect(globContains(outer, '/a*', false)).toBe(false);
    expect(globSetContains(['/ab*', '/a', '/a?*'], ['/a*'], false)).toBe(true);
    expect(globSetContains(['/a', '/a?*'], ['/a*'], false)).toBe(true);
    expect(globSetCounterexample(['/ab*', '/a'], ['/a*'], false)).toBe('/ax');
    expect(globSetCounterexample(['/a?*', '/b*'], ['/a*', '/b'], false)).toBe('/a');
    expect(globSetsIntersect(['/x*', '/a*'], ['/b', '/ab*'], false)).toBe('/ab');
  });

  test('agrees with brute force over every string of up to 5 characters (random patterns, seeded)', () => {
    // Patterns over "a", "b", "B", "/" and the wildcards; strings over those literals and "c", which no pattern
    // names. A witness or counterexample the module returns is checked against the oracle directly; an answer of
    // "disjoint" or "contained" is checked against every string up to the length bound (an offline run to length 6
    // over 106 patterns found no witness or counterexample longer than 6, none disagreeing).
    let seed = 20240611;
    const random = (n: number) => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return (seed >>> 16) % n;
    };
    const randomPattern = () =>
      Array.from({ length: 1 + random(4) }, () => ['a', 'b', 'B', '/', '*', '?', 'a', '*'][random(8)]).join('');
    const patterns = [...new Set(Array.from({ length: 24 }, randomPattern))];
    const strings = [''];
    for (let layer = [''], n = 1; n <= 5; n++) {
      layer = layer.flatMap((s) => ['a', 'b', 'B', '/', 'c'].map((c) => s + c));
      strings.push(...layer);
    }
    const words = Math.ceil(strings.length / 32);
    const bits = (test: (s: string) => boolean) => {
      const set = new Uint32Array(words);
      strings.forEach((s, k) => {
        if (test(s)) set[k >>> 5] |= 1 << (k & 31);
      });
      return set;
    };
    const union = (sets: readonly Uint32Array[]) => sets.reduce((u, x) => u.map((w, k) => w | x[k]));
    /** Whether some string is in `x` and, with `negate`, not in `y` (else also in `y`). */
    const some = (x: Uint32Array, y: Uint32Array, negate: boolean) =>
      x.some((w, k) => (w & (negate ? ~y[k] : y[k])) !== 0);

    for (const ci of [false, true]) {
      const matches = new Map(patterns.map((p) => [p, bits((s) => oracle(p, s, ci))]));
      for (const a of patterns) {
        for (const b of patterns) {
          const witness = globsIntersect(a, b, ci);
          if (witness === undefined) expect(some(matches.get(a)!, matches.get(b)!, false)).toBe(false);
          else expect([oracle(a, witness, ci), oracle(b, witness, ci)]).toEqual([true, true]);
          const counterexample = globSetCounterexample([a], [b], ci);
          if (counterexample === undefined) expect(some(matches.get(b)!, matches.get(a)!, true)).toBe(false);
          else expect([oracle(b, counterexample, ci), oracle(a, counterexample, ci)]).toEqual([true, false]);
        }
      }
      for (let n = 0; n < 150; n++) {
        const outer = [0, 1, 2].map(() => patterns[random(patterns.length)]);
        const inner = [0, 1].map(() => patterns[random(patterns.length)]);
        const counterexample = globSetCounterexample(outer, inner, ci);
        if (counterexample === undefined) {
          const outerSet = union(outer.map((p) => matches.get(p)!));
          expect(some(union(inner.map((p) => matches.get(p)!)), outerSet, true)).toBe(false);
        } else {
          expect(inner.some((p) => oracle(p, counterexample, ci))).toBe(true);
          expect(outer.some((p) => oracle(p, counterexample, ci))).toBe(false);
        }
      }
    }
  });
});
