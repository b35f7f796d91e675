import * as pulumi from "@pulumi/pulumi";
import * as vault from "@pulumi/vault";
import { AppSpec, usesExternalSecret, usesVaultLogin } from "../config/model";
import { appReadPolicyRules } from "./policies";
import { renderPolicy } from "./policyHcl";
import type { StatefulOptions } from "../config/stateful";

/** The Kubernetes auth settings every app role shares (vault.kubernetesAuth). */
export interface AppRoleSettings {
    /** Audience the reader's service account token must carry. */
    readonly audience: string;
    /** Vault token TTL of a store login, in seconds. */
    readonly tokenTtlSeconds: number;
    /** Longest a store login's token may be renewed to, in seconds. */
    readonly tokenMaxTtlSeconds: number;
}

export interface AppVaultAccessArgs {
    /** The app: its paths, names, namespace and reader service account. */
    readonly app: AppSpec;
    /** Every property of the app (AppCredentials.data): a Pulumi secret. */
    readonly data: pulumi.Output<Record<string, string>>;
    /** Per granted secret of the app (AppCredentials.sharedData): its properties alone, secret. */
    readonly sharedData: Readonly<Record<string, pulumi.Output<Record<string, string>>>>;
    /** KV v2 mount path; an Output of the managed mount when this program owns it. */
    readonly mount: pulumi.Input<string>;
    /** Kubernetes auth backend path; an Output of the managed backend when this program owns it. */
    readonly authBackend: pulumi.Input<string>;
    /** Audience and token TTLs of the app's Kubernetes auth role. */
    readonly role: AppRoleSettings;
    /** The app's secrets: protected and retained where config says so. */
    readonly stateful: StatefulOptions;
    /** The stack's Vault provider (components/vault/provider.ts), passed to every resource. */
    readonly provider: vault.Provider;
    /** vault.database.path, for the app's databases' static-creds (docs/database-credentials.md). */
    readonly databaseMount?: string;
}

/**
 * One app's slice of Vault: its KV v2 secret at `<mount>/data/<prefix>/<app>/<env>` holding every
 * property, the read policy on that path alone, and the Kubernetes auth role its External Secrets
 * store logs in with, bound to the app's reader service account only.
 */
export class AppVaultAccess extends pulumi.ComponentResource {
    /** Full KV v2 data path (ESO's remoteRef key). */
    readonly dataPath: string;
    /**
     * The KV secret's Vault version: changes when, and only when, Vault stores a new version of
     * this app's data. Not a secret and derived from no secret value (a counter Vault keeps), so
     * it can drive ESO's force-sync annotation.
     */
    readonly dataVersion: pulumi.Output<string>;
    readonly readPolicyName: pulumi.Output<string>;
    /** The External Secrets store's role (externalSecret and both delivery). */
    readonly roleName?: pulumi.Output<string>;
    /** The workloads' role (vault and both delivery). */
    readonly workloadRoleName?: pulumi.Output<string>;
    /** Per granted secret (catalog key): the Vault version of its shared copy, not secret. */
    readonly sharedVersions: Record<string, pulumi.Output<string>>;

