/**
 * The Kubernetes objects' bodies as data: pure functions from the resolved config to the
 * ClusterSecretStore / SecretStore and ExternalSecret specs, so the components stay thin and tests
 * can reason about one place. Field names follow ESO's external-secrets.io/v1 CRDs (the tests
 * validate every rendered object against them).
 */
import { createHash } from "node:crypto";
import type * as pulumi from "@pulumi/pulumi";
import type { PropertySpec } from "../config/model";

/** ESO's served API; v1beta1 is no longer served since ESO 0.17. */
export const ESO_API_VERSION = "external-secrets.io/v1";

/** ESO re-syncs an ExternalSecret at once when its annotations change (ESO FAQ). */
export const FORCE_SYNC_ANNOTATION = "force-sync";

/**
 * pulumi-kubernetes' per-object switch to force its server-side apply (pkg/await/await.go,
 * patchForce): the program's values win on the fields it sets, even where another field manager
 * (e.g. `kubectl annotate`, manager `kubectl-annotate`) last wrote them. Without it such a field
 * makes the next update that changes it fail with a conflict.
 */
export const PATCH_FORCE_ANNOTATION = "pulumi.com/patchForce";

/**
 * On a Secret: Reloader restarts the workloads that carry `reloader.stakater.com/search: "true"`
 * and use this Secret when its data changes.
 */
export const RELOADER_MATCH_ANNOTATION = "reloader.stakater.com/match";
/** On a Deployment (or StatefulSet, DaemonSet): restart me when a `match` Secret I use changes. */
export const RELOADER_SEARCH_ANNOTATION = "reloader.stakater.com/search";

/** The IRSA annotation EKS's pod identity webhook reads on a ServiceAccount. */
export const IRSA_ROLE_ANNOTATION = "eks.amazonaws.com/role-arn";

/** Labels on every object this program creates in the cluster. */
export function managedLabels(app?: string): Record<string, string> {
    return { "app.kubernetes.io/managed-by": "platform-secrets", ...(app ? { "platform-secrets/app": app } : {}) };
}

/**
 * The force-sync annotation value: a short SHA-256 of the app's data version. The data version is
 * non-secret and changes when, and only when, the app's secret data changes, so the annotation does
 * too; no value ever goes into it.
 */
export function forceSyncValue(dataVersion: string): string {
    return createHash("sha256").update(dataVersion).digest("hex").slice(0, 16);
}

export type StoreKind = "ClusterSecretStore" | "SecretStore";

export interface VaultStoreSettings {
    /** Vault address (https). */
    server: string;
    /** KV v2 mount path (`secret`): ESO appends `/data/` to reach a key under it. */
    kvMount: string;
    /** Vault Enterprise namespace, if any. */
    vaultNamespace?: string;
    /** PEM bundle that signs Vault's certificate. */
    caBundlePem?: string;
    /** Or where ESO reads that bundle in the cluster (a ClusterSecretStore names its namespace). */
    caProvider?: { type: "ConfigMap" | "Secret"; name: string; key: string; namespace?: string };
    /** Kubernetes auth backend path in Vault. */
    authPath: string;
    /** Vault role of this app (bound to the reader ServiceAccount only). */
    role: string;
    /** Audience the reader's token is requested for, and Vault's role requires. */
    audience: string;
    /**
     * The Kubernetes API server's own audience (EKS: https://kubernetes.default.svc), requested on the
     * reader's token as well: Vault has no reviewer JWT and sends the login token itself as the bearer
     * of its TokenReview, which the API server accepts only with one of its audiences.
     */
    apiServerAudience: string;
}

export interface ServiceAccountSelector {
    name: pulumi.Input<string>;
    namespace: pulumi.Input<string>;
    audiences: string[];
}

/** `spec` of a ClusterSecretStore or SecretStore with the Vault provider and Kubernetes auth. */
export interface VaultStoreSpec {
    conditions?: { namespaces: pulumi.Input<string>[] }[];
    provider: {
        vault: {
            server: string;
            path: string;
            version: "v2";
            namespace?: string;
            caBundle?: string;
            caProvider?: { type: "ConfigMap" | "Secret"; name: string; key: string; namespace?: string };
            auth: { kubernetes: { mountPath: string; role: string; serviceAccountRef: ServiceAccountSelector } };
        };
    };
}

