/**
 * The program: validated config in, one stack's secrets platform out. `index.ts` calls `main()`;
 * tests and the offline plan call it under Pulumi's mocks.
 */
import * as pulumi from "@pulumi/pulumi";
import { Backups } from "./aws/backups";
import { createAwsProvider } from "./aws/provider";
import { loadConfig } from "./config/load";
import type { PlatformConfig } from "./config/model";
import { AppCredentials } from "./credentials/appCredentials";
import { readPreviousDeployment, ROTATION_STATE_OUTPUT } from "./credentials/rotationState";
import { parseTlsState, TLS_STATE_OUTPUT } from "./credentials/certificateRotation";
import { statefulOptions } from "./config/stateful";
import { VaultPki } from "./vault/pki";
import { KubernetesSecrets } from "./kubernetes/kubernetesSecrets";
import { createKubernetesProvider } from "./kubernetes/provider";
import { createVaultProvider } from "./vault/provider";
import { VaultPlatform } from "./vault/vaultPlatform";

export interface MainOptions {
    /** The clock scheduled rotation reads; the real program uses the current time. */
    now?: Date;
}

export async function main(options: MainOptions = {}): Promise<Record<string, unknown>> {
    // Validate everything before constructing anything: bad config registers nothing.
    const config = loadConfig();
    const now = options.now ?? new Date();
    if (Date.parse(`${config.rotation.epoch}T00:00:00Z`) > now.getTime()) {
        // Legitimate (scheduling starts later), but a typo here silently stops scheduled rotation.
        pulumi.log.warn(`rotation.epoch ${config.rotation.epoch} is in the future: no scheduled rotation happens before it`);
    }

    // AWS only where the stack needs it (backups, or the EKS lookup of Vault's Kubernetes auth):
    // clusters outside AWS, and stacks without backups that name their API server, need no AWS at all.
    const { aws: awsSettings } = config;
    const providers = {
        vault: createVaultProvider(config),
        aws: awsSettings && needsAws(config) ? createAwsProvider({ ...config, aws: awsSettings }) : undefined,
        kubernetes: createKubernetesProvider(config),
    };

    // What the last deployment applied, so no rotation counter moves by more than one per update.
    const last = await readPreviousDeployment();
    const previous = last.rotation;
    const previousTls = parseTlsState(last.tls);

    // Client certificates from Vault's PKI engine (runbook 001 §4), where an app has one.
    const pki = config.apps.some((app) => app.pki)
        ? new VaultPki("vault-pki", { config, now, previous: { rotation: previous, tls: previousTls }, stateful: statefulOptions(config.protection), provider: providers.vault })
        : undefined;
    const caOverlapDays = config.rotation.maxAgeDays > 0 ? config.rotation.maxAgeDays : 90;
    const credentials = Object.fromEntries(
        config.apps.map((app) => [
            app.name,
            new AppCredentials(app.name, { app, epoch: config.rotation.epoch, now, previous, databaseMount: config.vault.database.path, certificates: pki?.certificates[app.name], previousTls, caOverlapDays }),
        ]),
    );

    // Vault: KV v2 data per app and environment, read policies, Kubernetes auth roles, pipeline policies, audit.
    // The AWS provider reads the EKS cluster's API endpoint and CA for Vault's Kubernetes auth backend.
    const vaultPlatform = new VaultPlatform("vault", { config, credentials, provider: providers.vault, awsProvider: providers.aws });

    // Backups (runbook 001 §3.6 without static AWS keys): the stack's KMS key, and per backup target
    // an encrypted private bucket and the role only its job's ServiceAccount can assume.
    // rules.ts requires aws and backup wherever an app has backups.
    const backups = config.apps.some((app) => app.backups.length > 0) && providers.aws && config.aws && config.backup
        ? new Backups("backups", { provider: providers.aws, apps: config.apps, environment: config.environment, keyAlias: config.backupKeyAlias, aws: config.aws, backup: config.backup, protection: config.protection })
        : undefined;

    const kubernetes = new KubernetesSecrets("kubernetes", {
        config,
        provider: providers.kubernetes,
        properties: Object.fromEntries(config.apps.map((app) => [app.name, credentials[app.name].properties])),
        // The KV secret's version (and each granted secret's): known only after Vault holds the new
        // data, so ESO's force-sync and the login ConfigMap never move before the write they announce.
        dataVersions: Object.fromEntries(config.apps.map((app) => [app.name, vaultPlatform.apps[app.name].readVersion])),
        // The active database user per app and database: known once Vault rotated it for this counter.
        databaseRoles: Object.fromEntries(config.apps.map((app) => [app.name, vaultPlatform.apps[app.name].databases])),
        // The IRSA roles the backup ServiceAccounts are annotated with.
        backupRoleArns: Object.fromEntries(
            config.apps.map((app) => [app.name, Object.fromEntries(Object.entries(backups?.targets[app.name] ?? {}).map(([t, o]) => [t, o.roleArn]))]),
        ),
    });

    return {
        environment: config.environment,
        /** Every secret without its value: app, env var, Vault path and property, source, generation, age. */
        inventory: config.apps.flatMap((app) => credentials[app.name].inventory),
        /** The rotation counters applied per "<app>/<secret>"; the next update reads them back. */
        [ROTATION_STATE_OUTPUT]: pulumi
            .all([...config.apps.map((app) => credentials[app.name].rotationState), ...(pki ? [pki.rotationState] : [])])
            .apply((states) => Object.assign({}, ...states)),
        /** Public TLS facts the next update reads: each certificate's serial and expiry, each CA bundle's CAs (no key). */
        [TLS_STATE_OUTPUT]: pulumi
            .all([pki ? pki.certificateState : pulumi.output({}), pulumi.all(config.apps.map((app) => credentials[app.name].caBundleState)).apply((s) => Object.assign({}, ...s))])
            .apply(([certificates, caBundles]) => ({ certificates, caBundles })),
        /** Vault paths, policy and role names, and each app's KV data version (no values). */
        vault: vaultPlatform.summary(),
        /** app → target → { bucketName, bucketArn, roleArn, serviceAccount, namespace, prefix }: for the ServiceAccounts and CronJobs. */
        backups: backups?.targets ?? {},
        /** The backup KMS key, for jobs that name it in their upload headers. */
        backupKeyArn: backups?.key.arn,
        /** Per app: the ExternalSecret, its target Secret and store, and the current force-sync value. */
        externalSecrets: kubernetes.externalSecrets,
        /** Per `vault`-delivery app: its login ConfigMap (Vault address, role, auth mount, KV path, grants, version). */
        vaultLogins: kubernetes.vaultLogins,
        /** Per app and backup target: ServiceAccount, IAM role ARN, and whether this program manages it. */
        backupServiceAccounts: kubernetes.backupServiceAccounts,
        providers: pulumi.output({ vault: providers.vault.urn, ...(providers.aws ? { aws: providers.aws.urn } : {}), kubernetes: providers.kubernetes.urn }),
    };
}

/** Whether the stack needs AWS: an app with backups, or Vault's Kubernetes auth left (in part) to the EKS lookup. */
export function needsAws(config: PlatformConfig): boolean {
    const k = config.vault.kubernetesAuth;
    return config.apps.some((app) => app.backups.length > 0) || (k.manage && (k.host === undefined || k.caCertPem === undefined || k.issuer === undefined));
}
