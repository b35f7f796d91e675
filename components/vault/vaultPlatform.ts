import type * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as vault from "@pulumi/vault";
import type { PlatformConfig } from "../config/model";
import { AppVaultAccess } from "./appVaultAccess";
import { AuditDevice } from "./auditDevice";
import { DatabaseCredentials } from "./databaseCredentials";
import { KubernetesAuthBackend } from "./kubernetesAuthBackend";
import { KvV2Mount } from "./kvMount";
import { PipelinePolicies } from "./pipelinePolicies";
import { statefulOptions } from "../config/stateful";

/** What Vault needs from an app's credentials: every property, as one Pulumi secret. */
export interface AppData {
    readonly data: pulumi.Output<Record<string, string>>;
    /** Per granted secret: its properties alone. */
    readonly sharedData: Readonly<Record<string, pulumi.Output<Record<string, string>>>>;
    /** Per database of the app: the rotation counter applied to its password (AppCredentials). */
    readonly databaseCounters?: Readonly<Record<string, number>>;
}

export interface VaultPlatformArgs {
    /** The resolved stack config. */
    readonly config: PlatformConfig;
    /** Per app name (AppCredentials): exactly the apps of the config. */
    readonly credentials: Readonly<Record<string, AppData>>;
    /** The stack's Vault provider (components/vault/provider.ts), passed to every resource. */
    readonly provider: vault.Provider;
    /**
     * The stack's AWS provider (components/aws/provider.ts): the managed Kubernetes auth backend reads
     * the EKS cluster's API endpoint and CA through it when they are not configured.
     */
    readonly awsProvider?: aws.Provider;
}

/** What other components (the External Secrets stores) read about one app. */
export interface AppVaultOutputs {
    /** `<mount>/data/<prefix>/<app>/<env>`. */
    readonly dataPath: string;
    /** `<prefix>/<app>/<env>`, relative to the mount. */
    readonly kvPath: string;
    /** Changes when, and only when, the app's KV data changes; never a secret (ESO force-sync). */
    readonly dataVersion: pulumi.Output<string>;
    readonly readPolicyName: pulumi.Output<string>;
    /** Kubernetes auth role the app's store logs in with (externalSecret and both delivery). */
    readonly roleName?: pulumi.Output<string>;
    /** Kubernetes auth role the app's workloads log in with (vault and both delivery). */
    readonly workloadRoleName?: pulumi.Output<string>;
    /**
     * What a rotation of anything the app reads changes: its own KV version, then each granted
     * secret's `<owner>/<secret>@<version>`. Equal to dataVersion for an app without grants. Not secret.
     */
    readonly readVersion: pulumi.Output<string>;
    /** Per granted secret of this app (as owner): its shared copy's version. */
    readonly sharedVersions: Readonly<Record<string, pulumi.Output<string>>>;
    /**
     * Per database of the app: the static role of the active user, known only after Vault rotated
     * its password for this counter (docs/database-credentials.md).
     */
    readonly databases: Readonly<Record<string, pulumi.Output<string>>>;
}

/**
 * Everything this environment needs in Vault: the KV v2 mount (or an existing one), one secret,
 * read policy and Kubernetes auth role per app, the Kubernetes auth backend (or an existing one),
 * the pipeline's policies, and the audit device where config enables it.
 */
export class VaultPlatform extends pulumi.ComponentResource {
    /** KV v2 mount path; resolves once a managed mount is configured. */
    readonly mountPath: pulumi.Output<string>;
    /** Kubernetes auth backend path; resolves once a managed backend is configured. */
    readonly authPath: pulumi.Output<string>;
    readonly apps: Readonly<Record<string, AppVaultOutputs>>;
    readonly rotatorPolicyName: pulumi.Output<string>;
    readonly previewPolicyName: pulumi.Output<string>;
    /** The audit device path, when config enables auditing. */
    readonly auditPath?: pulumi.Output<string>;

