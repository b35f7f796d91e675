import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { authDelegatorBindingName, AppSpec } from "../config/model";
import { namedObjectOptions } from "./provider";
import { managedLabels, RELOADER_MATCH_ANNOTATION } from "./specs";

export interface VaultLoginArgs {
    /** The app (delivery vault or both): namespace, workload ServiceAccounts, role and ConfigMap names. */
    readonly app: AppSpec;
    /** The app's namespace, as an Output of the Namespace when this program creates it. */
    readonly namespace: pulumi.Input<string>;
    /** What the app needs to log in, none of it secret. */
    readonly vault: {
        readonly address: string;
        readonly namespace?: string;
        readonly authPath: string;
        readonly kvMount: string;
    };
    /**
     * The app's read version (VaultPlatform: its KV version, then each granted secret's): written
     * into the ConfigMap, so every rotation of what the app reads changes the ConfigMap's data and
     * Reloader restarts the workloads, which log in again and read the new values.
     */
    readonly readVersion: pulumi.Input<string>;
    /** The stack's Kubernetes provider. */
    readonly provider: k8s.Provider;
}

/** What an app's chart reads to log in to Vault (the login ConfigMap's content, also a stack output). */
export interface VaultLoginInfo {
    namespace: string;
    configMap: string;
    /** ConfigMap key → value, the version included. */
    data: pulumi.Output<Record<string, string>>;
    workloadServiceAccounts: string[];
    role: string;
}

/** The keys of the login ConfigMap (besides the app's address and role keys). */
export const VAULT_LOGIN_KEYS = {
    authPath: "VAULT_AUTH_PATH",
    kvMount: "VAULT_KV_MOUNT",
    kvPath: "VAULT_KV_PATH",
    namespace: "VAULT_NAMESPACE",
    grants: "VAULT_KV_GRANTS",
    version: "VAULT_KV_VERSION",
} as const;

/** The login ConfigMap's data for an app: address, role, auth mount, KV mount and path, grants, version. */
export function vaultLoginData(app: AppSpec, vault: VaultLoginArgs["vault"], version: string): Record<string, string> {
    const data: Record<string, string> = {
        [app.vaultLogin.addressKey]: vault.address,
        [app.vaultLogin.roleKey]: app.workloadRoleName,
        [VAULT_LOGIN_KEYS.authPath]: vault.authPath,
        [VAULT_LOGIN_KEYS.kvMount]: vault.kvMount,
        [VAULT_LOGIN_KEYS.kvPath]: app.kvPath,
        // Granted secrets: the name the app knows each by → its shared path and property.
        [VAULT_LOGIN_KEYS.grants]: JSON.stringify(
            Object.fromEntries(app.granted.flatMap((g) => g.properties.map((p) => [p.env ?? `${g.id}#${p.property}`, { path: g.kvPath, property: p.property }]))),
        ),
        [VAULT_LOGIN_KEYS.version]: version,
    };
    if (vault.namespace !== undefined) data[VAULT_LOGIN_KEYS.namespace] = vault.namespace;
    return data;
}

/**
 * `vault` delivery (runbook 000): the app logs in to Vault itself, with a token of its own workload
 * ServiceAccount, and keeps its values in memory. This program writes what the chart needs for that
 * (the login ConfigMap, nothing secret) and the cluster rights the login needs; no store, no
 * ExternalSecret, no Secret.
 *
 * Per workload ServiceAccount (the chart owns the ServiceAccounts; these name them):
 * - `system:auth-delegator`: Vault has no reviewer JWT and reviews a login with the login token
 *   itself, as the store's reader does (docs/vault.md);
 * - a Role and RoleBinding allowing `create` on `serviceaccounts/token` for that ServiceAccount
 *   alone: the app requests its login token through the TokenRequest API for Vault's audience and
 *   the API server's (a projected volume carries one audience only), short-lived.
 */
export class VaultLogin extends pulumi.ComponentResource {
    readonly info: VaultLoginInfo;

    constructor(name: string, args: VaultLoginArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform-secrets:kubernetes:VaultLogin", name, {}, opts);
        const { app, provider } = args;
        if (app.workloadServiceAccounts.length === 0) throw new Error(`${app.name}: vault delivery without workload ServiceAccounts`);
        const labels = managedLabels(app.name);
        const data = pulumi.output(args.readVersion).apply((v) => vaultLoginData(app, args.vault, v));

        new k8s.core.v1.ConfigMap(
            `${name}-config`,
            {
                metadata: {
                    name: app.vaultLogin.configMapName,
                    namespace: args.namespace,
                    labels,
                    // Reloader restarts the workloads that use this ConfigMap (and carry
                    // reloader.stakater.com/search: "true") when its data changes: on every rotation.
                    annotations: { [RELOADER_MATCH_ANNOTATION]: "true" },
                },
                // unsecret: a version counter and names, never a value.
                data: pulumi.unsecret(data),
            },
            namedObjectOptions(this, provider),
        );

        for (const sa of app.workloadServiceAccounts) {
            // One Role per ServiceAccount, naming it alone: no workload may request another's token.
            const tokenRole = new k8s.rbac.v1.Role(
                `${name}-${sa}-token-request`,
                {
                    metadata: { name: `${sa}-vault-token-request`, namespace: args.namespace, labels },
                    rules: [{ apiGroups: [""], resources: ["serviceaccounts/token"], verbs: ["create"], resourceNames: [sa] }],
                },
                namedObjectOptions(this, provider),
            );
            new k8s.rbac.v1.RoleBinding(
                `${name}-${sa}-token-request`,
                {
                    metadata: { name: `${sa}-vault-token-request`, namespace: args.namespace, labels },
                    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: tokenRole.metadata.name },
                    subjects: [{ kind: "ServiceAccount", name: sa, namespace: app.namespace }],
                },
                namedObjectOptions(this, provider),
            );
            new k8s.rbac.v1.ClusterRoleBinding(
                `${name}-${sa}-auth-delegator`,
                {
                    metadata: { name: authDelegatorBindingName(app.namespace, sa), labels },
                    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "system:auth-delegator" },
                    subjects: [{ kind: "ServiceAccount", name: sa, namespace: app.namespace }],
                },
                namedObjectOptions(this, provider),
            );
        }
        this.info = { namespace: app.namespace, configMap: app.vaultLogin.configMapName, data, workloadServiceAccounts: app.workloadServiceAccounts, role: app.workloadRoleName };
        this.registerOutputs({ configMap: app.vaultLogin.configMapName, role: app.workloadRoleName });
    }
}
