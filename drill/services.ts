/**
 * The services the drill and the game day run, as the `staging` environment defines them (lib/config/
 * environments.ts): the reference service `web` and the `catalog` example, behind one load balancer. From their
 * definitions come
 *
 * - the build: the repository's one esbuild recipe (lib/bundling.ts, `artifactBundle` of each service's
 *   `artifact`), the same bundle a synth uploads;
 * - the routing: each service's listener rule (`routing.pathPatterns`, in priority order) as an HAProxy ACL, the
 *   catch-all (`/*`) as the default backend, and the same rules to tell which service a request path is for;
 * - the environment: what the boot script (lib/constructs/service-bootstrap.ts) writes for the data components
 *   a service `uses`: `DATABASE_*` (writer and reader endpoint on one port, as Aurora's), `REDIS_*`, `FILES_DIR`;
 * - the readiness check of the region switch's post-check: `readiness.path` answers 200 and, with a
 *   `writablePointer`, the value there is `true`.
 */
import * as path from 'node:path';
import { artifactBundle, bundleFolder } from '../lib/bundling';
import { staging } from '../lib/config/environments';
import type { EnvironmentConfig, ServiceDefinition } from '../lib/config/types';
import { DEFAULT_SIGN_UPS_PER_IP_PER_HOUR } from '../service/src/config';
import type { ServiceDatabaseLogins } from './database-roles';

/** The environment whose services the drill runs: staging deploys both examples next to each other. */
export const SERVICES_ENVIRONMENT: EnvironmentConfig = staging;

/** The reference service (service/): sessions, notes, files; the listener's catch-all. */
export const REFERENCE_SERVICE = 'web';

/** The catalog example (services/catalog/): a read-mostly API under /api/catalog/ on the database only. */
export const CATALOG_SERVICE = 'catalog';

/** The services the drill runs, by name. */
export const DRILL_SERVICE_NAMES: readonly string[] = [REFERENCE_SERVICE, CATALOG_SERVICE];

/** The service `name` of `env`; throws naming the environment when it has none. */
export function serviceNamed(name: string, env: EnvironmentConfig = SERVICES_ENVIRONMENT): ServiceDefinition {
  const found = env.services.find((s) => s.name === name);
  if (!found) {
    throw new Error(
      `the drill runs service "${name}", which environment "${env.name}" does not define ` +
        `(it has ${env.services.map((s) => s.name).join(', ')})`,
    );
  }
  return found;
}

/**
 * The services the drill runs, in the order of {@link DRILL_SERVICE_NAMES} (the reference service first); the
 * routing functions below order them by listener-rule priority themselves.
 */
export function drillServices(env: EnvironmentConfig = SERVICES_ENVIRONMENT): ServiceDefinition[] {
  return DRILL_SERVICE_NAMES.map((name) => serviceNamed(name, env));
}

/** A service's bundle entry (`server.js`), built by lib/bundling.ts unless its build cache already holds it. */
export function serviceEntry(service: ServiceDefinition): string {
  const { directory, build } = service.artifact;
  if (!directory || !build) {
    throw new Error(`service "${service.name}": the drill runs services built from a directory (artifact.build)`);
  }
  return path.join(bundleFolder(artifactBundle(directory, build)), 'server.js');
}

// ---------------------------------------------------------------------------------------------------------------
// Routing: ALB path patterns (`*` any run of characters, `?` one) as HAProxy ACL criteria and as matchers.
// ---------------------------------------------------------------------------------------------------------------

/** An ALB path pattern that matches every path: the catch-all rule. */
const ANY_PATH = '/*';

const hasWildcard = (text: string) => /[*?]/.test(text);

/** A pattern as a regular expression source: wildcards translated, everything else literal. */
function globSource(pattern: string): string {
  return pattern
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
}

