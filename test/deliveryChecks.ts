/**
 * Issue 14's shared checks, per stack (test/delivery.<stack>.test.ts): `vault` delivery (runbook
 * 000), secrets granted across apps (runbook 002's access patterns) and derived JWT keys. Every
 * assertion reads what the program registered: Vault policies parsed with @cdktf/hcl2json
 * (test/vaultChecks.ts), tokens verified with node:crypto's HMAC here, not with the program's code.
 */
import assert from "node:assert/strict";
import { createHmac, timingSafeEqual } from "node:crypto";
import { before, describe, it } from "node:test";
import { AppSpec, PlatformConfig, usesExternalSecret, usesVaultLogin } from "../components/config/model";
import { projectName } from "../tools/harness/stackConfig";
import { EKS_API_AUDIENCES, TYPES, vaultLoginFailure } from "./kubernetesChecks";
import { byType, plaintextStrings, programResources, resolvedConfig, reveal, RunResult, runStack, SecretValue, stackConfig } from "./support";
import { granted, parsePolicy, sharedSecrets, T } from "./vaultChecks";

const CONFIG_MAP = "kubernetes:core/v1:ConfigMap";
const ROLE = "kubernetes:rbac.authorization.k8s.io/v1:Role";
const ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding";

export interface DeliveryExpectations {
    stack: "dev" | "staging" | "prod";
    /** soma-memory's delivery in this stack (runbooks 000 and 001). */
    somaDelivery: "externalSecret" | "vault" | "both";
}

/** An HS256 JWT's payload if its signature verifies with `key` (UTF-8 bytes), else undefined: node:crypto, independent of the program. */
export function hs256Payload(token: string, key: string): Record<string, unknown> | undefined {
    const [header, payload, signature, ...rest] = token.split(".");
    if (rest.length > 0 || signature === undefined) return undefined;
    assert.deepEqual(JSON.parse(Buffer.from(header, "base64url").toString("utf8")), { alg: "HS256", typ: "JWT" });
    const expected = createHmac("sha256", Buffer.from(key, "utf8")).update(`${header}.${payload}`).digest();
    const given = Buffer.from(signature, "base64url");
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    return JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as Record<string, unknown>;
}

/** A KV secret's data as the program wrote it (revealed: the test reads what Vault would hold). */
function kvData(r: RunResult, kvPath: string): Record<string, string> {
    const found = byType(r, T.kvSecret).filter((s) => s.inputs.name === kvPath);
    assert.equal(found.length, 1, `one KV secret at ${kvPath}`);
    assert.ok(found[0].inputs.dataJson instanceof SecretValue, `${kvPath}: dataJson must be secret`);
    return JSON.parse(String(reveal(found[0].inputs.dataJson))) as Record<string, string>;
}

function kvVersion(r: RunResult, kvPath: string): string {
    return (byType(r, T.kvSecret).find((s) => s.inputs.name === kvPath)!.outputs.metadata as Record<string, string>).version;
}

function labelled(r: RunResult, app: string) {
    return r.resources.filter((x) => x.type.startsWith("kubernetes:") && (x.inputs.metadata as { labels?: Record<string, string> } | undefined)?.labels?.["platform-secrets/app"] === app);
}

function configMapOf(r: RunResult, app: AppSpec) {
    const found = byType(r, CONFIG_MAP).filter((c) => (c.inputs.metadata as { name: string; namespace: string }).name === app.vaultLogin.configMapName);
    assert.equal(found.length, 1, `${app.name}: one login ConfigMap`);
    return found[0];
}

function forceSync(r: RunResult, app: AppSpec): string {
    const es = byType(r, TYPES.externalSecret).find((x) => (x.inputs.metadata as { name: string; namespace: string }).name === app.secretName && (x.inputs.metadata as { namespace: string }).namespace === app.namespace);
    assert.ok(es, `${app.name}: no ExternalSecret`);
    return (es.inputs.metadata as { annotations: Record<string, string> }).annotations["force-sync"];
}

