/**
 * test/sequencer.js: files that read a whole-app synthesis run after all others, found through the import graph
 * jest's haste map gives the sequencer. The contexts here stand in for jest's: `getDependencies` returns a
 * file's import specifiers (as jest's dependency extractor does), `resolveModule` resolves a relative one.
 */
import * as fs from 'fs';
import * as path from 'path';

// The sequencer is CommonJS JavaScript, as jest loads it without a transform.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const WholeAppLastSequencer = require('./sequencer') as new () => { sort(tests: FakeTest[]): FakeTest[] };

interface FakeTest {
  path: string;
  context: unknown;
  duration?: number;
}

const TEST_DIR = __dirname;
const SYNTHESIZED = path.join(TEST_DIR, 'synthesized.ts');
const IMPORT = /(?:from|import|require\()\s*'([^']+)'/g;

/** A context over `files` (path → source), sized as given (jest orders by size on a first run). */
function context(files: Record<string, string>, sizes: Record<string, number> = {}) {
  return {
    config: { cache: false },
    hasteFS: {
      getSize: (file: string) => sizes[file] ?? 0,
      getDependencies: (file: string) => [...(files[file] ?? '').matchAll(IMPORT)].map((m) => m[1]),
    },
    resolver: {
      resolveModule: (from: string, spec: string) => {
        const target = path.resolve(path.dirname(from), spec);
        const file = [`${target}.ts`, path.join(target, 'index.ts')].find((f) => f in files || f === SYNTHESIZED);
        if (!file) throw new Error(`Cannot find module '${spec}' from '${from}'`);
        return file;
      },
    },
  };
}

function order(files: Record<string, string>, sizes: Record<string, number> = {}): string[] {
  const ctx = context(files, sizes);
  const tests = Object.keys(files)
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => ({ path: f, context: ctx }));
  return new WholeAppLastSequencer().sort(tests).map((t) => path.relative(TEST_DIR, t.path));
}

const at = (name: string) => path.join(TEST_DIR, name);

describe('WholeAppLastSequencer', () => {
  test('puts files importing synthesized.ts, directly or through a helper, after the others, whatever their size', () => {
    const files = {
      [at('a.test.ts')]: "import { synthesized } from './synthesized';",
      [at('b.test.ts')]: "import { x } from './helper';",
      [at('helper.ts')]: "import { demo } from './synthesized';\nimport * as fs from 'fs';",
      [at('c.test.ts')]: "import { bareStack } from './harness';",
      [at('harness.ts')]: "import { App } from 'aws-cdk-lib';",
      [at('d.test.ts')]: '',
    };
    const sizes = { [at('a.test.ts')]: 900, [at('b.test.ts')]: 800, [at('c.test.ts')]: 100, [at('d.test.ts')]: 50 };
    expect(order(files, sizes)).toEqual(['c.test.ts', 'd.test.ts', 'a.test.ts', 'b.test.ts']);
  });

  test('keeps jest order within each group (largest first on a first run)', () => {
    const files = {
      [at('small.test.ts')]: '',
      [at('large.test.ts')]: '',
      [at('whole-small.test.ts')]: "import './synthesized';",
      [at('whole-large.test.ts')]: "import './synthesized';",
    };
    const sizes = {
      [at('small.test.ts')]: 1,
      [at('large.test.ts')]: 2,
      [at('whole-small.test.ts')]: 3,
      [at('whole-large.test.ts')]: 4,
    };
    expect(order(files, sizes)).toEqual([
      'large.test.ts',
      'small.test.ts',
      'whole-large.test.ts',
      'whole-small.test.ts',
    ]);
  });

  test('ends on import cycles and ignores imports it cannot resolve or that name packages', () => {
    const files = {
      [at('cycle.test.ts')]: "import './x';",
      [at('x.ts')]: "import './y';\nimport 'aws-cdk-lib';",
      [at('y.ts')]: "import './x';\nimport './missing';",
      [at('through-cycle.test.ts')]: "import './p';",
      [at('p.ts')]: "import './q';",
      [at('q.ts')]: "import './p';\nimport './synthesized';",
    };
    expect(order(files)).toEqual(['cycle.test.ts', 'through-cycle.test.ts']);
  });

  test("on this project's test files: the whole-app tests come last, every construct test before them", () => {
    const files: Record<string, string> = {};
    const walk = (dir: string): void =>
      fs.readdirSync(dir, { withFileTypes: true }).forEach((e) => {
        const p = path.join(dir, e.name);
        if (e.isDirectory() && e.name !== '__snapshots__') walk(p);
        else if (e.name.endsWith('.ts')) files[p] = fs.readFileSync(p, 'utf8');
      });
    walk(TEST_DIR);
    const sorted = order(files);
    const firstWhole = sorted.findIndex((f) => /synthesized(Elsewhere)?\(/.test(files[at(f)]));
    const whole = sorted.slice(firstWhole);
    expect(whole).toEqual(expect.arrayContaining(['stacks/app-stack.test.ts', 'snapshot.test.ts', 'app.test.ts']));
    expect(whole.every((f) => /synthesized(Elsewhere)?\(/.test(files[at(f)]))).toBe(true);
    expect(sorted.slice(0, firstWhole)).toEqual(expect.arrayContaining(['constructs/network.test.ts']));
    expect(sorted.slice(0, firstWhole).some((f) => /synthesized(Elsewhere)?\(/.test(files[at(f)]))).toBe(false);
  });
});
