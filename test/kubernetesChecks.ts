/**
 * The Kubernetes assertions every stack shares, registered into the calling test file's describe()
 * (test/kubernetes.<stack>.test.ts), which runs the program once. Expectations come from the stack
 * file and the resolved config model, never from the component's own helpers, and every
 * External Secrets object is checked with ESO's published CRD schemas
 * (@kubernetes-models/external-secrets, generated from ESO's Go API types).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { it } from "node:test";
import type { IExternalSecretSpec } from "@kubernetes-models/external-secrets/external-secrets.io/v1/ExternalSecretSpec";
import type { ISecretStoreSpec } from "@kubernetes-models/external-secrets/external-secrets.io/v1/SecretStoreSpec";
import { AppSpec, PlatformConfig, usesExternalSecret, usesVaultLogin } from "../components/config/model";
import { projectName } from "../tools/harness/stackConfig";
import { byType, plaintextStrings, ResourceRecord, resolvedConfig, reveal, RunResult, runStack, SecretValue, stackConfig, SUPPLIED } from "./support";

export { resolvedConfig };

export const TYPES = {
    namespace: "kubernetes:core/v1:Namespace",
    serviceAccount: "kubernetes:core/v1:ServiceAccount",
    clusterRoleBinding: "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",
    clusterSecretStore: "kubernetes:external-secrets.io/v1:ClusterSecretStore",
    secretStore: "kubernetes:external-secrets.io/v1:SecretStore",
    externalSecret: "kubernetes:external-secrets.io/v1:ExternalSecret",
    release: "kubernetes:helm.sh/v3:Release",
} as const;

type Validate = (obj: Record<string, unknown>) => void;

/** ESO's CRD validators (ESM-only package, loaded once). */
export async function esoValidators(): Promise<Record<"ExternalSecret" | "ClusterSecretStore" | "SecretStore", Validate>> {
    type Ctor = new (data: unknown) => { validate(): void };
    const load = async (kind: string): Promise<Validate> => {
        const mod = (await import(`@kubernetes-models/external-secrets/external-secrets.io/v1/${kind}`)) as Record<string, unknown>;
        const C = mod[kind] as Ctor;
        return (obj) => new C(obj).validate();
    };
    return { ExternalSecret: await load("ExternalSecret"), ClusterSecretStore: await load("ClusterSecretStore"), SecretStore: await load("SecretStore") };
}

/**
 * The Vault path ESO reads for a key, as ESO's Vault provider builds it (providers/v1/vault,
 * client.buildPath): with a store path, a leading "<path>/" (and then "data/" on KV v2) is cut from
 * the key, and "<path>/data/" is put in front.
 */
export function esoVaultReadPath(storePath: string, key: string): string {
    let out = key;
    if (out.startsWith(`${storePath}/`)) {
        out = out.slice(storePath.length + 1);
        if (out.startsWith("data/")) out = out.slice("data/".length);
    }
    return `${storePath}/data/${out}`;
}


/** The stack file's value under `platform-secrets:<key>` (raw, as the operator wrote it). */
export function stackSetting(stack: string, key: string): Record<string, any> {
    return stackConfig(stack)[`${projectName}:${key}`];
}

export function kubernetesResources(result: RunResult): ResourceRecord[] {
    return result.resources.filter((r) => r.type.startsWith("kubernetes:"));
}

export function oneNamed(result: RunResult, type: string, name: string, namespace?: string): ResourceRecord {
    const found = byType(result, type).filter((r) => {
        const m = r.inputs.metadata as { name?: string; namespace?: string } | undefined;
        return m?.name === name && (namespace === undefined || m.namespace === namespace);
    });
    assert.equal(found.length, 1, `expected one ${type} named ${name}${namespace ? ` in ${namespace}` : ""}, found ${found.length}`);
    return found[0];
}

