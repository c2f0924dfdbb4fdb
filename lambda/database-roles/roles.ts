/**
 * The services' least-privilege PostgreSQL roles: what the deploy makes in the Aurora Global Database (the
 * `database-roles` custom resource, ./index.ts) and what the tests and the drill make in a local PostgreSQL, with the
 * same statements.
 *
 * Each service that uses the database gets:
 * - a login role with none of the role attributes that grant more (no SUPERUSER, CREATEDB, CREATEROLE,
 *   REPLICATION or BYPASSRLS: the defaults of CREATE ROLE, which only a superuser could change) and no password;
 *   on Aurora it is a member of `rds_iam`, so it signs in with IAM database authentication tokens only (AWS,
 *   "Creating a database account using IAM authentication": `GRANT rds_iam TO <user>`);
 * - CONNECT on the application database (PUBLIC's CONNECT and TEMPORARY are revoked there);
 * - a schema of its own, owned by the administrator, on which it has USAGE and CREATE, and that is its
 *   `search_path` in the database. Its migrations create its tables there, so it owns its tables and nothing else:
 *   not the schema, not the database, no other service's tables (it has no USAGE on their schemas), and it cannot
 *   create anything in `public` (PUBLIC's CREATE on it is revoked, as PostgreSQL 15 and later do by default).
 *
 * Every statement is idempotent, so the custom resource applies the whole set on every create and update. Roles and
 * schemas of a service that is removed from the config are left in place with their tables (its data), as the
 * deploy retains the other stateful resources.
 */

/** One service's database role and schema (both the same name: `svc_<service with dashes as underscores>`). */
export interface DatabaseRole {
  /** The login role (DATABASE_USER of the service). */
  readonly role: string;
  /** The schema it owns its tables in. */
  readonly schema: string;
}

/** Options of {@link roleStatements} and {@link verifyRoles}. */
export interface RoleOptions {
  /** The application database. */
  readonly database: string;
  /**
   * The role whose members sign in with IAM database authentication tokens (`rds_iam` on Aurora and RDS).
   * @default - none: the roles are not granted it (a local PostgreSQL, where they sign in with a password)
   */
  readonly iamRole?: string;
}

/** A PostgreSQL role, schema or database name this module accepts: lower-case letters, digits, underscores. */
const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** `name` as a quoted identifier, after checking it is one of the names {@link IDENTIFIER} accepts. */
export function identifier(name: string): string {
  if (!IDENTIFIER.test(name)) {
    throw new Error(`"${name}" is not a database name this project makes (lower-case letters, digits, _; 1-63)`);
  }
  return `"${name}"`;
}

/** Checks a role list: well-formed names, no role or schema twice. */
export function checkRoles(roles: readonly DatabaseRole[]): void {
  const seen = new Set<string>();
  for (const { role, schema } of roles) {
    identifier(role);
    identifier(schema);
    for (const name of [`role ${role}`, `schema ${schema}`]) {
      if (seen.has(name)) throw new Error(`database roles: ${name} is listed twice`);
      seen.add(name);
    }
  }
}

/**
 * The statements that make `roles` exist with exactly their privileges, in order. `existing` are the roles that
 * exist already (CREATE ROLE has no IF NOT EXISTS).
 */
export function roleStatements(
  roles: readonly DatabaseRole[],
  existing: ReadonlySet<string>,
  options: RoleOptions,
): string[] {
  checkRoles(roles);
  const db = identifier(options.database);
  const statements = ['REVOKE CREATE ON SCHEMA public FROM PUBLIC', `REVOKE ALL ON DATABASE ${db} FROM PUBLIC`];
  for (const { role, schema } of roles) {
    const r = identifier(role);
    const s = identifier(schema);
    if (!existing.has(role)) statements.push(`CREATE ROLE ${r} LOGIN`);
    if (options.iamRole !== undefined) statements.push(`GRANT ${identifier(options.iamRole)} TO ${r}`);
    statements.push(
      `GRANT CONNECT ON DATABASE ${db} TO ${r}`,
      `CREATE SCHEMA IF NOT EXISTS ${s}`,
      `REVOKE ALL ON SCHEMA ${s} FROM PUBLIC`,
      `GRANT USAGE, CREATE ON SCHEMA ${s} TO ${r}`,
      `ALTER ROLE ${r} IN DATABASE ${db} SET search_path = ${s}`,
    );
  }
  return statements;
}

/** What a database connection must offer: one query at a time (a `pg` Client or PoolClient). */
export interface Queryable {
  query<R = Record<string, unknown>>(text: string, values?: unknown[]): Promise<{ rows: R[] }>;
}

