// @ts-check
/**
 * jest test sequencer: the files that read a whole-app synthesis (those importing test/synthesized.ts, directly
 * or through another test module) run after every other file.
 *
 * On a full run, jest's global set-up starts the syntheses in the background (test/global-setup.ts). jest's own
 * order puts the longest files first (by their last duration, or by size on a first run), and the longest files
 * are the whole-app ones: both workers then sat waiting for the syntheses for the first ~40 s of a cold run
 * while nothing else ran. Run last, they find the syntheses done or nearly so, and the construct, service, CLI
 * and Lambda tests use the cores meanwhile. Within each group jest's order is kept (failed first, then longest).
 */
const Sequencer = require('@jest/test-sequencer').default;
const path = require('path');

/** The module every whole-app test reads its syntheses through. */
const SYNTHESIZED = path.join(__dirname, 'synthesized.ts');

class WholeAppLastSequencer extends Sequencer {
  /**
   * @param {import('@jest/test-result').Test[]} tests
   * @returns {import('@jest/test-result').Test[] | Promise<import('@jest/test-result').Test[]>}
   */
  sort(tests) {
    const sorted = super.sort(tests);
    /** @param {import('@jest/test-result').Test[]} list */
    const split = (list) => {
      const whole = list.filter((t) => readsSynthesis(t, t.path, new Set()));
      return [...list.filter((t) => !whole.includes(t)), ...whole];
    };
    return Array.isArray(sorted) ? split(sorted) : sorted.then(split);
  }
}

/**
 * Whether `file` imports test/synthesized.ts, directly or through project modules (relative imports only;
 * packages never do).
 * @param {import('@jest/test-result').Test} test
 * @param {string} file
 * @param {Set<string>} seen the files already visited
 * @returns {boolean}
 */
function readsSynthesis(test, file, seen) {
  if (file === SYNTHESIZED) return true;
  if (seen.has(file)) return false;
  seen.add(file);
  const { hasteFS, resolver } = test.context;
  return (hasteFS.getDependencies(file) ?? [])
    .filter((spec) => spec.startsWith('.'))
    .some((spec) => {
      let target;
      try {
        target = resolver.resolveModule(file, spec);
      } catch {
        return false;
      }
      return readsSynthesis(test, target, seen);
    });
}

module.exports = WholeAppLastSequencer;
module.exports.readsSynthesis = readsSynthesis;