export function releaseOf(result: RunResult, chart: string): ResourceRecord | undefined {
    const found = byType(result, TYPES.release).filter((r) => r.inputs.chart === chart);
    assert.ok(found.length <= 1, `more than one release of ${chart}`);
    return found[0];
}

export function forceSyncOf(result: RunResult, app: AppSpec): string {
    const es = oneNamed(result, TYPES.externalSecret, app.secretName, app.namespace);
    return ((es.inputs.metadata as { annotations: Record<string, string> }).annotations)["force-sync"];
}

/** Every value the run holds as a secret (generated values, operator secrets): what must never leak. */
export function secretValues(result: RunResult): string[] {
    const found = new Set<string>();
    const walk = (v: unknown, inSecret: boolean): void => {
        if (v instanceof SecretValue) return walk(v.value, true);
        if (typeof v === "string" && inSecret && v.length >= 8) found.add(v);
        else if (Array.isArray(v)) v.forEach((x) => walk(x, inSecret));
        else if (v && typeof v === "object") Object.values(v).forEach((x) => walk(x, inSecret));
    };
    for (const r of result.resources) {
        // The mocks echo inputs as outputs, and a secret nested in an object input (a database
        // connection's password) wraps the whole object: its siblings the inputs show in plaintext
        // (the host) are not secret values.
        const before = new Set(found);
        walk(r.outputs, false);
        const plainInputs = new Set(plaintextStrings(r.inputs).map((x) => x.value));
        for (const v of found) if (!before.has(v) && plainInputs.has(v)) found.delete(v);
    }
    walk(result.outputs, false);
    for (const app of Object.values(SUPPLIED)) for (const v of Object.values(app)) found.add(v);
    return [...found];
}

/** What runbook 001 §3.3 means for an app, in ESO's own types (a typo in a field fails tsc). */
export function expectedExternalSecretSpec(config: PlatformConfig, app: AppSpec): IExternalSecretSpec {
    // Database credentials, and values composed from them, come from the database store and ESO's
    // template (docs/database-credentials.md): checked on their own below, not part of the KV spec.
    const dbProps = new Set(app.secrets.filter((s) => s.source.kind === "database").map((s) => s.properties[0].property));
    const fromKv = app.secrets.filter((s) => s.source.kind !== "database" && !(s.source.kind === "composed" && [...s.source.template.matchAll(/\{([^{}]*)\}/g)].some((m) => dbProps.has(m[1]))));
    const env = fromKv.flatMap((s) => (s.source.kind === "supplied" && !s.supplied ? [] : s.properties)).filter((p) => p.env !== undefined);
    // Granted secrets: each read at its own shared path, under the consumer's name for it.
    const granted = app.granted.flatMap((g) => g.properties.filter((p) => p.env !== undefined).map((p) => ({ secretKey: p.env!, remoteRef: { key: g.kvPath, property: p.property } })));
    return {
        refreshInterval: config.kubernetes.externalSecrets.refreshInterval,
        secretStoreRef: { name: app.storeName, kind: config.kubernetes.externalSecrets.storeKind },
        target: {
            name: app.secretName,
            creationPolicy: "Owner",
            template: { metadata: { annotations: { "reloader.stakater.com/match": "true" } } },
        },
        data: [...env.map((p) => ({ secretKey: p.env!, remoteRef: { key: app.kvPath, property: p.property } })), ...granted],
    };
}