export function describeDelivery(exp: DeliveryExpectations): void {
    const { stack } = exp;
    const config: PlatformConfig = resolvedConfig(stack);
    const app = (name: string) => {
        const a = config.apps.find((x) => x.name === name);
        assert.ok(a, `${stack} has no app ${name}`);
        return a;
    };

    describe(`vault delivery, grants and derived keys (${stack})`, () => {
        let result: RunResult;
        const policies = new Map<string, Map<string, string[]>>();
        before(async () => {
            result = await runStack(stack);
            for (const r of byType(result, T.policy)) policies.set(String(r.inputs.name), await parsePolicy(String(r.inputs.name), String(r.inputs.policy)));
        });

        describe("vault delivery (runbook 000)", () => {
            it(`soma-memory delivers ${exp.somaDelivery}, gateway vault, the web front end through its ExternalSecret`, () => {
                assert.equal(app("soma-memory").delivery, exp.somaDelivery);
                assert.equal(app("gateway").delivery, "vault");
                assert.equal(app("web-frontend").delivery, "externalSecret");
            });

            it("a vault-only app has no store, no ExternalSecret, no Secret, no reader and no reader role: only its login ConfigMap and RBAC", () => {
                const vaultOnly = config.apps.filter((a) => a.delivery === "vault");
                assert.ok(vaultOnly.length > 0);
                for (const a of vaultOnly) {
                    const kinds = labelled(result, a.name).map((x) => x.type).sort();
                    assert.deepEqual([...new Set(kinds)].sort(), [CONFIG_MAP, TYPES.clusterRoleBinding, ROLE, ROLE_BINDING].sort(), `${a.name}: ${kinds.join(", ")}`);
                    for (const type of [TYPES.clusterSecretStore, TYPES.secretStore, TYPES.externalSecret, "kubernetes:core/v1:Secret"]) {
                        for (const x of byType(result, type)) {
                            const text = JSON.stringify(x.inputs);
                            // Its own path (a consumer's ExternalSecret reads the app's shared paths, never this one).
                            assert.ok(!text.includes(`"key":"${a.kvPath}"`) && !text.includes(`"${a.storeName}"`) && !text.includes(`"${a.secretName}"`), `${x.urn} serves ${a.name}`);
                        }
                    }
                    assert.equal(byType(result, TYPES.serviceAccount).filter((x) => (x.inputs.metadata as { namespace: string }).namespace === a.namespace).length, 0, `${a.name}: no ServiceAccount (the chart owns its workloads')`);
                    assert.equal(byType(result, "vault:kubernetes/authBackendRole:AuthBackendRole").filter((x) => x.inputs.roleName === a.vaultRoleName).length, 0, `${a.name}: no reader role`);
                    assert.equal((result.outputs.externalSecrets as Record<string, unknown>)[a.name], undefined);
                }
            });

            it("the Kubernetes provider updates ConfigMaps in place: a replaced one would be missed by Reloader and briefly absent", () => {
                const provider = result.resources.find((r) => r.type === "pulumi:providers:kubernetes")!;
                // Provider config reaches the engine as strings.
                assert.equal(String(provider.inputs.enableConfigMapMutable), "true");
            });

            for (const a of config.apps.filter(usesVaultLogin)) {
                it(`${a.name}: its login ConfigMap says where and how to log in, nothing secret, and matches the stack output`, () => {
                    const cm = configMapOf(result, a);
                    const meta = cm.inputs.metadata as { namespace: string; annotations: Record<string, string> };
                    assert.equal(meta.namespace, a.namespace);
                    assert.deepEqual(meta.annotations, { "reloader.stakater.com/match": "true" });
                    const data = cm.inputs.data as Record<string, string>;
                    assert.ok(!(cm.inputs.data instanceof SecretValue), "the ConfigMap data is plain");
                    const mount = config.vault.kv.path;
                    const expected: Record<string, string> = {
                        [a.vaultLogin.addressKey]: config.vault.address,
                        [a.vaultLogin.roleKey]: a.workloadRoleName,
                        VAULT_AUTH_PATH: config.vault.kubernetesAuth.path,
                        VAULT_KV_MOUNT: mount,
                        VAULT_KV_PATH: a.kvPath,
                        VAULT_KV_GRANTS: JSON.stringify(Object.fromEntries(a.granted.flatMap((g) => g.properties.map((p) => [p.env ?? `${g.id}#${p.property}`, { path: g.kvPath, property: p.property }])))),
                        VAULT_KV_VERSION: kvVersion(result, a.kvPath),
                    };
                    if (a.granted.length === 0) assert.deepEqual(data, expected);
                    else assert.deepEqual({ ...data, VAULT_KV_VERSION: "" }, { ...expected, VAULT_KV_VERSION: "" });
                    // The path it names is the one its role's policy reads.
                    assert.equal(`${mount}/data/${data.VAULT_KV_PATH}`, a.vaultDataPath);
                    const role = byType(result, "vault:kubernetes/authBackendRole:AuthBackendRole").find((r) => r.inputs.roleName === data[a.vaultLogin.roleKey])!;
                    assert.ok(role, "the role the ConfigMap names exists");
                    assert.equal(role.inputs.backend, data.VAULT_AUTH_PATH);
                    assert.deepEqual(role.inputs.boundServiceAccountNames, a.workloadServiceAccounts);
                    assert.deepEqual(granted(policies.get(String((role.inputs.tokenPolicies as string[])[0]))!, a.vaultDataPath), ["read"]);
                    const out = (result.outputs.vaultLogins as Record<string, { configMap: string; namespace: string; role: string; data: Record<string, string> }>)[a.name];
                    assert.deepEqual([out.configMap, out.namespace, out.role], [a.vaultLogin.configMapName, a.namespace, a.workloadRoleName]);
                    assert.deepEqual(out.data, data);
                });

                it(`${a.name}: each workload ServiceAccount may request its own login token and have Vault review it, nothing more`, () => {
                    for (const sa of a.workloadServiceAccounts) {
                        const subjectIs = (subjects: unknown) => JSON.stringify(subjects) === JSON.stringify([{ kind: "ServiceAccount", name: sa, namespace: a.namespace }]);
                        const delegators = byType(result, TYPES.clusterRoleBinding).filter((b) => subjectIs(b.inputs.subjects));
                        assert.equal(delegators.length, 1);
                        assert.deepEqual(delegators[0].inputs.roleRef, { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "system:auth-delegator" });
                        const bindings = byType(result, ROLE_BINDING).filter((b) => subjectIs(b.inputs.subjects));
                        assert.equal(bindings.length, 1);
                        const roleName = (bindings[0].inputs.roleRef as { name: string }).name;
                        const role = byType(result, ROLE).find((r) => (r.inputs.metadata as { name: string; namespace: string }).name === roleName && (r.inputs.metadata as { namespace: string }).namespace === a.namespace)!;
                        assert.ok(role);
                        // Its own token only: another workload's, or any other ServiceAccount's, is refused.
                        assert.deepEqual(role.inputs.rules, [{ apiGroups: [""], resources: ["serviceaccounts/token"], verbs: ["create"], resourceNames: [sa] }]);
                        // A TokenRequest for Vault's audience and the API server's passes the login model
                        // the stores pass (test/kubernetesChecks.ts), and one without the API audience fails.
                        const aud = [config.vault.kubernetesAuth.audience, ...EKS_API_AUDIENCES];
                        assert.equal(vaultLoginFailure({ aud, bearerMayReview: true }, config.vault.kubernetesAuth.audience, EKS_API_AUDIENCES), undefined);
                        assert.match(vaultLoginFailure({ aud: [config.vault.kubernetesAuth.audience], bearerMayReview: true }, config.vault.kubernetesAuth.audience, EKS_API_AUDIENCES) ?? "", /401/);
                    }
                });
            }

            if (exp.somaDelivery !== "externalSecret") {
                it("soma-memory publishes runbook 000's SOMA_VAULT_URL and SOMA_VAULT_ROLE and keeps runbook 001's ExternalSecret", () => {
                    const soma = app("soma-memory");
                    const data = configMapOf(result, soma).inputs.data as Record<string, string>;
                    assert.equal(data.SOMA_VAULT_URL, config.vault.address);
                    assert.equal(data.SOMA_VAULT_ROLE, `soma-memory-workload-${stack}`);
                    assert.equal(forceSync(result, soma).length, 16);
                });
            } else {
                it("soma-memory has no Vault login in this stack (runbook 000 mandates it in production only)", () => {
                    assert.equal(byType(result, CONFIG_MAP).filter((c) => (c.inputs.metadata as { namespace: string }).namespace === "soma-memory").length, 0);
                    assert.equal(byType(result, "vault:kubernetes/authBackendRole:AuthBackendRole").filter((r) => r.inputs.roleName === `soma-memory-workload-${stack}`).length, 0);
                });
            }
        });

        describe("grants (runbook 002)", () => {
            it("each shared path holds exactly the granted secret's properties, with the owner's values", () => {
                const shared = sharedSecrets(config);
                assert.ok(shared.length >= 2);
                for (const { owner, secret, shared: sp } of shared) {
                    const data = kvData(result, sp.kvPath);
                    assert.deepEqual(Object.keys(data).sort(), secret.properties.map((p) => p.property).sort(), secret.id);
                    const own = kvData(result, owner.kvPath);
                    for (const [k, v] of Object.entries(data)) assert.equal(v, own[k], `${secret.id}: ${k}`);
                }
            });

            it("the web front end reads the anon key and the Supabase URL, and is refused every other value of the gateway's", () => {
                const web = app("web-frontend");
                const gateway = app("gateway");
                assert.deepEqual(web.granted.map((g) => g.id).sort(), ["gateway/supabase_anon_key", "gateway/supabase_url"]);
                const policy = policies.get(web.readPolicyName)!;
                for (const g of web.granted) assert.deepEqual(granted(policy, g.vaultDataPath), ["read"]);
                // The owner's own path holds the service key and the JWT secret: refused, and so is any
                // shared path not granted, and the gateway's metadata and history.
                assert.deepEqual(granted(policy, gateway.vaultDataPath), []);
                assert.deepEqual(granted(policy, gateway.vaultMetadataPath), []);
                for (const s of gateway.secrets) {
                    const probe = `${config.vault.kv.path}/data/${gateway.kvPath}/shared/${s.key}`;
                    assert.deepEqual(granted(policy, probe), web.granted.some((g) => g.key === s.key) ? ["read"] : [], probe);
                }
                // What those paths hold: nothing of the service key or the JWT secret.
                const values = Object.assign({}, ...web.granted.map((g) => kvData(result, g.kvPath)), kvData(result, web.kvPath)) as Record<string, string>;
                assert.deepEqual(Object.keys(values).sort(), ["supabase_anon_key", "supabase_url"]);
                const own = kvData(result, gateway.kvPath);
                for (const v of Object.values(values)) assert.ok(v !== own.supabase_service_key && v !== own.supabase_jwt_secret);
                // Its ExternalSecret maps exactly runbook 002's two variables.
                const es = byType(result, TYPES.externalSecret).find((x) => (x.inputs.metadata as { name: string }).name === web.secretName)!;
                assert.deepEqual(
                    (es.inputs.spec as { data: { secretKey: string; remoteRef: { key: string; property: string } }[] }).data.map((d) => [d.secretKey, d.remoteRef.key, d.remoteRef.property]).sort(),
                    [
                        ["SUPABASE_ANON_KEY", `${gateway.kvPath}/shared/supabase_anon_key`, "supabase_anon_key"],
                        ["SUPABASE_URL", `${gateway.kvPath}/shared/supabase_url`, "supabase_url"],
                    ],
                );
            });

            it("no other app is granted anything of the gateway's: the service key and the JWT secret are the gateway's alone", () => {
                const gateway = app("gateway");
                for (const s of gateway.secrets.filter((x) => ["supabase_service_key", "supabase_jwt_secret"].includes(x.key))) assert.deepEqual(s.grants, [], s.id);
                for (const other of config.apps.filter((a) => a.name !== "web-frontend" && a.name !== "gateway")) {
                    const policy = policies.get(other.readPolicyName)!;
                    assert.deepEqual(granted(policy, gateway.vaultDataPath), []);
                    for (const { shared: sp } of sharedSecrets(config)) assert.deepEqual(granted(policy, sp.vaultDataPath), [], `${other.name}: ${sp.vaultDataPath}`);
                }
            });

            it("the inventory names each granted secret's owner, consumers and shared path", () => {
                const inventory = result.outputs.inventory as { app: string; secret: string; consumers: string[]; sharedPath?: string }[];
                const anon = inventory.find((e) => e.app === "gateway" && e.secret === "supabase_anon_key")!;
                assert.deepEqual(anon.consumers, ["web-frontend"]);
                assert.equal(anon.sharedPath, `${config.vault.kv.path}/data/shared-infra/gateway/${stack}/shared/supabase_anon_key`);
                const service = inventory.find((e) => e.app === "gateway" && e.secret === "supabase_service_key")!;
                assert.deepEqual(service.consumers, []);
                assert.equal(service.sharedPath, undefined);
            });
        });

        describe("derived keys (jwt)", () => {
            const gatewayData = (r: RunResult) => kvData(r, app("gateway").kvPath);

            it("the anon and service-role keys verify with the current JWT secret, with their claims, iat and exp", () => {
                const data = gatewayData(result);
                const key = data.supabase_jwt_secret;
                const inventory = result.outputs.inventory as { app: string; secret: string; nextScheduledRotation?: string; lastRotated?: string; expires?: string; signingKey?: string }[];
                const signer = inventory.find((e) => e.app === "gateway" && e.secret === "supabase_jwt_secret")!;
                assert.ok(signer.nextScheduledRotation, "the signing secret rotates on a schedule");
                for (const [secret, role] of [["supabase_anon_key", "anon"], ["supabase_service_key", "service_role"]]) {
                    const payload = hs256Payload(data[secret], key);
                    assert.ok(payload, `${secret} does not verify with the JWT secret`);
                    const expiry: number = Date.parse(`${signer.nextScheduledRotation}T00:00:00Z`) / 1000;
                    assert.deepEqual(payload, { role, iss: "supabase", iat: Math.floor(Date.parse(String(signer.lastRotated)) / 1000), exp: expiry });
                    assert.ok((payload.exp as number) > (payload.iat as number));
                    const entry = inventory.find((e) => e.app === "gateway" && e.secret === secret)!;
                    assert.deepEqual([entry.signingKey, entry.expires], ["supabase_jwt_secret", signer.nextScheduledRotation]);
                    // Another key (the service key itself, a flipped JWT secret) does not verify it.
                    assert.equal(hs256Payload(data[secret], `${key}x`), undefined);
                }
            });

            it("the derived keys are secret end to end: no token, nor its signature, appears in plaintext anywhere", () => {
                const data = gatewayData(result);
                const needles = ["supabase_anon_key", "supabase_service_key"].flatMap((k) => [data[k], data[k].split(".")[2]]);
                assert.ok(needles.every((n) => n.length >= 20));
                const where = [...programResources(result).flatMap((r) => plaintextStrings({ inputs: r.inputs, outputs: r.outputs }, r.urn)), ...plaintextStrings(result.outputs, "stack")];
                assert.ok(where.length > 100, "the scan would be vacuous");
                for (const { path, value } of where) for (const n of needles) assert.ok(!value.includes(n), `a derived key appears in plaintext at ${path}`);
            });

            it("a no-change up re-derives nothing; a rotation of the JWT secret re-derives both keys in the same up, and reaches the consumer", async () => {
                const again = await runStack(stack);
                assert.deepEqual(gatewayData(again), gatewayData(result));
                const web = app("web-frontend");
                const gateway = app("gateway");
                assert.equal(forceSync(again, web), forceSync(result, web));

                const bumped = stackConfig(stack);
                const rotation = (bumped[`${projectName}:rotation`] ??= {});
                rotation.generations = { ...rotation.generations, "gateway/supabase_jwt_secret": (rotation.generations?.["gateway/supabase_jwt_secret"] ?? 0) + 1 };
                const rotated = await runStack(stack, { config: bumped });
                const before = gatewayData(result);
                const after = gatewayData(rotated);
                assert.notEqual(after.supabase_jwt_secret, before.supabase_jwt_secret);
                for (const secret of ["supabase_anon_key", "supabase_service_key"]) {
                    assert.ok(hs256Payload(after[secret], after.supabase_jwt_secret), `${secret} verifies with the new key`);
                    assert.equal(hs256Payload(after[secret], before.supabase_jwt_secret), undefined, `${secret} must fail with the previous key`);
                    assert.equal(hs256Payload(before[secret], after.supabase_jwt_secret), undefined, `the old ${secret} fails with the new key`);
                }
                // The shared copy moved in the same up: the consumer's ExternalSecret re-syncs, and the
                // gateway's login ConfigMap carries a new version (Reloader restarts it).
                assert.equal(kvData(rotated, `${gateway.kvPath}/shared/supabase_anon_key`).supabase_anon_key, after.supabase_anon_key);
                assert.notEqual(kvVersion(rotated, `${gateway.kvPath}/shared/supabase_anon_key`), kvVersion(result, `${gateway.kvPath}/shared/supabase_anon_key`));
                assert.notEqual(forceSync(rotated, web), forceSync(result, web), "the consumer's ExternalSecret must re-sync");
                const version = (r: RunResult) => (configMapOf(r, gateway).inputs.data as Record<string, string>).VAULT_KV_VERSION;
                assert.notEqual(version(rotated), version(result));
                assert.equal(version(again), version(result));
                // The URL did not change: its shared copy keeps its version.
                assert.equal(kvVersion(rotated, `${gateway.kvPath}/shared/supabase_url`), kvVersion(result, `${gateway.kvPath}/shared/supabase_url`));
                // Apps that neither own nor are granted it do not move.
                for (const other of config.apps.filter((a) => usesExternalSecret(a) && a.name !== "web-frontend")) assert.equal(forceSync(rotated, other), forceSync(result, other), other.name);
            });
        });
    });
}
