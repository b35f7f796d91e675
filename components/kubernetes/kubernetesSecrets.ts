import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { adoptionTransformation, namedObjectOptions } from "./provider";
import { PlatformConfig, PropertySpec, usesExternalSecret, usesVaultLogin } from "../config/model";
import { VaultLogin, VaultLoginInfo } from "./vaultLogin";
import { AppExternalSecret } from "./appExternalSecret";
import { BackupServiceAccountInfo, BackupServiceAccounts } from "./backupServiceAccounts";
import { ExternalSecretsOperator } from "./externalSecretsOperator";
import { Reloader } from "./reloader";
import { managedLabels, StoreKind } from "./specs";
import { VaultSecretStore } from "./vaultSecretStore";
import { statefulOptions } from "../config/stateful";

export interface KubernetesSecretsArgs {
    readonly config: PlatformConfig;
    /** The stack's Kubernetes provider; every resource below names it. */
    readonly provider: k8s.Provider;
    /** Per app: the properties its Vault secret holds (AppCredentials.properties). */
    readonly properties: Readonly<Record<string, readonly PropertySpec[]>>;
    /**
     * Per app: a non-secret version of what it reads (its data and its grants) that changes when, and
     * only when, one of those values changes.
     */
    readonly dataVersions: Readonly<Record<string, pulumi.Input<string>>>;
    /** Per app and backup target: the IAM role the backup ServiceAccount assumes. */
    readonly backupRoleArns: Readonly<Record<string, Readonly<Record<string, pulumi.Input<string>>>>>;
    /** Per app with databases: the active slot's static role per database (VaultPlatform). */
    readonly databaseRoles?: Readonly<Record<string, Readonly<Record<string, pulumi.Input<string>>>>>;
}

/** Where an app's Secret comes from, for app owners. */
export interface ExternalSecretInfo {
    namespace: string;
    externalSecret: string;
    targetSecret: string;
    store: { kind: StoreKind; name: pulumi.Output<string> };
    forceSync: pulumi.Output<string>;
}

/**
 * Everything the cluster needs to turn Vault data into pod restarts: ESO (optionally installed),
 * one Vault store per app, one ExternalSecret per app, Reloader, and the backup ServiceAccounts.
 */
export class KubernetesSecrets extends pulumi.ComponentResource {
    /** Apps with externalSecret or both delivery. */
    readonly externalSecrets: Record<string, ExternalSecretInfo>;
    /** Apps with vault or both delivery: the login ConfigMap and what it holds. */
    readonly vaultLogins: Record<string, VaultLoginInfo>;
    /** Per app and target. */
    readonly backupServiceAccounts: Record<string, Record<string, BackupServiceAccountInfo>>;