    constructor(name: string, args: VaultPlatformArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform-secrets:vault:VaultPlatform", name, {}, opts);
        const { config, credentials, provider } = args;
        const { kv, kubernetesAuth, audit } = config.vault;
        const stateful = statefulOptions(config.protection);
        const configured = config.apps.map((a) => a.name).sort();
        const given = Object.keys(credentials).sort();
        if (JSON.stringify(configured) !== JSON.stringify(given)) {
            throw new Error(`Vault needs credentials for exactly the configured apps (${configured.join(", ")}), got ${given.join(", ")}`);
        }

        this.mountPath = kv.manage
            ? new KvV2Mount(
                  `${name}-kv`,
                  { path: kv.path, maxVersions: kv.maxVersions, stateful, provider },
                  { parent: this },
              ).path
            : pulumi.output(kv.path);
        this.authPath = kubernetesAuth.manage
            ? new KubernetesAuthBackend(
                  `${name}-kubernetes-auth`,
                  {
                      path: kubernetesAuth.path,
                      host: kubernetesAuth.host,
                      caCertPem: kubernetesAuth.caCertPem,
                      // The issuer of the cluster's service account tokens is its OIDC issuer, which the
                      // IRSA trust policies already name: one setting, not two that could disagree.
                      // rules.ts: without aws.eks, host, CA and issuer are all configured.
                      issuer: kubernetesAuth.issuer ?? config.aws!.eks.oidcIssuerUrl,
                      cluster: config.aws && args.awsProvider ? { name: config.aws.eks.clusterName, provider: args.awsProvider } : undefined,
                      provider,
                  },
                  { parent: this },
              ).path
            : pulumi.output(kubernetesAuth.path);

        const database = config.vault.database;
        const databaseMount = config.apps.some((a) => a.databases.length > 0) && database.manage
            ? new vault.Mount(
                  `${name}-database`,
                  { path: database.path, type: "database", description: "Database secrets engine: alternating app users (platform-secrets, docs/database-credentials.md)." },
                  // Disabling the mount drops every static role and connection.
                  { parent: this, provider, ...stateful },
              ).path
            : pulumi.output(database.path);

        const apps: Record<string, AppVaultOutputs> = {};
        for (const app of config.apps) {
            const databases: Record<string, pulumi.Output<string>> = {};
            for (const db of app.databases) {
                const secret = app.secrets.find((s) => s.id === db.passwordSecretId);
                const d = new DatabaseCredentials(
                    `${name}-${app.name}-${db.name}`,
                    { database: db, mount: databaseMount, counter: credentials[app.name].databaseCounters?.[db.name] ?? 0, maxAgeDays: secret?.maxAgeDays ?? 0, provider },
                    { parent: this },
                );
                databases[db.name] = d.activeRole;
            }
            const access = new AppVaultAccess(
                `${name}-${app.name}`,
                {
                    app,
                    data: credentials[app.name].data,
                    sharedData: credentials[app.name].sharedData,
                    mount: this.mountPath,
                    authBackend: this.authPath,
                    role: { audience: kubernetesAuth.audience, tokenTtlSeconds: kubernetesAuth.tokenTtlSeconds, tokenMaxTtlSeconds: kubernetesAuth.tokenMaxTtlSeconds },
                    stateful,
                    provider,
                    databaseMount: database.path,
                },
                { parent: this },
            );
            apps[app.name] = {
                dataPath: access.dataPath,
                kvPath: app.kvPath,
                dataVersion: access.dataVersion,
                readPolicyName: access.readPolicyName,
                roleName: access.roleName,
                workloadRoleName: access.workloadRoleName,
                sharedVersions: access.sharedVersions,
                readVersion: access.dataVersion,
                databases,
            };
        }
        // Consumers: a rotation of a granted secret moves their version too (force-sync, login ConfigMap).
        for (const app of config.apps) {
            if (app.granted.length === 0) continue;
            const versions = app.granted.map((g) => apps[g.owner].sharedVersions[g.key].apply((v) => `${g.id}@${v}`));
            apps[app.name] = { ...apps[app.name], readVersion: pulumi.all([apps[app.name].dataVersion, ...versions]).apply((parts) => parts.join("+")) };
        }
        this.apps = apps;

        const pipeline = new PipelinePolicies(`${name}-pipeline`, { config, provider }, { parent: this });
        this.rotatorPolicyName = pipeline.rotatorPolicyName;
        this.previewPolicyName = pipeline.previewPolicyName;

        if (audit.enabled) {
            this.auditPath = new AuditDevice(
                `${name}-audit`,
                { path: audit.path, filePath: audit.filePath, stateful, provider },
                { parent: this },
            ).path;
        }

        this.registerOutputs({ mountPath: this.mountPath, authPath: this.authPath, rotatorPolicyName: this.rotatorPolicyName, previewPolicyName: this.previewPolicyName });
    }

    /** A stack-output summary: paths, names and data versions, no values. */
    summary(): pulumi.Output<unknown> {
        return pulumi.output({
            mountPath: this.mountPath,
            authPath: this.authPath,
            rotatorPolicy: this.rotatorPolicyName,
            previewPolicy: this.previewPolicyName,
            auditDevice: this.auditPath ?? null,
            apps: Object.fromEntries(
                Object.entries(this.apps).map(([app, a]) => [
                    app,
                    {
                        dataPath: a.dataPath,
                        dataVersion: a.dataVersion,
                        readPolicy: a.readPolicyName,
                        role: a.roleName ?? null,
                        ...(a.workloadRoleName ? { workloadRole: a.workloadRoleName } : {}),
                        ...(Object.keys(a.sharedVersions).length > 0 ? { sharedVersions: a.sharedVersions } : {}),
                    },
                ]),
            ),
        });
    }
}