/**
 * A store for one app. A ClusterSecretStore is limited by `conditions` to the app's namespace, so no
 * other namespace's ExternalSecret can read through this app's Vault role; a SecretStore lives in
 * that namespace and is limited by construction.
 */
export function vaultStoreSpec(kind: StoreKind, vault: VaultStoreSettings, reader: { name: pulumi.Input<string>; namespace: pulumi.Input<string> }): VaultStoreSpec {
    const spec: VaultStoreSpec = {
        provider: {
            vault: {
                server: vault.server,
                path: vault.kvMount,
                version: "v2",
                auth: {
                    kubernetes: {
                        mountPath: vault.authPath,
                        role: vault.role,
                        // Vault's audience (the role checks it, and has the TokenReview confirm it) and the
                        // API server's (so that same token may call TokenReview; else a 401 and every login fails).
                        serviceAccountRef: { name: reader.name, namespace: reader.namespace, audiences: [vault.audience, vault.apiServerAudience] },
                    },
                },
            },
        },
    };
    if (vault.vaultNamespace !== undefined) spec.provider.vault.namespace = vault.vaultNamespace;
    // The CRD types caBundle as bytes: base64 of the PEM text.
    if (vault.caBundlePem !== undefined) spec.provider.vault.caBundle = Buffer.from(vault.caBundlePem, "utf8").toString("base64");
    if (vault.caProvider !== undefined) {
        const { namespace, ...ref } = vault.caProvider;
        // ESO accepts a namespace only on cluster-scoped stores (rules.ts checks the config agrees).
        spec.provider.vault.caProvider = kind === "ClusterSecretStore" ? { ...ref, namespace } : ref;
    }
    if (kind === "ClusterSecretStore") spec.conditions = [{ namespaces: [reader.namespace] }];
    return spec;
}

export interface ExternalSecretDataEntry {
    secretKey: string;
    remoteRef: { key: string; property: string };
}

export interface ExternalSecretSpec {
    refreshInterval: string;
    secretStoreRef: { name: pulumi.Input<string>; kind: StoreKind };
    target: {
        name: string;
        creationPolicy: "Owner";
        template: { metadata: { annotations: Record<string, string> } };
    };
    data: ExternalSecretDataEntry[];
}

/**
 * One data entry per property that has an env var (its key in the target Secret). `key` is the KV
 * path relative to the store's mount: with `path: <mount>` and `version: v2`, ESO reads
 * `<mount>/data/<key>`, which is runbook 001's `secret/data/shared-infra/<app>/<env>`.
 */
export function externalSecretSpec(args: {
    kvPath: string;
    properties: readonly PropertySpec[];
    store: { name: pulumi.Input<string>; kind: StoreKind };
    targetSecret: string;
    refreshInterval: string;
    /** Secrets granted to the app: each read at its own shared path (through the app's own store and policy). */
    granted?: readonly { kvPath: string; properties: readonly PropertySpec[] }[];
}): ExternalSecretSpec {
    const entries = (kvPath: string, properties: readonly PropertySpec[]) =>
        properties
            .filter((p): p is PropertySpec & { env: string } => p.env !== undefined)
            .map((p) => ({ secretKey: p.env, remoteRef: { key: kvPath, property: p.property } }));
    const data = [...entries(args.kvPath, args.properties), ...(args.granted ?? []).flatMap((g) => entries(g.kvPath, g.properties))];
    return {
        refreshInterval: args.refreshInterval,
        secretStoreRef: { name: args.store.name, kind: args.store.kind },
        target: {
            name: args.targetSecret,
            // The ExternalSecret owns the Secret: deleting it garbage-collects the Secret.
            creationPolicy: "Owner",
            // Metadata only: without template data, ESO writes the fetched data as it is.
            template: { metadata: { annotations: { [RELOADER_MATCH_ANNOTATION]: "true" } } },
        },
        data,
    };
}