/** A word of an HAProxy configuration line: quotes, `$`, `#`, `\` and spaces escaped. */
function configWord(text: string): string {
  return text.replace(/["'$#\\ ]/g, '\\$&');
}

/**
 * The HAProxy ACL criterion (fetch, matcher and value) that matches the request paths an ALB path pattern
 * matches, or undefined for `/*` (every path): `/api/catalog/*` is `path_beg /api/catalog/`, a pattern without
 * wildcards `path <pattern>`, any other `path_reg`. Both compare the path without the query string, case-sensitive.
 */
export function pathPatternCriterion(pattern: string): string | undefined {
  if (pattern === ANY_PATH) return undefined;
  const head = pattern.slice(0, -1);
  if (pattern.endsWith('*') && !hasWildcard(head)) return `path_beg ${configWord(head)}`;
  if (!hasWildcard(pattern)) return `path ${configWord(pattern)}`;
  return `path_reg ${configWord(`^${globSource(pattern)}$`)}`;
}

/** Where the load balancer sends a service's requests. */
export interface ServiceRoute {
  /** The service, also the HAProxy backend's name. */
  readonly service: string;
  /** ACL criteria, any of which selects the service; empty for the catch-all (the default backend). */
  readonly criteria: readonly string[];
}

/**
 * The services' listener rules as HAProxy routes, in priority order. The drill has one host name, so it routes
 * by path only: a rule with host headers cannot be reproduced and is refused.
 */
export function serviceRoutes(services: readonly ServiceDefinition[]): ServiceRoute[] {
  return [...services]
    .sort((a, b) => a.routing.priority - b.routing.priority)
    .map((s) => {
      if (s.routing.hostHeaders?.length) {
        throw new Error(`service "${s.name}" routes by host header: the drill routes by path only`);
      }
      const patterns = s.routing.pathPatterns ?? [];
      const criteria = patterns.map(pathPatternCriterion);
      return { service: s.name, criteria: criteria.includes(undefined) ? [] : (criteria as string[]) };
    });
}

/** The service whose listener rule (first by priority) matches `urlPath` (query string ignored), if any. */
export function serviceOfPath(urlPath: string, services: readonly ServiceDefinition[]): string | undefined {
  const pathOnly = urlPath.split('?')[0]!;
  const sorted = [...services].sort((a, b) => a.routing.priority - b.routing.priority);
  return sorted.find((s) =>
    (s.routing.pathPatterns ?? [ANY_PATH]).some((p) => new RegExp(`^${globSource(p)}$`).test(pathOnly)),
  )?.name;
}

// ---------------------------------------------------------------------------------------------------------------
// Instances: IDs that name the region, the service and the version.
// ---------------------------------------------------------------------------------------------------------------

/** INSTANCE_ID of an instance: `i-[<region>-]<service>-<version>-<n>`, e.g. `i-web-v1-1`, `i-b-catalog-v1-2`. */
export function instanceId(parts: { region?: string; service: string; version: string; n: number }): string {
  return `i-${parts.region ? `${parts.region}-` : ''}${parts.service}-${parts.version}-${parts.n}`;
}

/** The service of an instance ID made by {@link instanceId}, among `services`. */
export function serviceOfInstance(id: string | undefined, services: readonly string[]): string | undefined {
  if (!id) return undefined;
  return services.find((name) => new RegExp(`^i-(?:[ab]-)?${name}-v\\d+-\\d+$`).test(id));
}

// ---------------------------------------------------------------------------------------------------------------
// Environment: what the boot script writes for the data components a service uses.
// ---------------------------------------------------------------------------------------------------------------

/** The stores of a region as the instances reach them. */
export interface ServiceStores {
  /** The database: writer and reader endpoints on one port, as Aurora's cluster and reader endpoints are. */
  readonly database?: {
    readonly writerHost: string;
    /** The reader endpoint; absent: `DATABASE_READER_HOST` is not set, and the services read from the writer. */
    readonly readerHost?: string;
    readonly port: number;
    readonly name: string;
    /** Each service's own role and its password file (drill/database-roles.ts), as the deploy's roles. */
    readonly logins: ServiceDatabaseLogins;
  };
  /** The session cache's primary endpoint. */
  readonly cache?: { readonly host: string; readonly port: number; readonly password: string };
  /** The shared files directory (FILES_DIR). */
  readonly filesDir?: string;
}

/**
 * The variables the boot script writes for `service` (lib/constructs/service-bootstrap.ts), by what it `uses`,
 * with TLS off (loopback) and `TRUSTED_PROXY_HOPS=1` (HAProxy, the ALB stand-in, appends the peer). Throws when a
 * component the service uses is missing from `stores`.
 */
export function serviceEnvironment(service: ServiceDefinition, stores: ServiceStores): Record<string, string> {
  const env: Record<string, string> = {
    SERVICE_NAME: service.name,
    HOST: '127.0.0.1',
    TRUSTED_PROXY_HOPS: '1',
    COOKIE_SECURE: 'true',
  };
  const missing = (what: string) => new Error(`service "${service.name}" uses ${what}, which the drill did not give`);
  if (service.uses.includes('database')) {
    const db = stores.database;
    if (!db) throw missing('the database');
    const login = db.logins[service.name];
    if (!login) throw missing('a database role');
    Object.assign(env, {
      DATABASE_HOST: db.writerHost,
      DATABASE_PORT: String(db.port),
      ...(db.readerHost ? { DATABASE_READER_HOST: db.readerHost } : {}),
      DATABASE_NAME: db.name,
      DATABASE_USER: login.user,
      DATABASE_PASSWORD_FILE: login.passwordFile,
      DATABASE_SSL: 'false',
    });
  }
  if (service.uses.includes('sessionCache')) {
    const cache = stores.cache;
    if (!cache) throw missing('the session cache');
    Object.assign(env, {
      REDIS_HOST: cache.host,
      REDIS_PORT: String(cache.port),
      REDIS_PASSWORD: cache.password,
      REDIS_TLS: 'false',
    });
  }
  if (service.uses.includes('sharedFiles')) {
    if (!stores.filesDir) throw missing('the shared files');
    env.FILES_DIR = stores.filesDir;
  }
  return env;
}

/**
 * What the reference service needs beyond the boot script's variables to take the drill's load: every virtual user
 * signs up from the load generator's one address, so the sign-up limit per client IP (SIGN_UPS_PER_IP_PER_HOUR) is
 * raised to the number of users when the default is below it. Nothing for the other services, or when the default
 * is enough (the drill then runs the service's defaults).
 */
export function loadEnvironment(service: ServiceDefinition, users: number): Record<string, string> {
  if (service.name !== REFERENCE_SERVICE || users <= DEFAULT_SIGN_UPS_PER_IP_PER_HOUR) return {};
  return { SIGN_UPS_PER_IP_PER_HOUR: String(users) };
}

// ---------------------------------------------------------------------------------------------------------------
// Readiness: the region switch post-check's judgement.
// ---------------------------------------------------------------------------------------------------------------

/** The value at an RFC 6901 JSON pointer of `document`, or `found: false`. */
export function resolvePointer(document: unknown, pointer: string): { found: boolean; value?: unknown } {
  if (pointer === '') return { found: true, value: document };
  if (!pointer.startsWith('/')) return { found: false };
  let value = document;
  for (const raw of pointer.slice(1).split('/')) {
    const token = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (typeof value !== 'object' || value === null || !Object.prototype.hasOwnProperty.call(value, token)) {
      return { found: false };
    }
    value = (value as Record<string, unknown>)[token];
  }
  return { found: true, value };
}

/**
 * Why a readiness answer does not pass, or undefined when it does: HTTP 200 and, when the service has a
 * `writablePointer`, the value there is `writable` (true in the active region, as the post-check wants; false in
 * the passive one).
 */
export function readinessProblem(
  service: ServiceDefinition,
  answer: { status: number; body: unknown },
  writable: boolean,
): string | undefined {
  const readiness = service.readiness;
  if (!readiness) return undefined;
  const shown = `${answer.status} ${JSON.stringify(answer.body)}`;
  if (answer.status !== 200) return `${service.name} ${readiness.path}: ${shown} (expected 200)`;
  if (!readiness.writablePointer) return undefined;
  const at = resolvePointer(answer.body, readiness.writablePointer);
  if (!at.found || at.value !== writable) {
    return `${service.name} ${readiness.path}: ${shown} (expected ${readiness.writablePointer} ${writable})`;
  }
  return undefined;
}
