/**
 * Kubernetes, prod: the shared checks, plus runbook 001's ExternalSecret for soma-memory, Reloader
 * in HA, and an External Secrets Operator the cluster already runs (not installed here).
 */
import { usesExternalSecret, usesVaultLogin } from "../components/config/model";
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { parse } from "yaml";
import { esoVaultReadPath, kubernetesResources, oneNamed, releaseOf, resolvedConfig, sharedKubernetesChecks, TYPES } from "./kubernetesChecks";
import { byType, RunResult, runStack } from "./support";

/** Runbook 001 §3.3, the fragment as the runbook gives it (Helm values of the app's chart). */
const RUNBOOK_001_FRAGMENT = `
externalSecret:
  enabled: true
  secretStoreRef:
    name: soma-vault-store
    kind: ClusterSecretStore
  data:
    - secretKey: SOMA_API_TOKEN
      remoteRef:
        key: secret/data/shared-infra/soma-memory/prod
        property: soma_api_token
    - secretKey: POSTGRES_URL
      remoteRef:
        key: secret/data/shared-infra/soma-memory/prod
        property: postgres_dsn
    - secretKey: REDIS_URL
      remoteRef:
        key: secret/data/shared-infra/soma-memory/prod
        property: redis_url
    - secretKey: QDRANT_URL
      remoteRef:
        key: secret/data/shared-infra/soma-memory/prod
        property: qdrant_url
    - secretKey: KAFKA_BOOTSTRAP_SERVERS
      remoteRef:
        key: secret/data/shared-infra/soma-memory/prod
        property: kafka_bootstrap_servers
  target:
    name: soma-memory-runtime-secrets
    template:
      metadata:
        annotations:
          reloader.stakater.com/auto: "true"
`;

