/**
 * `node --import tsx test/synthesize.ts <name>`: makes one synthesis of test/synthesis.ts in the run directory
 * named by HA_WEB_TEST_RUN_DIR (or waits for the process already making it). test/global-setup.ts starts one
 * per synthesis in the background at the start of a full run, so they run alongside the first test files
 * instead of holding up the files that need them.
 */
import { ensureSynthesized, SYNTHESES, type SynthesisName } from './synthesis';
import { RUN_DIR_VARIABLE } from './run-dir';

const name = process.argv[2] as SynthesisName;
if (!SYNTHESES.includes(name) || !process.env[RUN_DIR_VARIABLE]) {
  console.error(`usage: ${RUN_DIR_VARIABLE}=<dir> node --import tsx test/synthesize.ts <${SYNTHESES.join('|')}>`);
  process.exit(2);
}
ensureSynthesized(name);
