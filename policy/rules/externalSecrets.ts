/**
 * ExternalSecrets keep syncing: a refreshInterval of 0, or a refreshPolicy other than Periodic,
 * means a rotated value in Vault never reaches the Kubernetes Secret (runbook 002: rotate,
 * propagate, verify). An absent refreshInterval is the CRD default, 1h.
 */
import type { PolicyResource, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { forTypePattern } from "../lib/dispatch";
import { goDurationSeconds } from "../lib/duration";
import { field, known, UNKNOWN } from "../lib/values";
import { parseVaultPolicy, type VaultPathRule } from "../lib/vaultPolicy";
import { EXTERNAL_SECRET_TYPE, SECRET_STORE_TYPE, T } from "../types";

/** The ExternalSecret spec fields read here (@kubernetes-models/external-secrets IExternalSecretSpec). */
export interface ExternalSecretSpecProps {
    refreshInterval?: string;
    refreshPolicy?: string;
}
export interface ExternalSecretProps {
    kind?: string;
    spec?: ExternalSecretSpecProps & { externalSecretSpec?: ExternalSecretSpecProps };
}

export const externalSecretRefresh: ResourceValidationPolicy = {
    name: "external-secret-refresh",
    description: "ExternalSecrets refresh periodically: refreshInterval above 0 and refreshPolicy Periodic (or unset).",
    enforcementLevel: "mandatory",
    severity: "medium",
    remediationSteps: "Set spec.refreshInterval to a positive duration (platform-secrets:kubernetes.externalSecrets.refreshInterval) and leave refreshPolicy unset.",
    validateResource: forTypePattern<ExternalSecretProps>(EXTERNAL_SECRET_TYPE, (props, args, report) => {
        // A ClusterExternalSecret carries the ExternalSecret spec one level down.
        const spec = args.type.endsWith(":ClusterExternalSecret") ? props.spec?.externalSecretSpec : props.spec;
        const where = args.type.endsWith(":ClusterExternalSecret") ? "spec.externalSecretSpec" : "spec";
        const interval = spec?.refreshInterval;
        if (interval !== undefined) {
            const seconds = typeof interval === "string" ? goDurationSeconds(interval) : undefined;
            if (seconds === undefined) report(`${where}.refreshInterval ${JSON.stringify(interval)} is not a duration.`);
            else if (seconds <= 0) report(`${where}.refreshInterval is ${JSON.stringify(interval)}: the Secret would never be refreshed.`);
        }
        const policy = spec?.refreshPolicy;
        if (policy !== undefined && policy !== "Periodic") report(`${where}.refreshPolicy is ${JSON.stringify(policy)}: rotations would not propagate.`);
    }),
};

/** The parts of a (Cluster)SecretStore read here (@kubernetes-models/external-secrets ISecretStoreSpec). */
export interface SecretStoreProps {
    kind?: string;
    metadata?: { name?: string; namespace?: string };
    spec?: {
        conditions?: { namespaces?: string[]; namespaceSelector?: unknown; namespaceRegexes?: string[] }[];
        provider?: { vault?: { path?: string; version?: string; auth?: { kubernetes?: { role?: string; serviceAccountRef?: { name?: string; namespace?: string } } } } };
    };
}

/** The namespace of the identity a store logs in to Vault as: its app's namespace. */
function storeAppNamespace(store: SecretStoreProps): string | undefined {
    return store.spec?.provider?.vault?.auth?.kubernetes?.serviceAccountRef?.namespace;
}

/** Why a ClusterSecretStore is not confined to its app's namespaces (empty when it is). */
export function storeConfinementProblems(store: SecretStoreProps): string[] {
    const problems: string[] = [];
    const conditions = store.spec?.conditions ?? [];
    const appNamespace = storeAppNamespace(store);
    if (conditions.length === 0) problems.push("spec.conditions is empty: every namespace of the cluster may use the store");
    conditions.forEach((c, i) => {
        if (c.namespaceSelector !== undefined) problems.push(`spec.conditions[${i}].namespaceSelector admits namespaces by label; list them in namespaces`);
        if ((c.namespaceRegexes ?? []).length > 0) problems.push(`spec.conditions[${i}].namespaceRegexes admits namespaces by pattern; list them in namespaces`);
        const namespaces = c.namespaces ?? [];
        if (namespaces.length === 0 && c.namespaceSelector === undefined && (c.namespaceRegexes ?? []).length === 0) problems.push(`spec.conditions[${i}] names no namespace`);
        for (const ns of namespaces) {
            if (appNamespace === undefined) problems.push(`spec.conditions[${i}] admits ${JSON.stringify(ns)}, but the store names no ServiceAccount namespace to confine it to`);
            else if (ns !== appNamespace) problems.push(`spec.conditions[${i}] admits namespace ${JSON.stringify(ns)}, not its app's namespace ${JSON.stringify(appNamespace)}`);
        }
    });
    return problems;
}

export const externalSecretStoreConfined: ResourceValidationPolicy = {
    name: "external-secret-store-confined",
    description: "A ClusterSecretStore's conditions confine it to exactly its app's namespace (the namespace of the ServiceAccount it logs in to Vault as): listed namespaces only, no selector or regex.",
    enforcementLevel: "mandatory",
    severity: "critical",
    remediationSteps: "spec.conditions: [{ namespaces: [\"<app namespace>\"] }], the namespace of spec.provider.vault.auth.kubernetes.serviceAccountRef.",
    validateResource: forTypePattern<SecretStoreProps>(SECRET_STORE_TYPE, (props, args, report) => {
        if (!args.type.endsWith(":ClusterSecretStore")) return args.notApplicable("a namespaced SecretStore serves its own namespace only");
        for (const problem of storeConfinementProblems(props)) report(`${problem}.`);
    }),
};

/** The parts of an ExternalSecret spec that say which store and which Vault paths it reads. */
interface ExternalSecretSource {
    secretStoreRef?: { kind?: string; name?: string };
    data?: { remoteRef?: { key?: string }; sourceRef?: { storeRef?: { kind?: string; name?: string } } }[];
    dataFrom?: { extract?: { key?: string }; find?: unknown; sourceRef?: unknown }[];
}

function ofKind(r: PolicyResource, kind: string): boolean {
    return new RegExp(`^kubernetes:external-secrets\\.io/[^:]+:${kind}$`).test(r.type);
}

/** The KV keys (relative to the store's mount, as ExternalSecrets name them) the store's Vault role may read. */
async function storeReadableKeys(store: SecretStoreProps, resources: PolicyResource[]): Promise<string[] | undefined> {
    const vaultProvider = store.spec?.provider?.vault;
    const roleName = vaultProvider?.auth?.kubernetes?.role;
    const mount = (vaultProvider?.path ?? "secret").replace(/\/+$/, "");
    const role = resources.find((r) => r.type === T.vaultKubernetesAuthRole && known(() => field(r.props, "roleName")) === roleName);
    if (!roleName || !role) return undefined;
    const names = known(() => field(role.props, "tokenPolicies"));
    if (!Array.isArray(names)) return undefined;
    const keys: string[] = [];
    for (const name of names) {
        const policy = resources.find((r) => r.type === T.vaultPolicy && known(() => field(r.props, "name")) === name);
        const text = policy ? known(() => field(policy.props, "policy")) : undefined;
        if (typeof text !== "string") return undefined;
        let rules: VaultPathRule[];
        try {
            rules = await parseVaultPolicy(text);
        } catch {
            return undefined;
        }
        for (const rule of rules) {
            if (!rule.capabilities.includes("read")) continue;
            // KV v2 reads <mount>/data/<key>; a v1 store (the database engine's static-creds) <mount>/<key>.
            const prefix = vaultProvider?.version === "v1" ? `${mount}/` : `${mount}/data/`;
            if (rule.path.startsWith(prefix)) keys.push(rule.path.slice(prefix.length));
        }
    }
    return keys;
}

/** A remote key as the store reads it: relative to the mount, without KV v2's data/ segment. */
function normalizedKey(key: string, mount: string, version?: string): string {
    let k = key.replace(/^\/+/, "");
    if (k.startsWith(`${mount}/`)) k = k.slice(mount.length + 1);
    if (version !== "v1" && k.startsWith("data/")) k = k.slice(5);
    return k;
}

function keyAllowed(key: string, readable: string[]): boolean {
    return readable.some((r) => (r.endsWith("*") ? key.startsWith(r.slice(0, -1)) && !key.includes("..") : key === r));
}

export const externalSecretsConfined: StackValidationPolicy = {
    name: "external-secrets-confined",
    description:
        "ExternalSecrets stay inside their store's app: an ExternalSecret (or ClusterExternalSecret) that uses a ClusterSecretStore lives in a namespace the store's conditions list, and every key it reads (data, dataFrom.extract) is one the store's Vault role's policies grant; dataFrom.find, which searches the whole mount, is refused.",
    enforcementLevel: "mandatory",
    severity: "critical",
    remediationSteps: "Create the ExternalSecret in the app's namespace, with the app's own store, reading only secret/data/<prefix>/<app>/<env>.",
    validateStack: async (args, report) => {
        const sources = args.resources.filter((r) => ofKind(r, "ExternalSecret") || ofKind(r, "ClusterExternalSecret"));
        if (sources.length === 0) return args.notApplicable("the stack has no ExternalSecrets");
        const stores = args.resources.filter((r) => ofKind(r, "ClusterSecretStore"));
        for (const r of sources) {
            const cluster = ofKind(r, "ClusterExternalSecret");
            const spec = known(() => field(r.props, "spec")) as Record<string, unknown> | typeof UNKNOWN | undefined;
            if (spec === UNKNOWN || !spec) continue;
            const source = (cluster ? spec.externalSecretSpec : spec) as ExternalSecretSource | undefined;
            const where = `${r.type.split(":").pop()} ${r.name}`;
            let namespaces: string[];
            if (cluster) {
                if (spec.namespaceSelector !== undefined || (Array.isArray(spec.namespaceSelectors) && spec.namespaceSelectors.length > 0)) {
                    report(`${where} creates ExternalSecrets in every namespace its selector matches; list the namespaces.`, r.urn);
                }
                namespaces = Array.isArray(spec.namespaces) ? (spec.namespaces as string[]) : [];
            } else {
                const ns = known(() => field(field(r.props, "metadata"), "namespace"));
                namespaces = [typeof ns === "string" ? ns : "default"];
            }
            for (const entry of source?.dataFrom ?? []) {
                if (entry.find !== undefined) report(`${where} uses dataFrom.find, which reads every secret of the store its search matches.`, r.urn);
            }
            // Each store judged on the keys read through it: the default store's, and each entry's own sourceRef store's.
            const sameRef = (a?: { kind?: string; name?: string }, b?: { kind?: string; name?: string }) => !!a && !!b && a.kind === b.kind && a.name === b.name;
            const refs = [source?.secretStoreRef, ...(source?.data ?? []).map((d) => d.sourceRef?.storeRef)]
                .filter((x): x is { kind?: string; name?: string } => !!x)
                .filter((x, i, all) => all.findIndex((y) => sameRef(x, y)) === i);
            for (const ref of refs) {
                if (ref.kind !== "ClusterSecretStore") continue;
                const storeResource = stores.find((s) => known(() => field(field(s.props, "metadata"), "name")) === ref.name);
                if (!storeResource) {
                    report(`${where} uses ClusterSecretStore ${JSON.stringify(ref.name)}, which this stack does not define, so its confinement cannot be checked.`, r.urn);
                    continue;
                }
                const store = storeResource.props as SecretStoreProps;
                const admitted = new Set((store.spec?.conditions ?? []).flatMap((c) => c.namespaces ?? []));
                for (const ns of namespaces) {
                    if (!admitted.has(ns)) report(`${where} is in namespace ${JSON.stringify(ns)}, outside the namespaces of its store ${JSON.stringify(ref.name)} (${[...admitted].sort().join(", ") || "none listed"}).`, r.urn);
                }
                const readable = await storeReadableKeys(store, args.resources);
                const mount = (store.spec?.provider?.vault?.path ?? "secret").replace(/\/+$/, "");
                const isDefault = sameRef(ref, source?.secretStoreRef);
                const keys = [
                    ...(source?.data ?? []).filter((d) => (d.sourceRef?.storeRef ? sameRef(d.sourceRef.storeRef, ref) : isDefault)).map((d) => d.remoteRef?.key),
                    ...(isDefault ? (source?.dataFrom ?? []).filter((d) => d.sourceRef === undefined).map((d) => d.extract?.key) : []),
                ].filter((k): k is string => typeof k === "string");
                if (readable === undefined) {
                    report(`${where}: the Vault role and policies of store ${JSON.stringify(ref.name)} are not in this stack, so the paths it may read cannot be checked.`, r.urn);
                    continue;
                }
                for (const key of new Set(keys)) {
                    if (!keyAllowed(normalizedKey(key, mount, store.spec?.provider?.vault?.version), readable)) report(`${where} reads ${JSON.stringify(key)}, which is not its store's app path (${readable.join(", ") || "none"}).`, r.urn);
                }
            }
        }
    },
};