/** The store an app's ExternalSecret reads through: Vault KV v2, Kubernetes auth as the app's reader only. */
export function expectedStoreSpec(config: PlatformConfig, app: AppSpec): ISecretStoreSpec {
    const kind = config.kubernetes.externalSecrets.storeKind;
    const pem = config.kubernetes.externalSecrets.vaultCaBundlePem;
    const caProvider = config.kubernetes.externalSecrets.vaultCaProvider;
    return {
        ...(kind === "ClusterSecretStore" ? { conditions: [{ namespaces: [app.namespace] }] } : {}),
        provider: {
            vault: {
                server: config.vault.address,
                path: config.vault.kv.path,
                version: "v2",
                ...(pem ? { caBundle: Buffer.from(pem).toString("base64") } : {}),
                // Written out field by field: a ClusterSecretStore names the ConfigMap's namespace, a SecretStore may not.
                ...(caProvider
                    ? { caProvider: { type: caProvider.type, name: caProvider.name, key: caProvider.key, ...(kind === "ClusterSecretStore" ? { namespace: caProvider.namespace } : {}) } }
                    : {}),
                auth: {
                    kubernetes: {
                        mountPath: config.vault.kubernetesAuth.path,
                        role: `${app.name}-secrets-reader-${config.environment}`,
                        serviceAccountRef: {
                            name: app.readerServiceAccount,
                            namespace: app.namespace,
                            audiences: [config.vault.kubernetesAuth.audience, config.vault.kubernetesAuth.apiServerAudience],
                        },
                    },
                },
            },
        },
    };
}

/**
 * The audiences an EKS API server accepts on a bearer token (kube-apiserver `--api-audiences`): a
 * pod's default token on EKS carries exactly this `aud`. Written out here, not read from the
 * program's config, so a changed default fails the test.
 */
export const EKS_API_AUDIENCES = ["https://kubernetes.default.svc"];

/**
 * What Vault's Kubernetes auth does with a login token when no reviewer JWT is configured and Vault
 * runs outside the cluster (vault-plugin-auth-kubernetes; hashicorp/vault-secrets-operator#379,
 * cert-manager/cert-manager#6150): the role's `audience` must be in the token's `aud`; Vault then
 * POSTs a TokenReview with `spec.audiences: [<role audience>]` using the token itself as bearer, which
 * the API server authenticates only if the token carries one of its own audiences (else 401), and
 * only a bearer allowed to create TokenReviews (system:auth-delegator) gets past authorization (403).
 * Returns why the login fails, or undefined.
 */
export function vaultLoginFailure(token: { aud: string[]; bearerMayReview: boolean }, roleAudience: string, apiAudiences: string[]): string | undefined {
    if (!token.aud.includes(roleAudience)) return `Vault: aud ${JSON.stringify(token.aud)} lacks the role's audience ${roleAudience}`;
    if (!token.aud.some((a) => apiAudiences.includes(a))) return `API server: 401, aud ${JSON.stringify(token.aud)} has none of ${JSON.stringify(apiAudiences)}`;
    if (!token.bearerMayReview) return "API server: 403, the bearer may not create TokenReviews";
    // The review itself asks whether the token is valid for [<role audience>]: given the first check, it is.
    return undefined;
}

