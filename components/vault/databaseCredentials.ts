import * as pulumi from "@pulumi/pulumi";
import * as vault from "@pulumi/vault";
import type { DatabaseSpec } from "../config/model";
import { alternatingUsers } from "../credentials/alternatingUsers";

/** The SECURITY DEFINER function the DBA installs once (docs/database-credentials.md, bootstrap SQL). */
export const POSTGRES_SET_PASSWORD_FUNCTION = "platform_secrets.set_password";

/** The statement Vault runs to set a slot's password: only through the DBA's function, never ALTER ROLE. */
export const POSTGRES_ROTATION_STATEMENT = `SELECT ${POSTGRES_SET_PASSWORD_FUNCTION}('{{name}}', '{{password}}');`;

/** rotate-root: the manager changes its own password, which every Postgres role may do and no more. */
export const POSTGRES_ROOT_ROTATION_STATEMENT = "ALTER ROLE CURRENT_USER WITH PASSWORD '{{password}}';";

/**
 * Vault's own rotation period for the static roles, in seconds: three of the program's periods. A
 * slot's password is set when the slot becomes active and lives two periods (active, then previous);
 * Vault's timer restarts at each of those rotations, so with the program's schedule running it never
 * fires. It is a backstop only if scheduled `up`s stop for a whole period (docs/database-credentials.md).
 */
export function vaultRotationPeriodSeconds(maxAgeDays: number): number {
    return 3 * Math.max(maxAgeDays, 1) * 86_400;
}

export interface DatabaseCredentialsArgs {
    /** The database: its engine, host, users, manager and Vault names. */
    readonly database: DatabaseSpec;
    /** The database secrets engine mount (an Output of the managed mount when this program owns it). */
    readonly mount: pulumi.Input<string>;
    /** The rotation counter applied to the database's password catalog entry. */
    readonly counter: number;
    /** Its scheduled maximum age in days (0: exempt; Vault's backstop then uses a year). */
    readonly maxAgeDays: number;
    readonly provider: vault.Provider;
}

/**
 * One app database's alternating users in Vault's database secrets engine: the connection as the
 * least-privilege manager (its bootstrap password rotated away at once), a static role per slot,
 * and the rotate step that gives the slot becoming active a new password, once per counter.
 */
export class DatabaseCredentials extends pulumi.ComponentResource {
    /** Static role of the active slot; resolves only after Vault has rotated its password for this counter. */
    readonly activeRole: pulumi.Output<string>;
    readonly roleNames: { a: string; b: string };
    readonly connectionName: pulumi.Output<string>;

    constructor(name: string, args: DatabaseCredentialsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform-secrets:vault:DatabaseCredentials", name, {}, opts);
        const { database: db, provider, counter } = args;
        if (!db.managerBootstrapPassword) throw new Error(`${db.connectionName}: the manager's bootstrap password is not set (suppliedSecrets.*.${db.managerBootstrapSecret})`);
        const bootstrap = pulumi.secret(db.managerBootstrapPassword.reveal());
        const slots = alternatingUsers(counter);
        this.roleNames = db.roleNames;

        const common = {
            backend: args.mount,
            name: db.connectionName,
            allowedRoles: [db.roleNames.a, db.roleNames.b],
            verifyConnection: true,
        };
        const connection =
            db.engine === "postgresql"
                ? new vault.database.SecretBackendConnection(
                      `${name}-connection`,
                      {
                          ...common,
                          pluginName: "postgresql-database-plugin",
                          postgresql: {
                              connectionUrl: `postgresql://{{username}}:{{password}}@${db.host}:${db.port}/${db.database}?sslmode=${db.sslmode}`,
                              username: db.manager,
                              // Write-only, sent once: after rotate-root the program never knows the password again.
                              passwordWo: bootstrap,
                              passwordWoVersion: 1,
                          },
                          rootRotationStatements: [POSTGRES_ROOT_ROTATION_STATEMENT],
                      },
                      { parent: this, provider },
                  )
                : new vault.database.SecretBackendConnection(
                      `${name}-connection`,
                      {
                          ...common,
                          pluginName: "redis-database-plugin",
                          // The provider has no write-only password for Redis: the bootstrap value stays in
                          // the stack state (secret), dead after rotate-root (docs/database-credentials.md).
                          redis: { host: db.host, port: db.port, username: db.manager, password: bootstrap, tls: db.tls },
                      },
                      { parent: this, provider },
                  );
        this.connectionName = connection.name;

        // Vault replaces the bootstrap password with one only Vault knows, before any role exists, and
        // again at every rotation (the counter in the body): the manager's password rotates on the
        // same schedule as the users'.
        const rotateRoot = new vault.generic.Endpoint(
            `${name}-rotate-root`,
            { path: pulumi.interpolate`${args.mount}/rotate-root/${connection.name}`, dataJson: JSON.stringify({ rotation: counter }), disableRead: true, disableDelete: true },
            { parent: this, provider, replaceWith: [connection] },
        );

        const period = vaultRotationPeriodSeconds(args.maxAgeDays || 365);
        const roles = {} as Record<"a" | "b", vault.database.SecretBackendStaticRole>;
        for (const slot of ["a", "b"] as const) {
            roles[slot] = new vault.database.SecretBackendStaticRole(
                `${name}-slot-${slot}`,
                {
                    backend: args.mount,
                    dbName: connection.name,
                    name: db.roleNames[slot],
                    username: db.users[slot],
                    rotationPeriod: period,
                    ...(db.engine === "postgresql" ? { rotationStatements: [POSTGRES_ROTATION_STATEMENT] } : {}),
                },
                { parent: this, provider, dependsOn: [rotateRoot] },
            );
        }

        // The rotation itself: a new password on the slot becoming active. The counter is in the body,
        // so each new counter is a write (an update, or a replacement when the slot changes) and an
        // unchanged one writes nothing. The other slot, active until now, keeps its password.
        const rotate = new vault.generic.Endpoint(
            `${name}-rotate`,
            {
                path: pulumi.interpolate`${args.mount}/rotate-role/${roles[slots.rotate].name}`,
                dataJson: JSON.stringify({ rotation: counter }),
                disableRead: true,
                disableDelete: true,
            },
            { parent: this, provider, dependsOn: [roles.a, roles.b] },
        );
        // Known only once the rotate step is done: ESO never reads the active slot before its new password.
        this.activeRole = pulumi.all([roles[slots.active].name, rotate.id]).apply(([role]) => role);
        this.registerOutputs({ activeRole: this.activeRole, connectionName: this.connectionName });
    }
}