    constructor(name: string, args: AppVaultAccessArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform-secrets:vault:AppVaultAccess", name, {}, opts);
        const { app, provider } = args;
        // The role binds exact names: anything glob-like would widen it to other service accounts. The
        // config schema admits only DNS-1123 names (no '*'), before anything registers.
        if (!app.vaultDataPath.endsWith(`/data/${app.kvPath}`)) throw new Error(`${app.name}: data path ${app.vaultDataPath} does not end in /data/${app.kvPath}`);
        this.dataPath = app.vaultDataPath;

        // dataJson, not the write-only dataJsonWo/dataJsonWoVersion: with write-only data Vault is
        // written only when the version number changes, and a `pulumi up --target-replace` of a
        // random resource changes the value but no config-derived number, so that rotation would
        // never reach Vault (a version that follows every replacement would have to be derived from
        // the values themselves). Write-only would not keep the values out of Pulumi's state either: the
        // bridge stores write-only inputs in state (as secrets), and the random values already live
        // there. With dataJson, every change of any value is an update (a new KV version, never a
        // replacement), and a refresh detects drift from out-of-band writes.
        const dataJson = pulumi.secret(args.data.apply((d) => JSON.stringify(Object.fromEntries(Object.entries(d).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))))));
        const secret = new vault.kv.SecretV2(
            `${name}-data`,
            {
                mount: args.mount,
                name: app.kvPath,
                dataJson,
                // Removing the resource soft-deletes the latest version only; history stays for rollback.
                deleteAllVersions: false,
                // No customMetadata: it would make the provider write <mount>/metadata/..., which the
                // rotator policy does not grant (history settings live on the mount).
            },
            // The app's secrets: protected and retained where config says so. Rotations are updates
            // (mount and name never change), so they work under protect.
            { parent: this, provider, ...args.stateful },
        );
        const versionOf = (path: string) => (m: Record<string, string> | undefined) => {
            const version = m?.["version"];
            if (!version) throw new Error(`${path}: Vault returned no version metadata for the KV secret`);
            return version;
        };
        this.dataVersion = secret.metadata.apply(versionOf(app.vaultDataPath));

        // Each granted secret again, alone, at its shared path: what a consumer's policy names.
        this.sharedVersions = {};
        for (const s of app.secrets) {
            if (!s.shared) continue;
            const data = args.sharedData[s.key];
            if (!data) throw new Error(`${s.id}: no shared data for a granted secret`);
            const shared = new vault.kv.SecretV2(
                `${name}-shared-${s.key}`,
                {
                    mount: args.mount,
                    name: s.shared.kvPath,
                    dataJson: pulumi.secret(data.apply((d) => JSON.stringify(Object.fromEntries(Object.entries(d).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))))),
                    deleteAllVersions: false,
                },
                { parent: this, provider, ...args.stateful },
            );
            this.sharedVersions[s.key] = shared.metadata.apply(versionOf(s.shared.vaultDataPath));
        }

        const policy = new vault.Policy(
            `${name}-read-policy`,
            { name: app.readPolicyName, policy: renderPolicy(appReadPolicyRules(app, args.databaseMount)) },
            { parent: this, provider },
        );
        this.readPolicyName = policy.name;

        // One Kubernetes auth role per kind of login, bound to exactly its ServiceAccounts in the app's
        // namespace, with only the app's policy: without Vault's default policy (which opens cubbyhole,
        // the wrapping and tools endpoints; the token endpoints a client uses are in the app policy),
        // and service tokens (ESO reuses a token while lookup-self says it is valid; it treats batch
        // tokens as expired and logs in again on every reconcile).
        const authRole = (role: string, roleName: string, serviceAccounts: string[]) =>
            new vault.kubernetes.AuthBackendRole(
                `${name}-${role}`,
                {
                    backend: args.authBackend,
                    roleName,
                    boundServiceAccountNames: serviceAccounts,
                    boundServiceAccountNamespaces: [app.namespace],
                    audience: args.role.audience,
                    tokenTtl: args.role.tokenTtlSeconds,
                    tokenMaxTtl: args.role.tokenMaxTtlSeconds,
                    tokenPolicies: [policy.name],
                    tokenNoDefaultPolicy: true,
                    tokenType: "service",
                },
                { parent: this, provider },
            );
        // The store's login (externalSecret and both delivery): ESO's reader only.
        this.roleName = usesExternalSecret(app) ? authRole("reader-role", app.vaultRoleName, [app.readerServiceAccount]).roleName : undefined;
        // `vault` delivery: the app's own workload ServiceAccounts log in themselves, to the same policy.
        const workloadRole = usesVaultLogin(app) ? authRole("workload-role", app.workloadRoleName, app.workloadServiceAccounts) : undefined;
        this.workloadRoleName = workloadRole?.roleName;

        this.registerOutputs({ dataPath: this.dataPath, dataVersion: this.dataVersion, readPolicyName: this.readPolicyName, roleName: this.roleName, workloadRoleName: this.workloadRoleName });
    }
}
