/**
 * The one-time SQL and Redis ACL a DBA runs before the first `pulumi up` of an app with alternating
 * users (docs/database-credentials.md). The e2e runs exactly this against real servers, and the doc
 * shows it rendered, so what is documented is what is tested.
 */
import { POSTGRES_SET_PASSWORD_FUNCTION } from "./databaseCredentials";

/** Once per Postgres cluster, as a superuser: the role the password function runs as. */
export function postgresClusterBootstrapSql(): string {
    return `-- Once per cluster, as a superuser: CREATEROLE, no login; only the function below runs as it.
CREATE ROLE platform_secrets_password_setter NOLOGIN CREATEROLE;
`;
}

/**
 * In the app's database (the one Vault's connection names), as a superuser: the only way a manager
 * can set a password. It runs as platform_secrets_password_setter and sets a password only for a role
 * the calling manager (session_user) is listed for.
 */
export function postgresFunctionSql(): string {
    const [schema] = POSTGRES_SET_PASSWORD_FUNCTION.split(".");
    return `-- In the app's database, as a superuser.
CREATE SCHEMA ${schema};
REVOKE ALL ON SCHEMA ${schema} FROM PUBLIC;
CREATE TABLE ${schema}.rotatable_roles (manager name NOT NULL, role name NOT NULL, PRIMARY KEY (manager, role));
REVOKE ALL ON ${schema}.rotatable_roles FROM PUBLIC;
GRANT USAGE ON SCHEMA ${schema} TO platform_secrets_password_setter;
GRANT SELECT ON ${schema}.rotatable_roles TO platform_secrets_password_setter;
CREATE FUNCTION ${POSTGRES_SET_PASSWORD_FUNCTION}(role_name name, new_password text) RETURNS void
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM ${schema}.rotatable_roles r WHERE r.manager = session_user AND r.role = role_name) THEN
    RAISE EXCEPTION '%: % may not set the password of %', '${POSTGRES_SET_PASSWORD_FUNCTION}', session_user, role_name USING ERRCODE = 'insufficient_privilege';
  END IF;
  EXECUTE format('ALTER ROLE %I WITH PASSWORD %L', role_name, new_password);
END
$fn$;
ALTER FUNCTION ${POSTGRES_SET_PASSWORD_FUNCTION}(name, text) OWNER TO platform_secrets_password_setter;
REVOKE ALL ON FUNCTION ${POSTGRES_SET_PASSWORD_FUNCTION}(name, text) FROM PUBLIC;
`;
}

export interface PostgresAppBootstrap {
    /** NOLOGIN role that owns the app's objects; both login users act as it. */
    group: string;
    database: string;
    users: { a: string; b: string };
    manager: string;
    /** Set once; Vault's rotate-root replaces it in the first `pulumi up`. */
    managerBootstrapPassword: string;
}

const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;
const ident = (s: string) => `"${s.replace(/"/g, '""')}"`;

/** Per app, in the cluster: the owner role, the two login users (no password: Vault sets them), the manager, the database. */
export function postgresAppBootstrapSql(a: PostgresAppBootstrap): string {
    return `-- Per app, as a superuser.
CREATE ROLE ${ident(a.group)} NOLOGIN;
CREATE ROLE ${ident(a.users.a)} LOGIN IN ROLE ${ident(a.group)};
CREATE ROLE ${ident(a.users.b)} LOGIN IN ROLE ${ident(a.group)};
-- Both users act as the owner role, so objects either creates belong to it and both see the same data.
ALTER ROLE ${ident(a.users.a)} SET role = ${lit(a.group)};
ALTER ROLE ${ident(a.users.b)} SET role = ${lit(a.group)};
CREATE DATABASE ${ident(a.database)} OWNER ${ident(a.group)};
CREATE ROLE ${ident(a.manager)} LOGIN PASSWORD ${lit(a.managerBootstrapPassword)};
`;
}

/** Per app, in its database after postgresFunctionSql(): the manager's one grant and its two users. */
export function postgresAppGrantsSql(a: PostgresAppBootstrap): string {
    const [schema] = POSTGRES_SET_PASSWORD_FUNCTION.split(".");
    return `-- Per app, in its database, as a superuser.
-- The manager: log in, call the function for its two users, change its own password. Nothing else.
GRANT USAGE ON SCHEMA ${schema} TO ${ident(a.manager)};
GRANT EXECUTE ON FUNCTION ${POSTGRES_SET_PASSWORD_FUNCTION}(name, text) TO ${ident(a.manager)};
INSERT INTO ${schema}.rotatable_roles VALUES (${lit(a.manager)}, ${lit(a.users.a)}), (${lit(a.manager)}, ${lit(a.users.b)});
`;
}

/**
 * Redis ACL commands for one app (run with an admin connection, then persist with ACL SAVE or the
 * server's aclfile). The manager needs ACL SETUSER, which Redis cannot scope to some users: it can
 * rewrite any user, itself included. That is the documented limit (docs/database-credentials.md).
 */
export function redisAppBootstrapAcl(a: { keyPattern: string; users: { a: string; b: string }; manager: string; managerBootstrapPassword: string }): string[][] {
    return [
        ["ACL", "SETUSER", a.manager, "reset", "on", `>${a.managerBootstrapPassword}`, "resetchannels", "-@all", "+acl|setuser", "+acl|getuser", "+auth", "+hello", "+ping"],
        ...[a.users.a, a.users.b].map((u) => ["ACL", "SETUSER", u, "reset", "on", `~${a.keyPattern}`, "resetchannels", "+@all", "-@admin", "-@dangerous"]),
    ];
}
