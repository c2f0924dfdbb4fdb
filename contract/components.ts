/**
 * The data components of an environment, one list with the names each side uses: the switch functions, their
 * events and the operator CLI's `rejoin` say `database`, `cache` and `files`; the config (`lib/config`) says
 * `database`, `sessionCache` and `sharedFiles`. An environment has a component only when one of its services uses
 * it.
 */

/** The data components as the switch functions, their events and the operator CLI name them, in switch order. */
export const COMPONENTS = ['database', 'cache', 'files'] as const;

/** One of {@link COMPONENTS}: database (Aurora global database), cache (Global Datastore), files (EFS replication). */
export type Component = (typeof COMPONENTS)[number];

/** The config's name of each component (`DataComponent` of `lib/config`, the `uses` of a service). */
export const CONFIG_COMPONENT = {
  database: 'database',
  cache: 'sessionCache',
  files: 'sharedFiles',
} as const satisfies Readonly<Record<Component, string>>;

/** A component as the config names it. */
export type ConfigComponent = (typeof CONFIG_COMPONENT)[Component];

/** The component of a config name: `sessionCache` → `cache`. */
export function componentOfConfig(name: ConfigComponent): Component {
  return COMPONENTS.find((c) => CONFIG_COMPONENT[c] === name)!;
}
