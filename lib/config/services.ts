import { DATA_COMPONENTS, DataComponent, EnvironmentConfig, ServiceDefinition } from './types';

/**
 * The data components an environment creates: those at least one of its services uses, in
 * {@link DATA_COMPONENTS} order. A component no service uses is not created, and nothing watches or switches
 * it (alarms, dashboard, fault injection, Region switch steps, CLI status).
 */
export function dataComponents(config: Pick<EnvironmentConfig, 'services'>): readonly DataComponent[] {
  return DATA_COMPONENTS.filter((c) => config.services.some((s) => s.uses.includes(c)));
}

/** Whether the environment creates `component` (some service uses it). */
export function hasDataComponent(config: Pick<EnvironmentConfig, 'services'>, component: DataComponent): boolean {
  return config.services.some((s) => s.uses.includes(component));
}

/** Whether `service` uses `component`. */
export function serviceUses(service: ServiceDefinition, component: DataComponent): boolean {
  return service.uses.includes(component);
}

/** A service's own PostgreSQL login role and schema (lambda/database-roles/roles.ts makes them). */
export interface ServiceDatabaseRole {
  /** The login role: `DATABASE_USER` of the service, the user of its IAM database authentication tokens. */
  readonly role: string;
  /** The schema it creates its tables in (its `search_path`). */
  readonly schema: string;
}

/**
 * The database role and schema of a service that uses the database: `svc_` and its name with dashes as underscores,
 * for both (the prefix keeps them clear of PostgreSQL's and RDS's reserved names, `pg_*` and `rds*`, and of `public`).
 * Service names are lower-case letters, digits and dashes, and no two differ only in dashes (validate-services.ts),
 * so each service has its own.
 */
export function databaseRoleOf(serviceName: string): ServiceDatabaseRole {
  const name = `svc_${serviceName.replace(/-/g, '_')}`;
  return { role: name, schema: name };
}

/** The database roles of every service of the environment that uses the database, in config order. */
export function databaseRoles(config: Pick<EnvironmentConfig, 'services'>): ServiceDatabaseRole[] {
  return config.services.filter((s) => serviceUses(s, 'database')).map((s) => databaseRoleOf(s.name));
}