    constructor(name: string, args: KubernetesSecretsArgs, opts?: pulumi.ComponentResourceOptions) {
        // The takeover `up` of what the runbooks made by hand (adoptionTransformation).
        super("platform-secrets:kubernetes:KubernetesSecrets", name, {}, { ...opts, transformations: [...(opts?.transformations ?? []), ...adoptionTransformation(args.config.kubernetes.adoptExistingObjects)] });
        const { config, provider } = args;
        const eso = config.kubernetes.externalSecrets;
        for (const app of config.apps) {
            for (const [what, table] of [["properties", args.properties], ["dataVersions", args.dataVersions], ["backupRoleArns", args.backupRoleArns]] as const) {
                if (table[app.name] === undefined) throw new Error(`KubernetesSecrets: no ${what} for app ${app.name}`);
            }
        }

        const operator = eso.install.enabled
            ? new ExternalSecretsOperator(
                  `${name}-external-secrets`,
                  { chartVersion: eso.install.chartVersion, repository: eso.install.repository, namespace: eso.install.namespace, provider },
                  { parent: this },
              )
            : undefined;
        if (config.reloader.enabled) new Reloader(`${name}-reloader`, { settings: config.reloader, provider }, { parent: this });

        // One Namespace object per managed namespace (rules.ts makes apps sharing one agree).
        const namespaces = new Map<string, pulumi.Input<string>>();
        for (const app of config.apps) {
            if (namespaces.has(app.namespace)) continue;
            if (!app.manageNamespace) {
                namespaces.set(app.namespace, app.namespace);
                continue;
            }
            const ns = new k8s.core.v1.Namespace(
                `${name}-namespace-${app.namespace}`,
                { metadata: { name: app.namespace, labels: managedLabels() } },
                // Deleting a namespace deletes every workload and Secret in it, not only ours.
                namedObjectOptions(this, provider, statefulOptions(config.protection)),
            );
            namespaces.set(app.namespace, ns.metadata.name);
        }

        this.externalSecrets = {};
        this.vaultLogins = {};
        this.backupServiceAccounts = {};
        for (const app of config.apps) {
            const namespace = namespaces.get(app.namespace)!;
            if (usesVaultLogin(app)) {
                const login = new VaultLogin(
                    `${name}-${app.name}-vault-login`,
                    {
                        app,
                        namespace,
                        vault: { address: config.vault.address, namespace: config.vault.namespace, authPath: config.vault.kubernetesAuth.path, kvMount: config.vault.kv.path },
                        readVersion: args.dataVersions[app.name],
                        provider,
                    },
                    { parent: this },
                );
                this.vaultLogins[app.name] = login.info;
            }
            if (usesExternalSecret(app)) this.externalSecrets[app.name] = this.externalSecret(name, app, namespace, args, operator?.release);
            if (app.backups.length === 0) continue;
            const backups = new BackupServiceAccounts(
                `${name}-${app.name}-backups`,
                { app, namespace, roleArns: args.backupRoleArns[app.name], annotateRoleArn: config.aws?.identity === "irsa", provider },
                { parent: this },
            );
            this.backupServiceAccounts[app.name] = backups.accounts;
        }
        this.registerOutputs({ externalSecrets: this.externalSecrets, vaultLogins: this.vaultLogins, backupServiceAccounts: this.backupServiceAccounts });
    }

    /** An app's store, its ExternalSecret (own path and grants) and what app owners read about them. */
    private externalSecret(name: string, app: PlatformConfig["apps"][number], namespace: pulumi.Input<string>, args: KubernetesSecretsArgs, operator: pulumi.Resource | undefined): ExternalSecretInfo {
        const { config, provider } = args;
        const eso = config.kubernetes.externalSecrets;
        {
            const store = new VaultSecretStore(
                `${name}-${app.name}-vault`,
                {
                    app,
                    namespace,
                    kind: eso.storeKind,
                    vault: {
                        server: config.vault.address,
                        kvMount: config.vault.kv.path,
                        vaultNamespace: config.vault.namespace,
                        caBundlePem: eso.vaultCaBundlePem,
                        caProvider: eso.vaultCaProvider,
                        authPath: config.vault.kubernetesAuth.path,
                        audience: config.vault.kubernetesAuth.audience,
                        apiServerAudience: config.vault.kubernetesAuth.apiServerAudience,
                    },
                    provider,
                    operator,
                    databaseMount: app.databases.length > 0 ? config.vault.database.path : undefined,
                },
                { parent: this },
            );
            const activeRoles = args.databaseRoles?.[app.name];
            if (app.databases.length > 0 && (!activeRoles || app.databases.some((d) => activeRoles[d.name] === undefined))) {
                throw new Error(`KubernetesSecrets: no active database roles for app ${app.name}`);
            }
            const sync = new AppExternalSecret(
                `${name}-${app.name}-sync`,
                {
                    app,
                    namespace,
                    store: { name: store.storeName, kind: store.kind },
                    properties: args.properties[app.name],
                    refreshInterval: eso.refreshInterval,
                    dataVersion: args.dataVersions[app.name],
                    provider,
                    operator,
                    database: app.databases.length > 0 && store.databaseStoreName ? { store: { name: store.databaseStoreName, kind: store.kind }, activeRoles: activeRoles! } : undefined,
                },
                { parent: this },
            );
            return {
                namespace: app.namespace,
                externalSecret: app.secretName,
                targetSecret: app.secretName,
                store: { kind: store.kind, name: store.storeName },
                forceSync: sync.forceSync,
            };
        }
    }
}
