/**
 * Kubernetes, staging: the shared checks, plus staging's store on its own Vault and auth mount with
 * staging's roles, Reloader in HA as in prod, and the cluster's own External Secrets Operator.
 */
import { usesExternalSecret } from "../components/config/model";
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { kubernetesResources, oneNamed, releaseOf, resolvedConfig, sharedKubernetesChecks, TYPES } from "./kubernetesChecks";
import { byType, RunResult, runStack } from "./support";

describe("kubernetes (staging)", () => {
    let result: RunResult;
    before(async () => {
        result = await runStack("staging");
    });
    const run = () => result;
    const config = resolvedConfig("staging");

    sharedKubernetesChecks("staging", run);

    it("every ExternalSecret reads its app's staging path, never prod's or dev's", () => {
        for (const app of config.apps.filter(usesExternalSecret)) {
            const spec = oneNamed(run(), TYPES.externalSecret, app.secretName, app.namespace).inputs.spec as any;
            // Its own staging path, or the staging shared path of a secret granted to it.
            const keys = [`shared-infra/${app.name}/staging`, ...app.granted.map((g) => g.kvPath)];
            for (const g of app.granted) assert.match(g.kvPath, /^shared-infra\/[a-z0-9-]+\/staging\/shared\//);
            for (const d of spec.data) {
                // Database users (docs/database-credentials.md): staging's own static roles, through the database store.
                if (d.sourceRef) assert.match(d.remoteRef.key, new RegExp(`^static-creds/${app.name}-[a-z0-9]+-staging-[ab]$`), `${app.name}/${d.secretKey}`);
                else assert.ok(keys.includes(d.remoteRef.key), `${app.name}/${d.secretKey}: ${d.remoteRef.key}`);
            }
            assert.equal(spec.refreshInterval, "1h");
        }
        // nemo-server's target Secret carries the environment in its name, as dev's and prod's do.
        oneNamed(run(), TYPES.externalSecret, "nemo-server-runtime-secrets-staging", "nemo-server");
    });

    it("soma-memory's store logs in as soma-memory's reader with the staging role, on staging's own Vault and auth mount", () => {
        const vault = (oneNamed(run(), TYPES.clusterSecretStore, "soma-vault-store").inputs.spec as any).provider.vault;
        assert.equal(vault.server, "https://vault.staging.platform.internal:8200");
        assert.deepEqual(vault.auth.kubernetes, {
            mountPath: "kubernetes-staging",
            role: "soma-memory-secrets-reader-staging",
            serviceAccountRef: { name: "soma-memory-secrets-reader", namespace: "soma-memory", audiences: ["vault", "https://kubernetes.default.svc"] },
        });
    });

    it("Reloader runs HA as in prod: leader election and two replicas", () => {
        const values = releaseOf(run(), "reloader")!.inputs.values as any;
        assert.equal(values.reloader.enableHA, true);
        assert.equal(values.reloader.deployment.replicas, 2);
    });

    it("ESO is the cluster's own and the app namespaces exist already: no ESO release, no namespace", () => {
        assert.equal(releaseOf(run(), "external-secrets"), undefined);
        assert.deepEqual(byType(run(), TYPES.namespace), []);
        assert.equal(byType(run(), TYPES.release).length, 1);
        for (const r of kubernetesResources(run())) assert.equal(r.options.dependsOn?.some((d) => d.includes("helm.sh")) ?? false, false, r.name);
    });
});
