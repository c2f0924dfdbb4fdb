/** The drill's scenarios, in the order they run. */
import type { Scenario } from './context';
import { cacheFailover, dbRestart } from './scenarios-data';
import { clientIp, crash, rollingDeploy, steady } from './scenarios-fleet';

/** Every scenario, in order: later ones start from the state earlier ones leave (e.g. version v2). */
export const SCENARIOS: readonly Scenario[] = [steady, crash, rollingDeploy, clientIp, dbRestart, cacheFailover];
