/**
 * The services' least-privilege database roles in the drill's PostgreSQL, made with the deploy's own statements
 * (lambda/database-roles/roles.ts, what the custom resource runs on Aurora), so the drill and the game day run each
 * service as its own role `svc_<service>`, in its own schema, as production does: a service that needed more than
 * its role gives would fail here first. Locally there is no IAM: each role gets a random password, in a file the
 * service reads for each new connection (`DATABASE_PASSWORD_FILE`). A hot standby made from this server (the passive
 * region) and a primary rebuilt from that standby (failback) carry the same roles, as the Aurora secondary does.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import { applyRoles } from '../lambda/database-roles/roles';
import { databaseRoleOf, serviceUses, type ServiceDefinition } from '../lib/config';
import { IAM_AUTH_ROLE } from '../lib/constructs/database-roles';
import type { PostgresServer } from '../support/local-servers';

/** How each service that uses the database signs in: its role and the file holding that role's password. */
export type ServiceDatabaseLogins = Readonly<Record<string, { readonly user: string; readonly passwordFile: string }>>;

/**
 * Makes the roles of `services` in `pg`'s database as its superuser (with an `rds_iam` role to grant, as on
 * Aurora), gives each a random password written to a file under `dir` (mode 0600), and returns the logins.
 */
export async function provisionServiceRoles(
  pg: PostgresServer,
  services: readonly ServiceDefinition[],
  dir: string,
): Promise<ServiceDatabaseLogins> {
  const users = services.filter((s) => serviceUses(s, 'database'));
  const client = new Client({
    host: pg.host,
    port: pg.port,
    user: pg.superuser,
    password: pg.superuserPassword,
    database: pg.database,
  });
  await client.connect();
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const logins: Record<string, { user: string; passwordFile: string }> = {};
  try {
    const { rows } = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [IAM_AUTH_ROLE]);
    if (rows.length === 0) await client.query(`CREATE ROLE ${IAM_AUTH_ROLE} NOLOGIN`);
    const roles = users.map((s) => databaseRoleOf(s.name));
    await applyRoles(client, roles, { database: pg.database, iamRole: IAM_AUTH_ROLE });
    for (const service of users) {
      const { role } = databaseRoleOf(service.name);
      const password = randomBytes(24).toString('base64url');
      // Identifier and password are ours (a checked role name, base64url): no quoting issue.
      await client.query(`ALTER ROLE "${role}" PASSWORD '${password}'`);
      const passwordFile = path.join(dir, `${role}.password`);
      fs.writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
      logins[service.name] = { user: role, passwordFile };
    }
  } finally {
    await client.end();
  }
  return logins;
}

/** `table` in the schema of `service`'s role, for the drill's direct reads as the superuser. */
export function serviceTable(service: string, table: string): string {
  return `"${databaseRoleOf(service).schema}"."${table}"`;
}
