/** Environment variable naming a jest run's shared directory (made by test/global-setup.ts). */
export const RUN_DIR_VARIABLE = 'HA_WEB_TEST_RUN_DIR';

/** File in the run directory listing the process IDs of the background syntheses, one per line. */
export const BACKGROUND_PIDS = 'background.pids';
