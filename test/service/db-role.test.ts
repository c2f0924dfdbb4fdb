/**
 * The services' least-privilege database roles (lambda/database-roles) on a real PostgreSQL, made as the deploy
 * makes them on Aurora: by an administrator that is not a superuser (Aurora's master user is a member of
 * rds_superuser, with CREATEROLE and CREATEDB, and owns the application database), with an `rds_iam` role to grant.
 * Then the service signs in as its role, runs its migrations, and can do nothing else; the custom resource's
 * handler applies in the writer region and verifies in the read-only one; and a credential that changes (a rotated
 * password, a new IAM token) reaches new connections without a restart.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { Client, Pool } from 'pg';
import {
  handleEvent,
  PHYSICAL_ID,
  type RolesDependencies,
  type RolesEnvironment,
} from '../../lambda/database-roles/index';
import {
  applyRoles,
  roleStatements,
  verifyRoles,
  type DatabaseRole,
  type RoleOptions,
} from '../../lambda/database-roles/roles';
import { databaseRoleOf } from '../../lib/config/services';
import { DatabaseCredentialsError, type ConnectionTarget } from '../../service/src/db-auth';
import { createPool, type DatabasePool } from '../../service/src/db';
import { mapDatabaseError } from '../../service/src/errors';
import { runMigrations } from '../../service/src/migrations';
import { scratchDir, startPostgres, startPostgresStandby, type PostgresServer } from '../../support/local-servers';
import { silentLog } from './helpers';

const ADMIN = 'hawebadmin';
const ADMIN_PASSWORD = 'admin-password-for-this-test';
const DATABASE = 'roles_app';
const WEB = databaseRoleOf('web');
const CATALOG = databaseRoleOf('catalog');
const OPTIONS: RoleOptions = { database: DATABASE, iamRole: 'rds_iam' };

let root: string;
let pg: PostgresServer;

/** A connection to DATABASE as `user`. */
async function connectAs(user: string, password: string, server: PostgresServer = pg): Promise<Client> {
  const client = new Client({ host: server.host, port: server.port, user, password, database: DATABASE });
  await client.connect();
  return client;
}

/** Runs `work` on a connection as the administrator. */
async function asAdmin<T>(work: (db: Client) => Promise<T>): Promise<T> {
  const db = await connectAs(ADMIN, ADMIN_PASSWORD);
  try {
    return await work(db);
  } finally {
    await db.end();
  }
}

/** The SQLSTATE of what `sql` fails with, or undefined when it succeeds. */
async function failureOf(db: Client, sql: string): Promise<string | undefined> {
  try {
    await db.query(sql);
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  }
}

beforeAll(async () => {
  root = scratchDir('db-role-');
  pg = await startPostgres({ dir: path.join(root, 'pg') });
  // Aurora's shape: a master user that is not a superuser and owns the application database; rds_iam exists.
  await pg.adminQuery(`CREATE ROLE ${ADMIN} LOGIN CREATEROLE CREATEDB PASSWORD '${ADMIN_PASSWORD}'`);
  await pg.adminQuery('CREATE ROLE rds_iam NOLOGIN');
  await pg.adminQuery(`CREATE DATABASE ${DATABASE} OWNER ${ADMIN}`);
  await asAdmin((db) => applyRoles(db, [WEB, CATALOG], OPTIONS));
  // Local only: a password, since there is no IAM here (on Aurora rds_iam makes them token-only).
  await pg.adminQuery(`ALTER ROLE ${WEB.role} PASSWORD 'web-password'`);
  await pg.adminQuery(`ALTER ROLE ${CATALOG.role} PASSWORD 'catalog-password'`);
}, 60_000);