describe("kubernetes (prod)", () => {
    let result: RunResult;
    before(async () => {
        result = await runStack("prod");
    });
    const run = () => result;
    const config = resolvedConfig("prod");

    sharedKubernetesChecks("prod", run);

    it("soma-memory's ExternalSecret is runbook 001's fragment in substance", () => {
        const runbook = (parse(RUNBOOK_001_FRAGMENT) as { externalSecret: any }).externalSecret;
        const es = oneNamed(run(), TYPES.externalSecret, "soma-memory-runtime-secrets", "soma-memory");
        const spec = es.inputs.spec as any;
        assert.deepEqual(spec.secretStoreRef, runbook.secretStoreRef);
        assert.equal(spec.target.name, runbook.target.name);
        // §4's TLS keys (files and settings) sit in the same Secret beside §3.3's five.
        const tlsKeys = [
            ["POSTGRES_SSL_ROOT_CERT", "postgres_ssl_root_cert"],
            ["POSTGRES_SSL_CERT", "postgres_client_cert"],
            ["POSTGRES_SSL_KEY", "postgres_client_cert_private_key"],
            ["QDRANT_TLS", "qdrant_tls"],
            ["QDRANT_TLS_CA_PATH", "qdrant_tls_ca"],
            ["KAFKA_SECURITY_PROTOCOL", "kafka_security_protocol"],
            ["KAFKA_SASL_MECHANISM", "kafka_sasl_mechanism"],
            ["KAFKA_SASL_USERNAME", "kafka_sasl_username"],
            ["KAFKA_SASL_PASSWORD", "kafka_sasl_password"],
            ["KAFKA_SSL_CA_LOCATION", "kafka_ssl_ca_location"],
        ];
        // The Secret holds the runbook's keys and §4's, exactly (the template writes them, mergePolicy Replace).
        assert.deepEqual(Object.keys(spec.target.template.data).sort(), [...runbook.data.map((d: any) => d.secretKey), ...tlsKeys.map((k) => k[0])].sort());
        assert.equal(spec.target.template.mergePolicy, "Replace");
        // The KV ones read the runbook's properties; the runbook names the full KV v2 data path, and the
        // store's `path: secret` makes ESO read the same path from the key relative to the mount.
        const fromKv = spec.data.filter((d: any) => !d.sourceRef);
        const runbookKv = runbook.data.filter((r: any) => ["KAFKA_BOOTSTRAP_SERVERS", "QDRANT_URL", "SOMA_API_TOKEN"].includes(r.secretKey));
        assert.deepEqual(
            fromKv.map((d: any) => [d.secretKey, d.remoteRef.property]).sort(),
            [...runbookKv.map((r: any) => [r.secretKey, r.remoteRef.property]), ...tlsKeys].sort(),
        );
        for (const d of fromKv) assert.equal(esoVaultReadPath("secret", d.remoteRef.key), runbook.data[0].remoteRef.key);
        for (const r of runbook.data) assert.equal(esoVaultReadPath("secret", r.remoteRef.key), r.remoteRef.key);
        // The deliberate difference (issue 17): POSTGRES_URL and REDIS_URL are composed by ESO from the
        // active database user's static-creds (docs/database-credentials.md), with TLS, not stored in KV.
        assert.match(spec.target.template.data.POSTGRES_URL, /^postgresql:\/\/\{\{ index \. "_ref_postgres_user" \| urlquery \}\}:.*\?sslmode=require$/);
        assert.match(spec.target.template.data.REDIS_URL, /^rediss:\/\/\{\{ index \. "_ref_redis_user" \| urlquery \}\}:/);
        assert.deepEqual([...new Set(spec.data.filter((d: any) => d.sourceRef).map((d: any) => d.sourceRef.storeRef.name))], ["soma-vault-store-database"]);
        const store = oneNamed(run(), TYPES.clusterSecretStore, "soma-vault-store");
        assert.equal((store.inputs.spec as any).provider.vault.path, "secret");
        // The deliberate difference: `auto` belongs on workloads; on the Secret Reader reads `match`.
        assert.deepEqual(spec.target.template.metadata.annotations, { "reloader.stakater.com/match": "true" });
        assert.equal(spec.refreshInterval, "1h");
    });

    it("soma-memory's store logs in as soma-memory's reader with the prod role, on the prod auth mount", () => {
        const vault = (oneNamed(run(), TYPES.clusterSecretStore, "soma-vault-store").inputs.spec as any).provider.vault;
        assert.equal(vault.server, "https://vault.prod.platform.internal:8200");
        assert.deepEqual(vault.auth.kubernetes, {
            mountPath: "kubernetes-prod",
            role: "soma-memory-secrets-reader-prod",
            serviceAccountRef: { name: "soma-memory-secrets-reader", namespace: "soma-memory", audiences: ["vault", "https://kubernetes.default.svc"] },
        });
    });

    it("Reloader runs HA: leader election and two replicas, with prod's requests and limits", () => {
        const values = releaseOf(run(), "reloader")!.inputs.values as any;
        assert.equal(values.reloader.enableHA, true);
        assert.equal(values.reloader.deployment.replicas, 2);
        assert.deepEqual(values.reloader.deployment.resources, { requests: { cpu: "50m", memory: "128Mi" }, limits: { cpu: "200m", memory: "512Mi" } });
        assert.equal(releaseOf(run(), "reloader")!.inputs.version, "2.2.16");
    });

    it("ESO is the cluster's own: no release here, and nothing waits for one", () => {
        assert.equal(releaseOf(run(), "external-secrets"), undefined);
        for (const r of kubernetesResources(run())) assert.equal(r.options.dependsOn?.some((d) => d.includes("helm.sh")) ?? false, false, r.name);
    });

    it("creates exactly what prod needs: the app namespaces exist already, kube-utilities comes with Helm", () => {
        const count = (type: string) => byType(run(), type).length;
        assert.deepEqual(byType(run(), TYPES.namespace), []);
        // One store per externalSecret-delivery app, and one on the database mount per such app with databases.
        assert.equal(count(TYPES.clusterSecretStore), config.apps.filter(usesExternalSecret).length + config.apps.filter((a) => usesExternalSecret(a) && a.databases.length > 0).length);
        assert.equal(count(TYPES.secretStore), 0);
        assert.equal(count(TYPES.externalSecret), config.apps.filter(usesExternalSecret).length);
        assert.equal(count(TYPES.release), 1);
        const types = new Set(kubernetesResources(run()).map((r) => r.type));
        // ConfigMap, Role and RoleBinding: the vault-delivery apps' login settings and TokenRequest rights (test/deliveryChecks.ts).
        const vaultRbac = ["kubernetes:core/v1:ConfigMap", "kubernetes:rbac.authorization.k8s.io/v1:Role", "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"];
        assert.deepEqual([...types].sort(), [TYPES.serviceAccount, TYPES.clusterRoleBinding, TYPES.clusterSecretStore, TYPES.externalSecret, TYPES.release, ...vaultRbac].sort());
        assert.equal(count("kubernetes:core/v1:ConfigMap"), config.apps.filter(usesVaultLogin).length);
        // The ExternalSecrets land in the referenced namespaces.
        for (const app of config.apps.filter(usesExternalSecret)) assert.equal((oneNamed(run(), TYPES.externalSecret, app.secretName).inputs.metadata as any).namespace, app.namespace);
    });
});