/** The assertions every stack shares. `run` returns the stack's single program run. */
export function sharedKubernetesChecks(stack: string, run: () => RunResult): void {
    const config = resolvedConfig(stack);
    const storeType = config.kubernetes.externalSecrets.storeKind === "ClusterSecretStore" ? TYPES.clusterSecretStore : TYPES.secretStore;
    /** Apps with a store and an ExternalSecret (delivery externalSecret or both). */
    const esApps = config.apps.filter(usesExternalSecret);

    it("every store and ExternalSecret validates against ESO's CRD schema, and has no field outside it", async () => {
        const validate = await esoValidators();
        const objects = kubernetesResources(run()).filter((r) => r.type.startsWith("kubernetes:external-secrets.io/"));
        const withDatabases = esApps.filter((a) => a.databases.length > 0).length;
        assert.equal(objects.length, 2 * esApps.length + withDatabases, "one store and one ExternalSecret per externalSecret-delivery app, and a database store per such app with databases");
        for (const r of objects) {
            const kind = r.inputs.kind as keyof typeof validate;
            assert.ok(validate[kind], `no validator for ${kind}`);
            validate[kind](r.inputs);
            assert.deepEqual(Object.keys(r.inputs).sort(), ["apiVersion", "kind", "metadata", "spec"]);
            assert.equal(r.inputs.apiVersion, "external-secrets.io/v1");
        }
    });

    it("the validators are live: they reject a store and an ExternalSecret ESO would reject", async () => {
        const validate = await esoValidators();
        const store = structuredClone(oneNamed(run(), storeType, esApps[0].storeName).inputs) as any;
        store.spec.provider.vault.version = "v3";
        assert.throws(() => validate[store.kind as "ClusterSecretStore"](store), /version/);
        const es = structuredClone(byType(run(), TYPES.externalSecret)[0].inputs) as any;
        es.spec.secretStoreRef.kind = "Store";
        assert.throws(() => validate.ExternalSecret(es), /kind/);
    });

    for (const app of esApps) {
        it(`${app.name}: one store, limited to its namespace, logging in to Vault with its own role and reader`, () => {
            const store = oneNamed(run(), storeType, app.storeName);
            assert.deepEqual(store.inputs.spec, expectedStoreSpec(config, app));
            const meta = store.inputs.metadata as { namespace?: string };
            assert.equal(meta.namespace, storeType === TYPES.secretStore ? app.namespace : undefined);
            const sa = oneNamed(run(), TYPES.serviceAccount, app.readerServiceAccount, app.namespace);
            assert.equal(sa.inputs.automountServiceAccountToken, false, "only ESO uses the reader, through TokenRequest");
        });

        it(`${app.name}: the reader's token passes Vault's audience check and the API server's TokenReview with itself as bearer`, () => {
            const store = oneNamed(run(), storeType, app.storeName);
            const ref = (store.inputs.spec as any).provider.vault.auth.kubernetes.serviceAccountRef as { name: string; namespace: string; audiences: string[] };
            // Vault's audience first, the API server's second, nothing else (each extra audience widens the token).
            assert.deepEqual(ref.audiences, [stackSetting(stack, "vault").kubernetesAuth.audience, ...EKS_API_AUDIENCES]);
            assert.equal(ref.audiences[0], "vault");
            // The Vault role this store logs in with (registered by the Vault component in the same run).
            const role = byType(run(), "vault:kubernetes/authBackendRole:AuthBackendRole").find((r) => r.inputs.roleName === (store.inputs.spec as any).provider.vault.auth.kubernetes.role);
            assert.ok(role, `no Vault role for ${app.storeName}`);
            assert.equal(role.inputs.audience, "vault", "the Vault role still requires the Vault audience, not the API server's");
            assert.deepEqual(role.inputs.boundServiceAccountNames, [ref.name]);
            assert.deepEqual(role.inputs.boundServiceAccountNamespaces, [ref.namespace]);
            // The bearer is the reader itself: it needs the auth-delegator binding.
            const bearerMayReview = byType(run(), TYPES.clusterRoleBinding).some(
                (b) =>
                    (b.inputs.roleRef as { name: string }).name === "system:auth-delegator" &&
                    (b.inputs.subjects as { kind: string; name: string; namespace: string }[]).some((s) => s.kind === "ServiceAccount" && s.name === ref.name && s.namespace === ref.namespace),
            );
            const roleAudience = String(role.inputs.audience);
            assert.equal(vaultLoginFailure({ aud: ref.audiences, bearerMayReview }, roleAudience, EKS_API_AUDIENCES), undefined);
            // The model is live: the Vault audience alone is what failed at the first real login.
            assert.match(vaultLoginFailure({ aud: [roleAudience], bearerMayReview }, roleAudience, EKS_API_AUDIENCES) ?? "", /401/);
            assert.match(vaultLoginFailure({ aud: EKS_API_AUDIENCES, bearerMayReview }, roleAudience, EKS_API_AUDIENCES) ?? "", /lacks the role's audience/);
            assert.match(vaultLoginFailure({ aud: ref.audiences, bearerMayReview: false }, roleAudience, EKS_API_AUDIENCES) ?? "", /403/);
        });

        it(`${app.name}: Vault may review the reader's own token (system:auth-delegator for it alone)`, () => {
            const bindings = byType(run(), TYPES.clusterRoleBinding).filter((b) =>
                (b.inputs.subjects as { name: string; namespace: string }[]).some((s) => s.name === app.readerServiceAccount && s.namespace === app.namespace),
            );
            assert.equal(bindings.length, 1);
            assert.deepEqual(bindings[0].inputs.roleRef, { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "system:auth-delegator" });
            assert.deepEqual(bindings[0].inputs.subjects, [{ kind: "ServiceAccount", name: app.readerServiceAccount, namespace: app.namespace }]);
            // The store waits for the binding: ESO validates a store by logging in.
            assert.ok(oneNamed(run(), storeType, app.storeName).options.dependsOn?.includes(bindings[0].urn));
        });

        it(`${app.name}: one ExternalSecret in its namespace, every env var mapped to its Vault property, at the runbook's path`, () => {
            const es = oneNamed(run(), TYPES.externalSecret, app.secretName, app.namespace);
            const spec = es.inputs.spec as IExternalSecretSpec & { data: { sourceRef?: { storeRef: { name: string; kind: string } }; secretKey: string; remoteRef: { key: string; property: string } }[]; target: { template: Record<string, unknown> } };
            const fromKv = spec.data.filter((d) => !d.sourceRef && !d.secretKey.startsWith("_ref_"));
            const { data: _d, engineVersion: _e, mergePolicy: _m, ...templateRest } = spec.target.template as Record<string, unknown>;
            assert.deepEqual({ ...spec, data: fromKv, target: { ...spec.target, template: templateRest } }, expectedExternalSecretSpec(config, app));
            // Its own path, and the shared path of each secret granted to it: nothing else.
            const readable = [app.vaultDataPath, ...app.granted.map((g) => g.vaultDataPath)];
            for (const d of spec.data.filter((x) => !x.sourceRef && !x.secretKey.startsWith("_ref_"))) {
                assert.ok(readable.includes(esoVaultReadPath(config.vault.kv.path, d.remoteRef.key)), `${app.name} reads ${d.remoteRef.key}`);
            }
            // Database credentials: from the app's database store, one static role (the active slot) per database.
            for (const db of app.databases) {
                const entries = spec.data.filter((d) => d.sourceRef && [`static-creds/${db.roleNames.a}`, `static-creds/${db.roleNames.b}`].includes(d.remoteRef.key));
                const expected = app.secrets.filter((s) => s.source.kind === "database" && s.source.database === db.name);
                assert.equal(entries.length, expected.length, `${db.name}: one entry per catalog credential`);
                assert.equal(new Set(entries.map((e) => e.remoteRef.key)).size, 1, `${db.name}: username and password of one user`);
                for (const e of entries) assert.deepEqual(e.sourceRef, { storeRef: { name: `${app.storeName}-database`, kind: config.kubernetes.externalSecrets.storeKind } });
            }
            assert.equal(spec.data.filter((d) => d.sourceRef).length, app.secrets.filter((s) => s.source.kind === "database").length, "nothing else from the database store");
            const exposed = app.secrets.filter((s) => !(s.source.kind === "supplied" && !s.supplied)).flatMap((s) => s.properties).filter((p) => p.env !== undefined).map((p) => p.env!).sort();
            const templateData = (spec.target.template as { data?: Record<string, string> }).data;
            if (templateData) assert.deepEqual(Object.keys(templateData).sort(), exposed, "the template writes exactly the exposed keys");
            assert.match(forceSyncOf(run(), app), /^[0-9a-f]{16}$/);
        });
    }

    it("force-sync changes when, and only when, that app's data changes (before and after a rotation)", async () => {
        const nemo = config.apps.find((a) => a.name === "nemo-server")!;
        const soma = config.apps.find((a) => a.name === "soma-memory")!;
        const rotated = stackConfig(stack);
        const rotation = (rotated[`${projectName}:rotation`] ??= {});
        rotation.generations = { ...rotation.generations, "nemo-server/session_key": (rotation.generations?.["nemo-server/session_key"] ?? 0) + 1 };
        const again = await runStack(stack);
        const after = await runStack(stack, { config: rotated });
        const session = (r: RunResult) => reveal(byType(r, "random:index/randomBytes:RandomBytes").find((x) => x.name === "nemo-server-session_key-value")!.outputs.base64);
        assert.notEqual(session(after), session(run()), "the bump did not rotate nemo-server's session_key");

        assert.equal(forceSyncOf(again, nemo), forceSyncOf(run(), nemo), "an unchanged run must not re-sync");
        assert.equal(forceSyncOf(again, soma), forceSyncOf(run(), soma));
        assert.notEqual(forceSyncOf(after, nemo), forceSyncOf(run(), nemo), "nemo-server's data changed: its ExternalSecret must re-sync");
        assert.equal(forceSyncOf(after, soma), forceSyncOf(run(), soma), "soma-memory's data did not change");
        // The annotation is the only change: the spec ESO reads stays as it was.
        for (const app of [nemo, soma]) {
            assert.deepEqual(oneNamed(after, TYPES.externalSecret, app.secretName, app.namespace).inputs.spec, oneNamed(run(), TYPES.externalSecret, app.secretName, app.namespace).inputs.spec);
        }
        // Derived from the data version, never from a value.
        const valueHashes = new Set([...secretValues(run()), ...secretValues(after)].map(shortSha));
        for (const r of [run(), after]) for (const app of esApps) assert.ok(!valueHashes.has(forceSyncOf(r, app)));
    });

    it("ClusterRoleBindings are only the readers' and the vault-delivery workloads' auth-delegator bindings", () => {
        const bindings = byType(run(), TYPES.clusterRoleBinding);
        const subjects = bindings.map((b) => (b.inputs.subjects as { namespace: string; name: string }[]).map((x) => `${x.namespace}/${x.name}`).join(",")).sort();
        const expected = [...esApps.map((a) => `${a.namespace}/${a.readerServiceAccount}`), ...config.apps.filter(usesVaultLogin).flatMap((a) => a.workloadServiceAccounts.map((sa) => `${a.namespace}/${sa}`))].sort();
        assert.deepEqual(subjects, expected);
        for (const b of bindings) assert.equal((b.inputs.roleRef as { name: string }).name, "system:auth-delegator");
    });

    it("Reloader's annotations go where Reloader reads them: match on the Secret, never auto on a Secret", () => {
        for (const r of kubernetesResources(run())) {
            const text = JSON.stringify(r.inputs);
            assert.ok(!text.includes("reloader.stakater.com/auto"), `${r.name} carries reloader.stakater.com/auto`);
            assert.ok(!text.includes("reloader.stakater.com/search"), `${r.name} carries search (it belongs on the apps' workloads)`);
        }
        const matched = byType(run(), TYPES.externalSecret).map((es) => (es.inputs.spec as any).target.template.metadata.annotations["reloader.stakater.com/match"]);
        assert.deepEqual(matched, esApps.map(() => "true"));
    });

    it("Reloader: chart, version, repository, namespace, HA, replicas, resources and watchGlobally follow the stack file", () => {
        const file = stackSetting(stack, "reloader");
        const release = releaseOf(run(), "reloader");
        assert.ok(release, "no Reloader release");
        assert.equal(release.inputs.name, "reloader");
        assert.equal(release.inputs.version, file.chartVersion);
        assert.deepEqual(release.inputs.repositoryOpts, { repo: "https://stakater.github.io/stakater-charts" });
        assert.equal(release.inputs.namespace, file.namespace);
        assert.equal(file.namespace, "kube-utilities");
        // Helm creates the shared namespace if missing and never deletes it; no Namespace resource owns it.
        assert.equal(release.inputs.createNamespace, true);
        assert.deepEqual(byType(run(), TYPES.namespace).filter((n) => (n.inputs.metadata as any).name === file.namespace), []);
        assert.deepEqual(release.inputs.values, {
            reloader: {
                reloadStrategy: "annotations",
                watchGlobally: file.watchGlobally,
                enableHA: file.ha,
                deployment: { replicas: file.replicas, resources: file.resources },
            },
        });
    });

    it("every Kubernetes resource names the stack's Kubernetes provider", () => {
        const provider = run().resources.filter((r) => r.type === "pulumi:providers:kubernetes");
        assert.equal(provider.length, 1);
        const resources = kubernetesResources(run());
        assert.ok(resources.length >= 5 * config.apps.length);
        for (const r of resources) assert.ok(r.provider?.startsWith(`${provider[0].urn}::`), `${r.urn} uses ${r.provider ?? "the default provider"}`);
    });

    it("every Kubernetes object is named by the program and replaced delete-first (a create-first replacement deletes the object it just upserted)", () => {
        // pulumi-kubernetes applies a "new" object onto the existing one of the same name, then deletes
        // the old: create-first, the object is gone from the cluster (e2e scenario g, real API server).
        const resources = kubernetesResources(run());
        assert.ok(resources.length > 0);
        for (const r of resources) {
            const named = r.type === TYPES.release ? r.inputs.name : (r.inputs.metadata as { name?: unknown } | undefined)?.name;
            assert.equal(typeof named, "string", `${r.urn} has no fixed name`);
            assert.equal(r.options.deleteBeforeReplace, true, `${r.urn} is replaced create-first`);
        }
    });

    it("no secret value appears in any Kubernetes resource's inputs, in plaintext or secret-wrapped", () => {
        const secrets = secretValues(run());
        assert.ok(secrets.length >= 10, `only ${secrets.length} secret values found: the check would be vacuous`);
        const needles = secrets.flatMap((s) => [s, encodeURIComponent(s)]);
        for (const r of kubernetesResources(run())) {
            assert.deepEqual(plaintextStrings(r.inputs), plaintextStrings(reveal(r.inputs)), `${r.name} has secret-wrapped inputs`);
            for (const { path, value } of plaintextStrings(r.inputs)) {
                for (const n of needles) assert.ok(!value.includes(n), `${r.name} ${path} contains a secret value`);
            }
        }
        assert.equal(byType(run(), "kubernetes:core/v1:Secret").length, 0, "values reach the cluster only through ESO");
    });

    it("backup ServiceAccounts carry their own IRSA role; the stack output lists every target", () => {
        const [, partition, , , account] = config.aws!.eks.oidcProviderArn.split(":");
        const outputs = run().outputs.backupServiceAccounts as Record<string, Record<string, { serviceAccount: string; namespace: string; roleArn: string; managed: boolean }>>;
        for (const app of config.apps) {
            for (const b of app.backups) {
                const arn = `arn:${partition}:iam::${account}:role/${app.name}-${b.target}-backup-${config.environment}`;
                assert.deepEqual(outputs[app.name][b.target], { namespace: app.namespace, serviceAccount: b.serviceAccount, roleArn: arn, managed: b.manageServiceAccount });
                const sa = oneNamed(run(), TYPES.serviceAccount, b.serviceAccount, app.namespace);
                assert.deepEqual((sa.inputs.metadata as any).annotations, { "eks.amazonaws.com/role-arn": arn });
            }
        }
        // The workloads' ServiceAccounts are their charts': this program binds them, never creates them.
        const expected = config.apps.reduce((n, a) => n + (usesExternalSecret(a) ? 1 : 0) + a.backups.length, 0);
        assert.equal(byType(run(), TYPES.serviceAccount).length, expected, "readers and backup accounts only");
    });
}

/** sha256 prefix, to show a force-sync value is not a value's hash. */
export function shortSha(s: string): string {
    return createHash("sha256").update(s).digest("hex").slice(0, 16);
}