afterAll(async () => {
  await pg?.stop();
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

describe('the roles the deploy makes', () => {
  test('are named after the service, the same for role and schema', () => {
    expect(WEB).toEqual({ role: 'svc_web', schema: 'svc_web' });
    expect(databaseRoleOf('order-history')).toEqual({ role: 'svc_order_history', schema: 'svc_order_history' });
  });

  test('exist with exactly their privileges, and applying again changes nothing (idempotent)', async () => {
    await asAdmin(async (db) => {
      expect(await verifyRoles(db, [WEB, CATALOG], OPTIONS)).toEqual([]);
      const again = await applyRoles(db, [WEB, CATALOG], OPTIONS);
      expect(again).not.toContainEqual(expect.stringMatching(/^CREATE ROLE/));
      expect(await verifyRoles(db, [WEB, CATALOG], OPTIONS)).toEqual([]);
    });
  });

  test('let the service run its migrations, which it then owns in its own schema', async () => {
    const pool = new Pool({
      host: pg.host,
      port: pg.port,
      user: WEB.role,
      password: 'web-password',
      database: DATABASE,
    });
    try {
      const first = await runMigrations(pool, silentLog);
      expect(first.applied.length).toBeGreaterThan(0);
      const { rows: owned } = await asAdmin((db) =>
        db.query(
          `SELECT n.nspname AS schema, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relowner = (SELECT oid FROM pg_roles WHERE rolname = $1) AND c.relkind IN ('r', 'p')`,
          [WEB.role],
        ),
      );
      expect(owned.map((r) => r.schema)).toEqual(owned.map(() => WEB.schema));
      expect(owned.map((r) => r.name)).toEqual(expect.arrayContaining(['schema_migrations', 'notes']));
    } finally {
      await pool.end();
    }
  });

  test('own nothing else: no database, schema, role membership beyond rds_iam', async () => {
    const {
      rows: [counts],
    } = await asAdmin((db) =>
      db.query(
        `SELECT (SELECT count(*) FROM pg_database WHERE datdba = r.oid)::int AS databases,
              (SELECT count(*) FROM pg_namespace WHERE nspowner = r.oid)::int AS schemas,
              (SELECT array_agg(g.rolname::text ORDER BY g.rolname) FROM pg_auth_members m
                 JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid) AS member_of
           FROM pg_roles r WHERE r.rolname = $1`,
        [WEB.role],
      ),
    );
    expect(counts).toEqual({ databases: 0, schemas: 0, member_of: ['rds_iam'] });
  });

  test.each([
    ['a table in public', 'CREATE TABLE public.stolen (x int)'],
    ['another service’s table', `SELECT * FROM ${CATALOG.schema}.anything`],
    ['a table in another service’s schema', `CREATE TABLE ${CATALOG.schema}.stolen (x int)`],
    ['a schema', 'CREATE SCHEMA mine'],
    ['a role', 'CREATE ROLE accomplice'],
    ['a database', 'CREATE DATABASE mine'],
    ['a temporary table', 'CREATE TEMP TABLE scratch (x int)'],
    ['its own privileges', `ALTER ROLE ${WEB.role} CREATEDB`],
    ['the schema it works in', `DROP SCHEMA ${WEB.schema}`],
  ])('refuse the service %s', async (_what, sql) => {
    const db = await connectAs(WEB.role, 'web-password');
    try {
      // 42501 insufficient_privilege (or, for a schema it cannot see, 42501 on USAGE).
      expect(await failureOf(db, sql)).toBe('42501');
    } finally {
      await db.end();
    }
  });

  test('are not reached by PUBLIC: a role made by hand cannot connect to the application database', async () => {
    await pg.adminQuery("CREATE ROLE stranger LOGIN PASSWORD 'stranger-password'");
    await expect(connectAs('stranger', 'stranger-password')).rejects.toMatchObject({ code: '42501' });
  });

  test('verification names each thing that is wrong', async () => {
    const broken: DatabaseRole = { role: 'svc_broken', schema: 'svc_broken' };
    await asAdmin(async (db) => {
      expect(await verifyRoles(db, [broken], OPTIONS)).toEqual(['role svc_broken does not exist']);
      await applyRoles(db, [broken], OPTIONS);
      await db.query('ALTER ROLE svc_broken CREATEDB');
      await db.query(`ALTER ROLE svc_broken IN DATABASE ${DATABASE} RESET search_path`);
      await db.query('REVOKE rds_iam FROM svc_broken');
      expect(await verifyRoles(db, [broken], OPTIONS)).toEqual([
        'role svc_broken has SUPERUSER, CREATEDB, CREATEROLE, REPLICATION or BYPASSRLS',
        'role svc_broken is not a member of rds_iam',
        `role svc_broken has no search_path = svc_broken in database ${DATABASE}`,
      ]);
      await db.query('ALTER ROLE svc_broken NOCREATEDB');
      await applyRoles(db, [broken], OPTIONS);
      expect(await verifyRoles(db, [broken], OPTIONS)).toEqual([]);
    });
  });

  test('refuse names that are not identifiers this project makes, before any SQL', () => {
    expect(() => roleStatements([{ role: 'svc_x"; DROP TABLE notes; --', schema: 'x' }], new Set(), OPTIONS)).toThrow(
      /is not a database name/,
    );
    expect(() => roleStatements([WEB, WEB], new Set(), OPTIONS)).toThrow(/listed twice/);
  });
});

describe('the database-roles custom resource', () => {
  const environment: RolesEnvironment = {
    secretId: 'haweb/test/database',
    writerHost: 'writer.invalid',
    readerHost: 'reader.invalid',
    port: 5432,
    region: 'eu-west-1',
    replicaWaitMs: 20_000,
  };

  function event(type: 'Create' | 'Update' | 'Delete', roles: DatabaseRole[]): CloudFormationCustomResourceEvent {
    const properties = {
      ServiceToken: 'arn:aws:lambda:eu-west-1:111111111111:function:provider',
      Roles: JSON.stringify(roles),
      Database: DATABASE,
      IamRole: 'rds_iam',
      Statements: JSON.stringify(roleStatements(roles, new Set(), OPTIONS)),
    };
    const base = {
      ServiceToken: properties.ServiceToken,
      ResponseURL: 'https://example.invalid/',
      StackId: 'stack',
      RequestId: 'request',
      LogicalResourceId: 'DatabaseRoles',
      ResourceType: 'Custom::DatabaseRoles',
      ResourceProperties: properties,
    };
    return type === 'Create'
      ? { ...base, RequestType: 'Create' }
      : type === 'Update'
        ? { ...base, RequestType: 'Update', PhysicalResourceId: PHYSICAL_ID, OldResourceProperties: properties }
        : { ...base, RequestType: 'Delete', PhysicalResourceId: PHYSICAL_ID };
  }

  /** Dependencies whose writer and reader endpoints are the given servers (undefined: the name does not resolve). */
  function deps(writer: PostgresServer | undefined, reader: PostgresServer): RolesDependencies & { waited: number } {
    let now = 0;
    const result = {
      waited: 0,
      connect: async (host: string) => {
        const server = host === environment.writerHost ? writer : reader;
        if (!server) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
        return connectAs(ADMIN, ADMIN_PASSWORD, server);
      },
      sleep: async (ms: number) => {
        now += ms;
        result.waited += ms;
      },
      now: () => now,
      log: () => undefined,
    };
    return result;
  }

  const shop: DatabaseRole = { role: 'svc_shop', schema: 'svc_shop' };

  test('in the writer region applies the roles', async () => {
    const response = await handleEvent(event('Create', [WEB, shop]), environment, deps(pg, pg));
    expect(response).toEqual({ PhysicalResourceId: PHYSICAL_ID, Data: { Applied: 'writer', Region: 'eu-west-1' } });
    await asAdmin(async (db) => expect(await verifyRoles(db, [WEB, shop], OPTIONS)).toEqual([]));
  });

  test('in the read-only region (the writer endpoint does not resolve) verifies what replication brought', async () => {
    const response = await handleEvent(event('Update', [WEB, shop]), environment, deps(undefined, pg));
    expect(response.Data.Applied).toBe('replica');
  });

  test('in the read-only region, roles the writer has not made yet: waits, then fails naming the deploy order', async () => {
    const d = deps(undefined, pg);
    const missing = { role: 'svc_later', schema: 'svc_later' };
    await expect(handleEvent(event('Update', [WEB, missing]), environment, d)).rejects.toThrow(
      /read-only and the roles have not arrived by replication: role svc_later does not exist\. .*deploy that stack first/,
    );
    expect(d.waited).toBeGreaterThanOrEqual(environment.replicaWaitMs);
  });

  test('on a hot standby (a promoted-away writer, still resolving) verifies instead of writing', async () => {
    const standby = await startPostgresStandby({ dir: path.join(root, 'standby'), primary: pg });
    try {
      await standby.waitForCatchUp();
      const response = await handleEvent(event('Update', [WEB, shop]), environment, deps(standby, standby));
      expect(response.Data.Applied).toBe('replica');
    } finally {
      await standby.stop();
    }
  }, 60_000);

  test('refuses a template whose statements differ from the function’s (different versions)', async () => {
    const stale = event('Update', [WEB]);
    stale.ResourceProperties.Statements = JSON.stringify(['SELECT 1']);
    await expect(handleEvent(stale, environment, deps(pg, pg))).rejects.toThrow(/different versions/);
  });

  test('delete keeps the roles and their tables', async () => {
    const response = await handleEvent(event('Delete', [WEB]), environment, deps(pg, pg));
    expect(response.Data.Applied).toBe('retained');
    await asAdmin(async (db) => expect(await verifyRoles(db, [WEB], OPTIONS)).toEqual([]));
  });
});

describe('credentials that change reach new connections without a restart', () => {
  const config = () => ({
    host: pg.host,
    port: pg.port,
    name: DATABASE,
    user: WEB.role,
    ssl: false,
  });

  /** Ends every connection of `role` (as a restart or failover of the database would). */
  const dropConnections = (role: string) =>
    pg.adminQuery('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [role]);

  async function rotate(to: string): Promise<void> {
    await pg.adminQuery(`ALTER ROLE ${WEB.role} PASSWORD '${to}'`);
    await dropConnections(WEB.role);
  }

  afterAll(() => rotate('web-password'));

  test('a password file, read for each new connection', async () => {
    const file = path.join(root, 'db-password');
    fs.writeFileSync(file, 'web-password\n', { mode: 0o600 });
    const pool: DatabasePool = createPool(
      { ...config(), credentials: { kind: 'passwordFile', path: file } },
      silentLog,
    );
    try {
      await expect(pool.query('SELECT 1 AS one')).resolves.toMatchObject({ rows: [{ one: 1 }] });
      await rotate('rotated-password-1');
      fs.writeFileSync(file, 'rotated-password-1\n');
      await expect(pool.query('SELECT 2 AS two')).resolves.toMatchObject({ rows: [{ two: 2 }] });
      fs.rmSync(file);
      await dropConnections(WEB.role);
      const err = await pool.query('SELECT 3').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DatabaseCredentialsError);
      expect(mapDatabaseError(err)).toMatchObject({ statusCode: 503 });
    } finally {
      await pool.end();
    }
  });

  test('an IAM token per connection, signed for the host, port and user of that connection', async () => {
    let current = 'rotated-password-1';
    const signed: ConnectionTarget[] = [];
    const signer = async (target: ConnectionTarget, region: string) => {
      expect(region).toBe('eu-west-1');
      signed.push(target);
      return current;
    };
    await rotate(current);
    const pool = createPool({ ...config(), credentials: { kind: 'iam', region: 'eu-west-1' } }, silentLog, signer);
    try {
      await pool.query('SELECT 1');
      current = 'rotated-password-2';
      await rotate(current);
      await pool.query('SELECT 1');
      expect(signed).toEqual([
        { host: pg.host, port: pg.port, user: WEB.role },
        { host: pg.host, port: pg.port, user: WEB.role },
      ]);
      const failing = createPool(
        { ...config(), credentials: { kind: 'iam', region: 'eu-west-1' } },
        silentLog,
        async () => {
          throw new Error('no credentials on this host');
        },
      );
      const err = await failing.query('SELECT 1').catch((e: unknown) => e);
      await failing.end();
      expect(err).toBeInstanceOf(DatabaseCredentialsError);
      expect(mapDatabaseError(err)).toMatchObject({ statusCode: 503 });
    } finally {
      await pool.end();
    }
  });
});
