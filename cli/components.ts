/**
 * The data components an environment has, as the commands see them. A component exists only when one of the
 * environment's services uses it (`lib/config/services.ts`): an environment whose services use no database has
 * no Aurora cluster, one without a session cache no Global Datastore, one without shared files no Storage
 * stacks. What an environment lacks is reported as "not in this environment", never as an error.
 */
import { DATA_COMPONENTS, DataComponent, EnvironmentConfig, dataComponents, hasDataComponent } from '../lib/config';

/** A data component the environment does not have: nothing was read for it, and nothing is wrong. */
export interface NotInEnvironment {
  /** Always false: the component does not exist in this environment. */
  readonly inEnvironment: false;
  /**
   * Never set: nothing was read, and nothing failed. Typed so that `field.ok` narrows a {@link Field}-like union
   * that includes this (`status`'s data component fields) the same way in TypeScript and in the JSON.
   */
  readonly ok?: undefined;
  /** Why, for people: `not in this environment (no service uses shared files)`. */
  readonly note: string;
}

/** What each component is, in the commands' words. */
export const COMPONENT_TEXT: Readonly<Record<DataComponent, string>> = {
  database: 'database',
  sessionCache: 'session cache',
  sharedFiles: 'shared files',
};

/** The {@link NotInEnvironment} of `component`. */
export function notInEnvironment(component: DataComponent): NotInEnvironment {
  return { inEnvironment: false, note: `not in this environment (no service uses ${COMPONENT_TEXT[component]})` };
}

/** Whether a value is a {@link NotInEnvironment}. */
export function isNotInEnvironment(value: unknown): value is NotInEnvironment {
  return typeof value === 'object' && value !== null && (value as { inEnvironment?: unknown }).inEnvironment === false;
}

/** The data components of `config`, in {@link DATA_COMPONENTS} order. */
export function presentComponents(config: EnvironmentConfig): readonly DataComponent[] {
  return dataComponents(config);
}

/** The data components `config` does not have, in {@link DATA_COMPONENTS} order. */
export function absentComponents(config: EnvironmentConfig): readonly DataComponent[] {
  return DATA_COMPONENTS.filter((c) => !hasDataComponent(config, c));
}

/** A list of component names for a sentence: `database and session cache`, or `none` when empty. */
export function componentList(components: readonly DataComponent[], none = 'none'): string {
  const words = components.map((c) => COMPONENT_TEXT[c]);
  if (words.length === 0) return none;
  return words.length === 1 ? words[0]! : `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}`;
}
