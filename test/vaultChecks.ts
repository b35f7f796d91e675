/**
 * The Vault assertions both stacks share (test/vault.dev.test.ts and test/vault.prod.test.ts call
 * `describeVault`). Policies are read back from what the program registered and parsed with
 * @cdktf/hcl2json (a build of HashiCorp's HCL library); what they grant is then evaluated with
 * Vault's path-matching rules against probe paths, so a widened rule fails here however it is
 * spelled.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { parse as parseHcl } from "@cdktf/hcl2json";
import { AppSpec, PlatformConfig, usesExternalSecret, usesVaultLogin } from "../components/config/model";
import { mockEksCluster } from "../tools/harness/mocks/aws";
import { kvSecretV2WriteRequests } from "../tools/harness/mocks/vault";
import { projectName } from "../tools/harness/stackConfig";
import { byType, eksClusterLookups, one, plaintextStrings, programResources, resolvedConfig, reveal, ResourceRecord, RunResult, runStack, SecretValue, stackConfig, SUPPLIED, TEST_CA_PEM } from "./support";

export { resolvedConfig };

/** Every granted secret of a config, with its owner: the shared paths the program writes. */
export function sharedSecrets(config: PlatformConfig) {
    return config.apps.flatMap((app) => app.secrets.filter((s) => s.shared).map((s) => ({ owner: app, secret: s, shared: s.shared! })));
}

export const T = {
    mount: "vault:index/mount:Mount",
    kvSettings: "vault:kv/secretBackendV2:SecretBackendV2",
    kvSecret: "vault:kv/secretV2:SecretV2",
    policy: "vault:index/policy:Policy",
    authBackend: "vault:index/authBackend:AuthBackend",
    authConfig: "vault:kubernetes/authBackendConfig:AuthBackendConfig",
    role: "vault:kubernetes/authBackendRole:AuthBackendRole",
    audit: "vault:index/audit:Audit",
} as const;


/** A parsed policy: path → capabilities. Fails on anything but `path "…" { capabilities = [...] }` blocks, one per path. */
export async function parsePolicy(name: string, hcl: string): Promise<Map<string, string[]>> {
    const doc = (await parseHcl(`${name}.hcl`, hcl)) as Record<string, unknown>;
    assert.deepEqual(Object.keys(doc), ["path"], `${name}: only path blocks`);
    const out = new Map<string, string[]>();
    for (const [path, blocks] of Object.entries(doc.path as Record<string, Record<string, unknown>[]>)) {
        assert.equal(blocks.length, 1, `${name}: path ${path} has ${blocks.length} blocks (Vault merges them)`);
        assert.deepEqual(Object.keys(blocks[0]), ["capabilities"], `${name}: ${path} sets only capabilities`);
        const caps = blocks[0].capabilities as unknown;
        assert.ok(Array.isArray(caps) && caps.length > 0 && caps.every((c) => typeof c === "string"), `${name}: ${path} capabilities`);
        out.set(path, caps as string[]);
    }
    return out;
}

/** Does a policy path (with Vault's `+` segment and trailing `*` globs) match a request path? */
export function pathMatches(rule: string, request: string): boolean {
    const glob = rule.endsWith("*");
    const ruleSegs = (glob ? rule.slice(0, -1) : rule).split("/");
    const reqSegs = request.split("/");
    for (let i = 0; i < ruleSegs.length; i++) {
        const last = i === ruleSegs.length - 1;
        const r = ruleSegs[i];
        const q = reqSegs[i];
        if (q === undefined) return false;
        if (last && glob) return r === "+" || q.startsWith(r) || r === "";
        if (r !== "+" && r !== q) return false;
    }
    return glob || reqSegs.length === ruleSegs.length;
}

/** Every capability any matching rule grants on `request`: a superset of what Vault grants (it picks one rule). */
export function granted(policy: Map<string, string[]>, request: string): string[] {
    const caps = new Set<string>();
    for (const [rule, c] of policy) if (pathMatches(rule, request)) c.forEach((x) => caps.add(x));
    return [...caps].sort();
}