/** Whether the connected server is read-only: a hot standby, or an Aurora secondary cluster. */
export async function isReadOnly(db: Queryable): Promise<boolean> {
  const { rows } = await db.query<{ read_only: boolean }>(
    "SELECT pg_is_in_recovery() OR current_setting('transaction_read_only') = 'on' AS read_only",
  );
  return rows[0]!.read_only;
}

/** Applies {@link roleStatements} in one transaction. Returns the statements run. */
export async function applyRoles(
  db: Queryable,
  roles: readonly DatabaseRole[],
  options: RoleOptions,
): Promise<string[]> {
  checkRoles(roles);
  const { rows } = await db.query<{ rolname: string }>('SELECT rolname FROM pg_roles WHERE rolname = ANY($1)', [
    roles.map((r) => r.role),
  ]);
  const statements = roleStatements(roles, new Set(rows.map((r) => r.rolname)), options);
  await db.query('BEGIN');
  try {
    for (const statement of statements) await db.query(statement);
    await db.query('COMMIT');
  } catch (err) {
    await db.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
  return statements;
}

/**
 * What is missing or wrong for `roles`, read from the catalogs: an empty list when every role exists with exactly the
 * privileges {@link roleStatements} gives. Reads only, so it runs on a read-only replica too.
 */
export async function verifyRoles(
  db: Queryable,
  roles: readonly DatabaseRole[],
  options: RoleOptions,
): Promise<string[]> {
  checkRoles(roles);
  const problems: string[] = [];
  for (const { role, schema } of roles) {
    const { rows } = await db.query<{
      exists: boolean;
      login: boolean;
      elevated: boolean;
      iam: boolean | null;
      connect: boolean;
      schema_owner: string | null;
      usage: boolean | null;
      create: boolean | null;
      search_path: boolean;
    }>(
      `SELECT r.rolname IS NOT NULL AS exists,
              coalesce(r.rolcanlogin, false) AS login,
              coalesce(r.rolsuper OR r.rolcreatedb OR r.rolcreaterole OR r.rolreplication OR r.rolbypassrls, false)
                AS elevated,
              CASE WHEN $3::text IS NULL THEN NULL
                   WHEN r.rolname IS NULL OR NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $3) THEN false
                   ELSE pg_has_role(r.rolname, $3, 'MEMBER') END AS iam,
              r.rolname IS NOT NULL AND has_database_privilege(r.rolname, $4, 'CONNECT') AS connect,
              (SELECT pg_get_userbyid(n.nspowner) FROM pg_namespace n WHERE n.nspname = $2) AS schema_owner,
              CASE WHEN r.rolname IS NULL OR to_regnamespace($2) IS NULL THEN NULL
                   ELSE has_schema_privilege(r.rolname, $2, 'USAGE') END AS usage,
              CASE WHEN r.rolname IS NULL OR to_regnamespace($2) IS NULL THEN NULL
                   ELSE has_schema_privilege(r.rolname, $2, 'CREATE') END AS create,
              EXISTS (SELECT 1 FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase
                       WHERE s.setrole = r.oid AND d.datname = $4
                         AND ('search_path=' || quote_ident($2)) = ANY(s.setconfig)) AS search_path
         FROM (SELECT $1::text AS name) wanted LEFT JOIN pg_roles r ON r.rolname = wanted.name`,
      [role, schema, options.iamRole ?? null, options.database],
    );
    const row = rows[0]!;
    if (!row.exists) {
      problems.push(`role ${role} does not exist`);
      continue;
    }
    if (!row.login) problems.push(`role ${role} cannot log in`);
    if (row.elevated) problems.push(`role ${role} has SUPERUSER, CREATEDB, CREATEROLE, REPLICATION or BYPASSRLS`);
    if (row.iam === false) problems.push(`role ${role} is not a member of ${options.iamRole}`);
    if (!row.connect) problems.push(`role ${role} has no CONNECT on database ${options.database}`);
    if (row.schema_owner === null) problems.push(`schema ${schema} does not exist`);
    else if (row.schema_owner === role) problems.push(`schema ${schema} is owned by ${role}, not the administrator`);
    if (row.schema_owner !== null && (!row.usage || !row.create)) {
      problems.push(`role ${role} lacks USAGE or CREATE on schema ${schema}`);
    }
    if (!row.search_path) problems.push(`role ${role} has no search_path = ${schema} in database ${options.database}`);
  }
  return problems;
}
