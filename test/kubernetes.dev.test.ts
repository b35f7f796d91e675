/**
 * Kubernetes, dev: the shared checks, plus the External Secrets Operator installed by this program
 * (stores and ExternalSecrets wait for it), namespaces created, and the config branches prod does
 * not take (namespaced SecretStores, a Vault CA bundle, EKS Pod Identity, a chart-owned backup
 * ServiceAccount, Reloader off) in one variant run.
 */
import { usesExternalSecret } from "../components/config/model";
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { projectName } from "../tools/harness/stackConfig";
import { esoValidators, expectedStoreSpec, kubernetesResources, oneNamed, releaseOf, resolvedConfig, sharedKubernetesChecks, stackSetting, TYPES } from "./kubernetesChecks";
import { registeredBeforeFailure } from "../tools/harness/run";
import { byType, RunResult, runStack, stackConfig, TEST_CA_PEM } from "./support";

describe("kubernetes (dev)", () => {
    let result: RunResult;
    before(async () => {
        result = await runStack("dev");
    });
    const run = () => result;
    const config = resolvedConfig("dev");

    sharedKubernetesChecks("dev", run);

    it("installs ESO from its chart at the stack's pinned version, with its CRDs", () => {
        const install = stackSetting("dev", "kubernetes").externalSecrets.install;
        const release = releaseOf(run(), "external-secrets");
        assert.ok(release, "no ESO release");
        assert.equal(release.inputs.version, install.chartVersion);
        assert.equal(release.inputs.version, "2.14.0");
        assert.equal(release.inputs.namespace, install.namespace);
        assert.deepEqual(release.inputs.repositoryOpts, { repo: "https://charts.external-secrets.io" });
        assert.deepEqual(release.inputs.values, { installCRDs: true });
        assert.equal(release.inputs.createNamespace, true, "Helm creates its namespace; no Namespace resource owns it");
    });

    it("every store and ExternalSecret waits for the ESO release (its CRDs and webhook)", () => {
        const release = releaseOf(run(), "external-secrets")!;
        const esoObjects = kubernetesResources(run()).filter((r) => r.type.startsWith("kubernetes:external-secrets.io/"));
        // A store and an ExternalSecret per externalSecret-delivery app, and a database store per such app with databases.
        assert.equal(esoObjects.length, 2 * config.apps.filter(usesExternalSecret).length + config.apps.filter((a) => usesExternalSecret(a) && a.databases.length > 0).length);
        for (const r of esoObjects) assert.ok(r.options.dependsOn?.includes(release.urn), `${r.name} does not wait for ESO`);
    });

    it("Reloader runs one replica without leader election, with dev's requests and limits", () => {
        const values = releaseOf(run(), "reloader")!.inputs.values as any;
        assert.equal(values.reloader.enableHA, false);
        assert.equal(values.reloader.deployment.replicas, 1);
        assert.deepEqual(values.reloader.deployment.resources, { requests: { cpu: "10m", memory: "64Mi" }, limits: { cpu: "100m", memory: "256Mi" } });
    });

    it("creates the app namespaces (manageNamespace), unprotected in dev, and the ExternalSecrets in them", () => {
        const names = byType(run(), TYPES.namespace).map((n) => (n.inputs.metadata as any).name).sort();
        assert.deepEqual(names, ["gateway", "nemo-server", "soma-memory", "web"], "only the app namespaces the stack manages");
        for (const app of config.apps) {
            const ns = oneNamed(run(), TYPES.namespace, app.namespace);
            assert.equal(ns.options.protect, undefined);
            if (usesExternalSecret(app)) assert.equal((oneNamed(run(), TYPES.externalSecret, app.secretName).inputs.metadata as any).namespace, app.namespace);
        }
    });

    it("refuses a Vault audience equal to the API server's: every API token of a reader would log in to Vault", async () => {
        const variant = stackConfig("dev");
        variant[`${projectName}:vault`].kubernetesAuth.audience = "https://kubernetes.default.svc";
        // A config rule now, so nothing is registered before it fails.
        const error = await runStack("dev", { config: variant }).then(() => assert.fail("accepted"), (e: Error) => e);
        assert.equal(error.name, "ConfigError");
        assert.match(error.message, /platform-secrets:vault\.kubernetesAuth\.audience: must differ from vault\.kubernetesAuth\.apiServerAudience/);
        assert.deepEqual(registeredBeforeFailure(error).filter((r) => r.type !== "pulumi:pulumi:Stack"), []);
    });

    describe("variant: SecretStores, a Vault CA bundle, Pod Identity, a chart-owned backup account, no Reloader, no ESO install", () => {
        const PEM = TEST_CA_PEM;
        const variant = stackConfig("dev");
        const k = variant[`${projectName}:kubernetes`];
        const { vaultCaProvider: _inCluster, ...eso } = k.externalSecrets;
        k.externalSecrets = { ...eso, storeKind: "SecretStore", vaultCaBundlePem: PEM, install: { enabled: false } };
        variant[`${projectName}:reloader`] = { ...variant[`${projectName}:reloader`], enabled: false };
        variant[`${projectName}:aws`] = { ...variant[`${projectName}:aws`], identity: "pod-identity" };
        variant[`${projectName}:apps`]["soma-memory"].backups.qdrant = { serviceAccount: "soma-memory-backup-qdrant", manageServiceAccount: false };
        const vconfig = resolvedConfig("dev", variant);
        let v: RunResult;
        before(async () => {
            v = await runStack("dev", { config: variant });
        });

        it("one SecretStore per app in the app's namespace, without conditions, valid for ESO, with the CA bundle as base64", async () => {
            const validate = await esoValidators();
            assert.equal(byType(v, TYPES.clusterSecretStore).length, 0);
            for (const app of vconfig.apps.filter(usesExternalSecret)) {
                const store = oneNamed(v, TYPES.secretStore, app.storeName, app.namespace);
                validate.SecretStore(store.inputs);
                assert.deepEqual(store.inputs.spec, expectedStoreSpec(vconfig, app));
                assert.equal(Buffer.from((store.inputs.spec as any).provider.vault.caBundle, "base64").toString("utf8"), PEM);
                const es = oneNamed(v, TYPES.externalSecret, app.secretName, app.namespace);
                validate.ExternalSecret(es.inputs);
                assert.deepEqual((es.inputs.spec as any).secretStoreRef, { name: app.storeName, kind: "SecretStore" });
            }
        });

        it("no ESO or Reloader release, and nothing waits for one", () => {
            assert.equal(byType(v, TYPES.release).length, 0);
            for (const r of kubernetesResources(v)) assert.equal(r.options.dependsOn?.some((d) => d.includes("helm.sh")) ?? false, false, r.name);
        });

        it("a chart-owned backup account is only exported; a managed one carries no IRSA annotation under Pod Identity", () => {
            const out = (v.outputs.backupServiceAccounts as any)["soma-memory"];
            assert.equal(out.qdrant.managed, false);
            assert.match(out.qdrant.roleArn, /^arn:aws:iam::111122223333:role\/soma-memory-qdrant-backup-dev$/);
            const accounts = byType(v, TYPES.serviceAccount).map((s) => (s.inputs.metadata as any).name);
            assert.ok(!accounts.includes("soma-memory-backup-qdrant"));
            const postgres = oneNamed(v, TYPES.serviceAccount, "soma-memory-backup-postgres", "soma-memory");
            assert.deepEqual((postgres.inputs.metadata as any).annotations, {});
        });
    });
});