const KNOWN_CAPABILITIES = new Set(["create", "read", "update", "patch", "delete", "list", "sudo", "deny", "subscribe", "recover"]);

/** Every generated value (random outputs) and operator value, in each form it may take downstream. */
export function sensitiveValues(result: RunResult): string[] {
    const values = new Set<string>();
    for (const r of result.resources) {
        if (r.type === "random:index/randomBytes:RandomBytes") {
            const b64 = String(reveal(r.outputs.base64));
            values.add(b64).add(String(reveal(r.outputs.hex))).add(b64.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""));
            values.add(encodeURIComponent(b64));
        }
        if (r.type === "random:index/randomPassword:RandomPassword") {
            const p = String(reveal(r.outputs.result));
            values.add(p).add(encodeURIComponent(p));
        }
    }
    for (const app of Object.values(SUPPLIED)) for (const v of Object.values(app)) values.add(v);
    return [...values].filter((v) => v.length >= 16);
}

export interface VaultExpectations {
    stack: "dev" | "staging" | "prod";
    /** The audit device exists (prod) or not (dev). */
    audit: boolean;
    /** KV mount, KV secrets and audit device are protected and retained (prod). */
    protect: boolean;
    maxVersions: number;
    authPath: string;
}

/** Registers the shared Vault tests for a stack; `more` adds stack-specific tests on the same run. */
export function describeVault(exp: VaultExpectations, more?: (run: () => RunResult) => void): void {
    const { stack } = exp;
    describe(`Vault (${stack})`, () => {
        let result: RunResult;
        let config: PlatformConfig;
        /** The EKS clusters the run looked up. */
        let lookups: string[];
        const policies = new Map<string, Map<string, string[]>>();
        const policyOf = (name: string) => {
            const p = policies.get(name);
            assert.ok(p, `no policy named ${name}; have ${[...policies.keys()].join(", ")}`);
            return p;
        };

        before(async () => {
            result = await runStack(stack);
            lookups = eksClusterLookups(result);
            config = resolvedConfig(stack);
            for (const r of byType(result, T.policy)) {
                const name = String(r.inputs.name);
                assert.ok(!policies.has(name), `two policies named ${name}`);
                policies.set(name, await parsePolicy(name, String(r.inputs.policy)));
            }
        });

        const mount = () => config.vault.kv.path;
        const otherEnvs = () => ["dev", "prod", "staging"].filter((e) => e !== config.environment);
        const secretOf = (app: AppSpec) => byType(result, T.kvSecret).find((r) => r.inputs.name === app.kvPath)!;
        const shared = () => sharedSecrets(config);

        it("uses the Vault provider explicitly for every Vault resource", () => {
            const providerUrn = one(result, "pulumi:providers:vault", "vault").urn;
            const vaultResources = result.resources.filter((r) => r.custom && r.type.startsWith("vault:"));
            assert.ok(vaultResources.length >= 10);
            for (const r of vaultResources) assert.ok(r.provider?.startsWith(`${providerUrn}::`), `${r.urn} uses ${r.provider}`);
        });

        it("gives the Vault provider the CA from the stack's config, as a path the provider resolves in the project directory", () => {
            const provider = one(result, "pulumi:providers:vault", "vault");
            assert.ok(config.vault.caCertFile, "the stack names Vault's CA file");
            assert.equal(provider.inputs.caCertFile, config.vault.caCertFile);
            assert.ok(!String(provider.inputs.caCertFile).startsWith("/"), "relative: the same input on every runner");
            assert.notEqual(provider.inputs.skipTlsVerify, true);
        });

        it("owns the KV v2 mount exactly where config says, with the configured history, protected as config says", () => {
            // KV mounts only: the database mount (docs/database-credentials.md) and a PKI mount (test/tlsChecks.ts) are checked on their own.
            const kvMounts = byType(result, T.mount).filter((r) => r.inputs.type === "kv");
            const otherMounts = [
                ...(config.vault.database.manage && config.apps.some((a) => a.databases.length > 0) ? ["database"] : []),
                ...(config.vault.pki.manage && config.apps.some((a) => a.pki) ? ["pki"] : []),
            ];
            assert.deepEqual(byType(result, T.mount).filter((r) => r.inputs.type !== "kv").map((r) => r.inputs.type).sort(), otherMounts.sort());
            if (!config.vault.kv.manage) {
                // An existing mount (prod: runbook 001 already writes under secret/): nothing of it here.
                assert.deepEqual([...kvMounts, ...byType(result, T.kvSettings)], []);
                return;
            }
            const [m] = kvMounts;
            assert.equal(kvMounts.length, 1);
            assert.deepEqual([m.inputs.path, m.inputs.type, m.inputs.options], [mount(), "kv", { version: "2" }]);
            assert.equal(m.options.protect ?? false, exp.protect);
            assert.equal(m.options.retainOnDelete ?? false, exp.protect);
            const [s] = byType(result, T.kvSettings);
            assert.equal(byType(result, T.kvSettings).length, 1);
            assert.deepEqual([s.inputs.mount, s.inputs.maxVersions, s.inputs.casRequired], [mount(), exp.maxVersions, false]);
        });

        it("writes one KV v2 secret per app at <mount>/data/<prefix>/<app>/<env>, holding every property as a secret", () => {
            const secrets = byType(result, T.kvSecret);
            // One per app, and one per granted secret at its shared path (test/grantChecks.ts reads those).
            assert.deepEqual(secrets.map((r) => r.outputs.path).sort(), [...config.apps.map((a) => a.vaultDataPath), ...shared().map((x) => x.shared.vaultDataPath)].sort());
            for (const app of config.apps) {
                const r = secretOf(app);
                assert.equal(r.outputs.path, `${mount()}/data/shared-infra/${app.name}/${stack}`);
                assert.equal(r.inputs.mount, mount());
                assert.ok(r.inputs.dataJson instanceof SecretValue, `${app.name}: dataJson must be a secret input`);
                assert.ok(r.outputs.dataJson instanceof SecretValue, `${app.name}: dataJson must be a secret output`);
                const data = JSON.parse(String(reveal(r.inputs.dataJson))) as Record<string, string>;
                // Not in KV: database credentials and what is composed from them (ESO composes it at sync time).
                const dbProps = new Set(app.secrets.filter((s) => s.source.kind === "database").map((s) => s.properties[0].property));
                const syncComposed = (s: (typeof app.secrets)[number]) => s.source.kind === "composed" && [...s.source.template.matchAll(/\{([^{}]*)\}/g)].some((m) => dbProps.has(m[1]));
                const expected = app.secrets.filter((s) => (s.source.kind !== "supplied" || s.supplied) && s.source.kind !== "database" && !syncComposed(s)).flatMap((s) => s.properties.map((p) => p.property));
                assert.deepEqual(Object.keys(data).sort(), expected.sort());
                for (const v of Object.values(data)) assert.ok(typeof v === "string" && v.length > 0);
                // Write-only data would lose a --target-replace rotation; custom metadata needs metadata writes.
                for (const k of ["dataJsonWo", "dataJsonWoVersion", "customMetadata", "cas", "disableRead"]) assert.equal(r.inputs[k], undefined, `${app.name}: ${k}`);
                assert.equal(r.inputs.deleteAllVersions, false);
                assert.equal(r.options.protect ?? false, exp.protect);
                assert.equal(r.options.retainOnDelete ?? false, exp.protect);
                assert.equal(r.options.ignoreChanges, undefined);
                assert.equal(r.options.replaceOnChanges, undefined);
            }
        });

        it("exposes a non-secret dataVersion per app, read from Vault's version metadata", () => {
            const out = result.outputs.vault as { apps: Record<string, { dataVersion: unknown; dataPath: string; role: string | null; readPolicy: string }> };
            assert.deepEqual(Object.keys(out.apps).sort(), config.apps.map((a) => a.name).sort());
            for (const app of config.apps) {
                const v = out.apps[app.name].dataVersion;
                assert.equal(typeof v, "string", `${app.name}: dataVersion must be a plain (non-secret) string`);
                assert.match(v as string, /^[1-9][0-9]*$/);
                assert.equal(v, (secretOf(app).outputs.metadata as Record<string, string>).version);
                const sharedVersions = Object.fromEntries(
                    shared()
                        .filter((x) => x.owner.name === app.name)
                        .map((x) => [x.secret.key, (byType(result, T.kvSecret).find((r) => r.inputs.name === x.shared.kvPath)!.outputs.metadata as Record<string, string>).version]),
                );
                assert.deepEqual(out.apps[app.name], {
                    dataPath: app.vaultDataPath,
                    dataVersion: v,
                    // The store's role only where an ExternalSecret reads (delivery externalSecret or both).
                    role: usesExternalSecret(app) ? app.vaultRoleName : null,
                    readPolicy: app.readPolicyName,
                    ...(usesVaultLogin(app) ? { workloadRole: app.workloadRoleName } : {}),
                    ...(Object.keys(sharedVersions).length > 0 ? { sharedVersions } : {}),
                });
            }
        });

        it("registers exactly the app read policies and the pipeline's two policies, every one valid HCL with known capabilities", () => {
            const expected = [...config.apps.map((a) => a.readPolicyName), `platform-secrets-rotator-${stack}`, `platform-secrets-preview-${stack}`];
            assert.deepEqual([...policies.keys()].sort(), expected.sort());
            for (const [name, policy] of policies) {
                for (const [path, caps] of policy) {
                    for (const c of caps) assert.ok(KNOWN_CAPABILITIES.has(c), `${name}: ${path} has unknown capability ${c}`);
                    assert.equal(new Set(caps).size, caps.length, `${name}: ${path} repeats a capability`);
                }
            }
        });

        it("gives each app policy read on its own data path and nothing of any other app, environment or mount path", () => {
            for (const app of config.apps) {
                const policy = policyOf(app.readPolicyName);
                assert.deepEqual(granted(policy, app.vaultDataPath), ["read"]);
                // The only other paths: the shared paths of its grants, exactly, the token self-service
                // endpoints ESO uses (no default policy), and the current credentials of the app's own
                // alternating database users (docs/database-credentials.md).
                const staticCreds = app.databases.flatMap((d) => [d.roleNames.a, d.roleNames.b].map((r) => `${config.vault.database.path}/static-creds/${r}`));
                assert.deepEqual([...policy.keys()].sort(), [app.vaultDataPath, ...app.granted.map((g) => g.vaultDataPath), "auth/token/lookup-self", "auth/token/revoke-self", ...staticCreds].sort());
                for (const g of app.granted) assert.deepEqual(granted(policy, g.vaultDataPath), ["read"], `${app.name}: granted ${g.id}`);
                for (const p of staticCreds) assert.deepEqual(granted(policy, p), ["read"]);
                assert.deepEqual(granted(policy, "auth/token/lookup-self"), ["read"]);
                assert.deepEqual(granted(policy, "auth/token/revoke-self"), ["update"]);
                for (const [path, caps] of policy) {
                    assert.ok(!caps.includes("sudo") && !caps.includes("*"), `${app.readPolicyName}: ${path} grants ${caps}`);
                    assert.ok(!/[*+]/.test(path), `${app.readPolicyName}: glob in ${path}`);
                }
                const probes = [
                    ...config.apps.filter((o) => o.name !== app.name).flatMap((o) => [o.vaultDataPath, o.vaultMetadataPath]),
                    ...otherEnvs().map((e) => `${mount()}/data/shared-infra/${app.name}/${e}`),
                    app.vaultMetadataPath,
                    // Shared paths not granted to it (its own grants to others included: it reads its own path).
                    ...shared().filter((x) => !app.granted.some((g) => g.id === x.secret.id)).flatMap((x) => [x.shared.vaultDataPath, x.shared.vaultMetadataPath]),
                    `${app.vaultDataPath}/child`,
                    `${app.vaultDataPath}-other`,
                    `${mount()}/data/shared-infra/${app.name}`,
                    `${mount()}/data/shared-infra`,
                    `${mount()}/destroy/${app.kvPath}`,
                    `${mount()}/delete/${app.kvPath}`,
                    `${mount()}/config`,
                    `sys/policies/acl/${app.readPolicyName}`,
                    `auth/${exp.authPath}/role/${app.vaultRoleName}`,
                    "auth/token/create",
                    "sys/mounts",
                    // The database mount: no other app's users, no rotation, no connection, no dynamic creds.
                    ...config.apps.filter((o) => o.name !== app.name).flatMap((o) => o.databases.flatMap((d) => [d.roleNames.a, d.roleNames.b].map((r) => `${config.vault.database.path}/static-creds/${r}`))),
                    ...app.databases.flatMap((d) => [`${config.vault.database.path}/config/${d.connectionName}`, `${config.vault.database.path}/rotate-role/${d.roleNames.a}`, `${config.vault.database.path}/rotate-root/${d.connectionName}`, `${config.vault.database.path}/creds/${d.roleNames.a}`]),
                ];
                for (const p of probes) assert.deepEqual(granted(policy, p), [], `${app.readPolicyName} grants ${granted(policy, p)} on ${p}`);
            }
        });

        it("gives the rotator exactly what `pulumi up` needs, on exact paths, and never destroys", () => {
            const rotator = policyOf(`platform-secrets-rotator-${stack}`);
            for (const [path, caps] of rotator) {
                assert.ok(!/[*+]/.test(path), `rotator: glob in ${path}`);
                assert.ok(!path.includes("/destroy/"), `rotator: ${path}`);
                if (path.startsWith(`${mount()}/`)) {
                    assert.ok(path.endsWith(`/${stack}`) || path === `${mount()}/config` || shared().some((x) => path.endsWith(`/${x.shared.kvPath}`) && x.shared.kvPath.includes(`/${stack}/shared/`)), `rotator: ${path} is not this environment's`);
                }
                // The database mount: this environment's connections and static roles only, never a credential.
                if (path.startsWith(`${config.vault.database.path}/`)) {
                    assert.match(path, new RegExp(`^${config.vault.database.path}/(config|rotate-root|static-roles|rotate-role)/[a-z0-9-]+-${config.environment}(-[ab])?$`), `rotator: ${path}`);
                }
                if (path.includes("/metadata/")) assert.deepEqual(caps, ["read", "list"], `rotator: ${path}`);
                if (caps.includes("sudo")) {
                    assert.ok([`sys/auth/${exp.authPath}`, `sys/audit/${config.vault.audit.path}`, "sys/audit"].includes(path), `rotator: sudo on ${path}`);
                }
                if (/^sys\/(mounts|auth|audit)/.test(path)) assert.ok(!caps.includes("delete"), `rotator may not disable ${path}`);
            }
            for (const app of config.apps) {
                assert.deepEqual(granted(rotator, app.vaultDataPath), ["create", "delete", "read", "update"]);
                assert.deepEqual(granted(rotator, app.vaultMetadataPath), ["list", "read"]);
                assert.deepEqual(granted(rotator, `${mount()}/delete/${app.kvPath}`), ["update"]);
                assert.deepEqual(granted(rotator, `${mount()}/undelete/${app.kvPath}`), ["update"]);
                assert.deepEqual(granted(rotator, `${mount()}/destroy/${app.kvPath}`), []);
                assert.deepEqual(granted(rotator, `auth/${exp.authPath}/role/${app.vaultRoleName}`), usesExternalSecret(app) ? ["create", "delete", "read", "update"] : []);
                assert.deepEqual(granted(rotator, `auth/${exp.authPath}/role/${app.workloadRoleName}`), usesVaultLogin(app) ? ["create", "delete", "read", "update"] : []);
                assert.deepEqual(granted(rotator, `sys/policies/acl/${app.readPolicyName}`), ["create", "delete", "read", "update"]);
                for (const e of otherEnvs()) assert.deepEqual(granted(rotator, `${mount()}/data/shared-infra/${app.name}/${e}`), []);
            }
            for (const { shared: sp, secret } of shared()) {
                assert.deepEqual(granted(rotator, sp.vaultDataPath), ["create", "delete", "read", "update"], secret.id);
                assert.deepEqual(granted(rotator, sp.vaultMetadataPath), ["list", "read"], secret.id);
                assert.deepEqual(granted(rotator, `${mount()}/destroy/${sp.kvPath}`), [], secret.id);
                for (const r of kvSecretV2WriteRequests(mount(), sp.kvPath, true)) assert.ok(granted(rotator, r.path).includes(r.capability), `rotator: ${r.capability} on ${r.path}`);
            }
            // It cannot widen itself, nor read or write an app it does not manage.
            assert.deepEqual(granted(rotator, `sys/policies/acl/platform-secrets-rotator-${stack}`), ["read"]);
            assert.deepEqual(granted(rotator, `${mount()}/data/shared-infra/unmanaged-app/${stack}`), []);
            assert.deepEqual(granted(rotator, "sys/policies/acl/root"), []);
            // Mount rights only where this program owns the mount (kv.manage: prod's belongs to the Vault admins).
            assert.deepEqual(granted(rotator, `sys/mounts/${mount()}`), config.vault.kv.manage ? ["create", "read", "update"] : []);
            assert.deepEqual(granted(rotator, `sys/auth/${exp.authPath}`), ["create", "read", "sudo", "update"]);
            assert.deepEqual(granted(rotator, `sys/audit/${config.vault.audit.path}`), exp.audit ? ["create", "sudo", "update"] : []);
        });

        it("lets the rotator make every request of a KV write, including the provider's metadata read-back", () => {
            const rotator = policyOf(`platform-secrets-rotator-${stack}`);
            for (const app of config.apps) {
                for (const create of [true, false]) {
                    for (const r of kvSecretV2WriteRequests(mount(), app.kvPath, create)) {
                        assert.ok(granted(rotator, r.path).includes(r.capability), `rotator: ${r.capability} on ${r.path} (every write needs it)`);
                    }
                }
            }
        });

        it("gives the preview pipeline nothing but its token self-lookup", () => {
            const preview = policyOf(`platform-secrets-preview-${stack}`);
            assert.deepEqual([...preview.entries()], [["auth/token/lookup-self", ["read"]]]);
            for (const app of config.apps) assert.deepEqual(granted(preview, app.vaultDataPath), []);
        });

        it("owns the Kubernetes auth backend at the configured path, validating the cluster's issuer", () => {
            const [b] = byType(result, T.authBackend);
            assert.equal(byType(result, T.authBackend).length, 1);
            assert.deepEqual([b.inputs.type, b.inputs.path], ["kubernetes", exp.authPath]);
            const [c] = byType(result, T.authConfig);
            assert.equal(byType(result, T.authConfig).length, 1);
            assert.equal(c.inputs.backend, exp.authPath);
            // Issuer: the cluster's OIDC issuer, the one the IRSA trust policies name, always validated.
            assert.equal(c.inputs.issuer, config.aws!.eks.oidcIssuerUrl);
            assert.match(String(c.inputs.issuer), /^https:\/\/oidc\.eks\.eu-west-1\.amazonaws\.com\/id\/[A-Z0-9]+$/);
            assert.equal(c.inputs.disableIssValidation, false);
            // Vault reviews each login with the login token itself (the stores request the API
            // server's audience for it: test/kubernetesChecks.ts).
            assert.equal(c.inputs.tokenReviewerJwt, undefined);
            assert.equal(c.inputs.pemKeys, undefined);
        });

        it("takes the API host and CA from the EKS cluster named in aws.eks.clusterName when the stack file sets neither", () => {
            const file = stackConfig(stack)[`${projectName}:vault`].kubernetesAuth;
            assert.equal(file.host, undefined, "this check covers the lookup: the stack file must not set host");
            assert.equal(file.caCertPem, undefined, "this check covers the lookup: the stack file must not set caCertPem");
            assert.deepEqual(lookups, [config.aws!.eks.clusterName], "one eks:DescribeCluster, of the stack's cluster");
            const cluster = mockEksCluster(config.aws!.eks.clusterName, config.aws!.region, "unused");
            const c = byType(result, T.authConfig)[0];
            assert.equal(c.inputs.kubernetesHost, cluster.endpoint);
            assert.match(String(c.inputs.kubernetesHost), /^https:\/\/[0-9A-F]{32}\.gr7\.eu-west-1\.eks\.amazonaws\.com$/);
            // The PEM, decoded from certificateAuthorities[0].data: not the base64 Vault could not parse.
            assert.equal(c.inputs.kubernetesCaCert, cluster.caPem);
            assert.match(String(c.inputs.kubernetesCaCert), /^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+\n-----END CERTIFICATE-----\n$/);
        });

        it("binds one auth role per externalSecret app to exactly its reader service account, with only its read policy and a short TTL", () => {
            const roles = byType(result, T.role);
            const expected = [...config.apps.filter(usesExternalSecret).map((a) => a.vaultRoleName), ...config.apps.filter(usesVaultLogin).map((a) => a.workloadRoleName)];
            assert.deepEqual(roles.map((r) => r.inputs.roleName).sort(), expected.sort());
            for (const app of config.apps.filter(usesExternalSecret)) {
                const r = roles.find((x) => x.inputs.roleName === app.vaultRoleName)!;
                assert.equal(r.inputs.backend, exp.authPath);
                assert.deepEqual(r.inputs.boundServiceAccountNames, [app.readerServiceAccount]);
                assert.deepEqual(r.inputs.boundServiceAccountNamespaces, [app.namespace]);
                for (const n of [app.readerServiceAccount, app.namespace]) assert.match(n, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
                assert.equal(r.inputs.boundServiceAccountNamespaceSelector, undefined);
                assert.deepEqual(r.inputs.tokenPolicies, [app.readPolicyName]);
                assert.equal(r.inputs.tokenNoDefaultPolicy, true);
                assert.equal(r.inputs.audience, "vault");
                assert.equal(r.inputs.tokenTtl, 600);
                assert.ok(Number(r.inputs.tokenMaxTtl) <= 1800 && Number(r.inputs.tokenMaxTtl) >= 600);
                assert.equal(r.inputs.tokenPeriod, undefined, "a periodic token never expires");
                // The role's policy reads its own app's path and no other.
                const policy = policyOf(String((r.inputs.tokenPolicies as string[])[0]));
                for (const other of config.apps) assert.deepEqual(granted(policy, other.vaultDataPath), other.name === app.name ? ["read"] : []);
            }
        });

        it("binds each vault-delivery app's workload role to exactly its workload ServiceAccounts, with the same read policy and short TTLs", () => {
            const roles = byType(result, T.role);
            const vaultApps = config.apps.filter(usesVaultLogin);
            assert.ok(vaultApps.length > 0, "every stack has a vault-delivery app (runbook 002's gateway)");
            for (const app of vaultApps) {
                const r = roles.find((x) => x.inputs.roleName === app.workloadRoleName)!;
                assert.ok(r, `${app.name}: no workload role`);
                assert.equal(r.inputs.backend, exp.authPath);
                assert.deepEqual(r.inputs.boundServiceAccountNames, app.workloadServiceAccounts);
                assert.ok(app.workloadServiceAccounts.length > 0 && !app.workloadServiceAccounts.includes(app.readerServiceAccount));
                for (const n of app.workloadServiceAccounts) assert.match(n, /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, "no glob in a bound name");
                assert.deepEqual(r.inputs.boundServiceAccountNamespaces, [app.namespace]);
                assert.equal(r.inputs.boundServiceAccountNamespaceSelector, undefined);
                assert.deepEqual(r.inputs.tokenPolicies, [app.readPolicyName]);
                assert.equal(r.inputs.tokenNoDefaultPolicy, true);
                assert.equal(r.inputs.audience, "vault");
                assert.equal(r.inputs.tokenTtl, 600);
                assert.ok(Number(r.inputs.tokenMaxTtl) <= 1800);
                assert.equal(r.inputs.tokenPeriod, undefined, "a periodic token never expires");
            }
            // A vault-only app has no reader role at all.
            for (const app of config.apps.filter((a) => !usesExternalSecret(a))) assert.equal(roles.find((x) => x.inputs.roleName === app.vaultRoleName), undefined);
        });

        it(exp.audit ? "has a file audit device that HMACs every value" : "has no audit device", () => {
            const audits = byType(result, T.audit);
            if (!exp.audit) {
                assert.deepEqual(audits, []);
                return;
            }
            assert.equal(audits.length, 1);
            const [a] = audits;
            assert.deepEqual([a.inputs.type, a.inputs.path], ["file", config.vault.audit.path]);
            const options = a.inputs.options as Record<string, string>;
            assert.equal(options.file_path, config.vault.audit.filePath);
            assert.equal(options.log_raw, "false");
            assert.equal(a.options.protect, true);
            assert.equal(a.options.retainOnDelete, true);
        });

        it("leaves no generated or supplied value in plaintext in any input, output or stack output", () => {
            const values = sensitiveValues(result);
            assert.ok(values.length > 20, `only ${values.length} values found: the check would be vacuous`);
            const where = [
                ...programResources(result).flatMap((r: ResourceRecord) => plaintextStrings({ inputs: r.inputs, outputs: r.outputs }, r.urn)),
                ...plaintextStrings(result.outputs, "stack"),
            ];
            for (const { path, value } of where) {
                for (const v of values) assert.ok(!value.includes(v), `a secret value appears in plaintext at ${path}`);
            }
        });

        it("moves an app's dataVersion when one of its secrets rotates, and no other app's", async () => {
            const versions = (r: RunResult) =>
                Object.fromEntries(Object.entries((r.outputs.vault as { apps: Record<string, { dataVersion: string }> }).apps).map(([k, v]) => [k, v.dataVersion]));
            const dataOf = (r: RunResult, app: string) => JSON.parse(String(reveal(byType(r, T.kvSecret).find((s) => s.inputs.name === `shared-infra/${app}/${stack}`)!.inputs.dataJson)));
            const base = versions(result);

            // The same config again is the next `pulumi up` with nothing to do: every version stays.
            const again = await runStack(stack);
            assert.deepEqual(versions(again), base);

            const bumped = stackConfig(stack);
            bumped["platform-secrets:rotation"].generations = { "nemo-server/session_key": 1 };
            const rotated = await runStack(stack, { config: bumped });
            const after = versions(rotated);
            assert.notEqual(dataOf(rotated, "nemo-server").session_key, dataOf(result, "nemo-server").session_key);
            assert.deepEqual(dataOf(rotated, "soma-memory"), dataOf(result, "soma-memory"));
            assert.notEqual(after["nemo-server"], base["nemo-server"]);
            assert.equal(after["soma-memory"], base["soma-memory"]);
            assert.equal(typeof after["nemo-server"], "string");
        });

        describe("with the API host and CA configured", () => {
            const PEM = TEST_CA_PEM;
            const HOST = "https://api.platform-k8s.internal:6443";
            // A configured issuer must still be the cluster's (rules.ts): written with a trailing slash here.
            const issuer = () => `${config.aws!.eks.oidcIssuerUrl}/`;
            const run = async (auth: Record<string, string>) => {
                const file = stackConfig(stack);
                file[`${projectName}:vault`].kubernetesAuth = { ...file[`${projectName}:vault`].kubernetesAuth, ...auth };
                const r = await runStack(stack, { config: file });
                return { config: byType(r, T.authConfig), lookups: eksClusterLookups(r) };
            };

            it("uses the configured CA, still reading the host from the cluster", async () => {
                const { config: [c], lookups: l } = await run({ caCertPem: PEM });
                assert.equal(c.inputs.kubernetesCaCert, PEM);
                assert.equal(c.inputs.kubernetesHost, mockEksCluster(config.aws!.eks.clusterName, config.aws!.region, "unused").endpoint);
                assert.deepEqual(l, [config.aws!.eks.clusterName]);
            });

            it("uses the configured host, CA and issuer, and looks no cluster up", async () => {
                const ISSUER = issuer();
                const { config: [c], lookups: l } = await run({ host: HOST, caCertPem: PEM, issuer: ISSUER });
                assert.deepEqual([c.inputs.kubernetesHost, c.inputs.kubernetesCaCert, c.inputs.issuer, c.inputs.disableIssValidation], [HOST, PEM, ISSUER, false]);
                assert.deepEqual(l, [], "nothing to look up: no eks:DescribeCluster needed");
            });
        });

        more?.(() => result);
    });
}
