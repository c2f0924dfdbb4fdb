/**
 * database-roles: the custom resource (CDK's `custom_resources.Provider` calls this as its `onEvent` handler) that
 * makes the services' least-privilege PostgreSQL roles in the Aurora Global Database (./roles.ts), as the
 * administrator, whose secret only this function reads: the service instances never see it.
 *
 * Both regions' Data stacks have one. The one whose cluster is the writer applies the statements; the one whose
 * cluster is the read-only secondary (the writer endpoint of a secondary cluster does not resolve, AWS lists it as
 * `inactive`; or the server is in recovery) checks that the roles have arrived by replication, waiting up to
 * `REPLICA_WAIT_SECONDS`, and fails naming what is missing, so a deploy that runs in the wrong order says so instead
 * of leaving services that cannot sign in. After a region switch the roles of the new writer region are the same
 * roles (they live in the replicated database), so either region's stack may apply them.
 *
 * Events: Create and Update apply (or verify); Delete does nothing (the roles and the services' tables stay with
 * the database, as the deploy retains the cluster). Resource properties:
 * - `Roles`: JSON list of `{ role, schema }`;
 * - `Database`: the application database;
 * - `IamRole`: `rds_iam`;
 * - `Statements`: the statements the CDK app computed from the same module, shown in `cdk diff` for review and checked
 *   here against this code's own.
 *
 * Environment: `SECRET_ID` (the administrator's secret), `WRITER_HOST`, `READER_HOST`, `PORT`,
 * `REPLICA_WAIT_SECONDS` (optional, default 120), `NODE_EXTRA_CA_CERTS=/var/runtime/ca-cert.pem` (the Lambda
 * Node.js runtimes from 20 on load Amazon's CA certificates, the RDS ones among them, only when told to).
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { Client, type ClientConfig } from 'pg';
import { processEnv, type Env } from '../shared/env';
import { applyRoles, isReadOnly, roleStatements, verifyRoles, type DatabaseRole, type RoleOptions } from './roles';

/** The custom resource's physical ID: one set of roles per cluster. */
export const PHYSICAL_ID = 'database-roles';

/** What the handler returns to the Provider framework. */
export interface RolesResponse {
  readonly PhysicalResourceId: string;
  readonly Data: { readonly Applied: string; readonly Region: string };
}

/** The function's environment, read once. */
export interface RolesEnvironment {
  readonly secretId: string;
  readonly writerHost: string;
  readonly readerHost: string;
  readonly port: number;
  readonly region: string;
  readonly replicaWaitMs: number;
}

/** Reads the environment; names every missing variable. */
export function loadEnvironment(env: Env): RolesEnvironment {
  const missing = ['SECRET_ID', 'WRITER_HOST', 'READER_HOST', 'PORT', 'AWS_REGION'].filter((k) => !env[k]);
  if (missing.length > 0) throw new Error(`database-roles: missing environment variables ${missing.join(', ')}`);
  const port = Number(env.PORT);
  const wait = Number(env.REPLICA_WAIT_SECONDS ?? '120');
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`database-roles: PORT "${env.PORT}"`);
  if (!Number.isInteger(wait) || wait < 0 || wait > 600) {
    throw new Error(`database-roles: REPLICA_WAIT_SECONDS "${env.REPLICA_WAIT_SECONDS}" must be 0 to 600`);
  }
  return {
    secretId: env.SECRET_ID!,
    writerHost: env.WRITER_HOST!,
    readerHost: env.READER_HOST!,
    port,
    region: env.AWS_REGION!,
    replicaWaitMs: wait * 1000,
  };
}

/** The resource properties, checked. */
export function parseProperties(properties: Record<string, unknown>): {
  roles: DatabaseRole[];
  options: RoleOptions;
  statements: string[];
} {
  const roles = JSON.parse(String(properties.Roles ?? '[]')) as DatabaseRole[];
  if (!Array.isArray(roles) || roles.some((r) => typeof r?.role !== 'string' || typeof r?.schema !== 'string')) {
    throw new Error('database-roles: Roles must be a JSON list of { role, schema }');
  }
  const database = String(properties.Database ?? '');
  if (!database) throw new Error('database-roles: the Database property is required');
  const iamRole = properties.IamRole === undefined ? undefined : String(properties.IamRole);
  const statements = JSON.parse(String(properties.Statements ?? '[]')) as string[];
  return { roles, options: { database, iamRole }, statements };
}

/** What the handler needs besides the event: a database connection by host, the clock. Tests hand in their own. */
export interface RolesDependencies {
  /** Connects as the administrator to `database` at `host` (the writer or the reader endpoint); the caller ends it. */
  connect(host: string, database: string): Promise<Client>;
  readonly sleep: (ms: number) => Promise<void>;
  readonly now: () => number;
  readonly log: (message: string, fields?: Record<string, unknown>) => void;
}

/** Error codes of a connection to an endpoint that has no server behind it (an inactive writer endpoint). */
const NO_SERVER = new Set(['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'EHOSTUNREACH', 'ETIMEDOUT']);

/** Handles one custom resource event. */
export async function handleEvent(
  event: CloudFormationCustomResourceEvent,
  environment: RolesEnvironment,
  deps: RolesDependencies,
): Promise<RolesResponse> {
  const response = (applied: string): RolesResponse => ({
    PhysicalResourceId: PHYSICAL_ID,
    Data: { Applied: applied, Region: environment.region },
  });
  if (event.RequestType === 'Delete') {
    deps.log('delete: the roles and their tables stay with the database');
    return response('retained');
  }
  const { roles, options, statements } = parseProperties(event.ResourceProperties);
  const own = roleStatements(roles, new Set(), options);
  if (JSON.stringify(own) !== JSON.stringify(statements)) {
    throw new Error(
      'database-roles: the Statements property differs from what this function would run; the function and the ' +
        'template come from different versions of lambda/database-roles (deploy them together)',
    );
  }

  const writer = await connectOrUndefined(deps, environment.writerHost, options.database);
  if (writer) {
    try {
      if (!(await isReadOnly(writer))) {
        const ran = await applyRoles(writer, roles, options);
        const problems = await verifyRoles(writer, roles, options);
        if (problems.length > 0) throw new Error(`database-roles: applied, yet ${problems.join('; ')}`);
        deps.log('applied', { statements: ran.length, roles: roles.map((r) => r.role) });
        return response('writer');
      }
    } finally {
      await writer.end().catch(() => undefined);
    }
  }
  return verifyOnReplica(roles, options, environment, deps).then(() => response('replica'));
}

async function connectOrUndefined(
  deps: RolesDependencies,
  host: string,
  database: string,
): Promise<Client | undefined> {
  try {
    return await deps.connect(host, database);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== undefined && NO_SERVER.has(code)) {
      deps.log('writer endpoint unreachable: this region is the read-only one', { code });
      return undefined;
    }
    throw err;
  }
}

/** Waits until the roles have replicated to this (read-only) region, or fails naming what is missing. */
async function verifyOnReplica(
  roles: readonly DatabaseRole[],
  options: RoleOptions,
  environment: RolesEnvironment,
  deps: RolesDependencies,
): Promise<void> {
  const deadline = deps.now() + environment.replicaWaitMs;
  for (;;) {
    const reader = await deps.connect(environment.readerHost, options.database);
    let problems: string[];
    try {
      problems = await verifyRoles(reader, roles, options);
    } finally {
      await reader.end().catch(() => undefined);
    }
    if (problems.length === 0) {
      deps.log('verified on the read-only cluster', { roles: roles.map((r) => r.role) });
      return;
    }
    if (deps.now() >= deadline) {
      throw new Error(
        `database-roles: this region's cluster is read-only and the roles have not arrived by replication: ` +
          `${problems.join('; ')}. They are made by the Data stack of the region whose cluster is the writer: ` +
          'deploy that stack first, then this one again.',
      );
    }
    await deps.sleep(5000);
  }
}

/** The administrator's credentials from Secrets Manager (the RDS-generated secret: username, password). */
async function adminCredentials(environment: RolesEnvironment): Promise<{ user: string; password: string }> {
  const client = new SecretsManagerClient({ region: environment.region, maxAttempts: 4, retryMode: 'standard' });
  const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: environment.secretId }));
  const secret = JSON.parse(SecretString ?? '{}') as { username?: string; password?: string };
  if (!secret.username || !secret.password) throw new Error('database-roles: the secret has no username or password');
  return { user: secret.username, password: secret.password };
}

/** The Lambda entry point. */
export async function handler(event: CloudFormationCustomResourceEvent): Promise<RolesResponse> {
  const environment = loadEnvironment(processEnv());
  let credentials: Promise<{ user: string; password: string }> | undefined;
  const deps: RolesDependencies = {
    connect: async (host, database) => {
      credentials ??= adminCredentials(environment);
      const { user, password } = await credentials;
      const config: ClientConfig = {
        host,
        port: environment.port,
        user,
        password,
        database,
        // The RDS CA bundle: in the runtime's ca-cert.pem, loaded through NODE_EXTRA_CA_CERTS.
        ssl: { rejectUnauthorized: true },
        connectionTimeoutMillis: 10_000,
        statement_timeout: 30_000,
        application_name: 'haweb-database-roles',
      };
      const client = new Client(config);
      try {
        await client.connect();
      } catch (err) {
        await client.end().catch(() => undefined);
        throw err;
      }
      return client;
    },
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    now: () => Date.now(),
    log: (message, fields) => console.log(JSON.stringify({ message, ...fields })),
  };
  return handleEvent(event, environment, deps);
}
