/**
 * npm run e2e: the program under the real Pulumi engine (CLI v3.248.0 built from Go modules) against
 * real servers on loopback (tools/e2e/servers.ts). Every scenario is asserted against the servers
 * themselves (the Kubernetes API, Vault's HTTP API), never against Pulumi's own report.
 *
 * What runs under the engine is bounded by what can be built here (README, "End-to-end under the real
 * engine"): the CLI and the Kubernetes plugin can, the random, vault and time plugins and the Node.js
 * language host cannot. So:
 * - the whole program (`main`) runs under the engine up to its first resource plugin: the engine's own
 *   config checks of every stack file are real;
 * - the program's Kubernetes half (KubernetesSecrets with the stack's real provider) is deployed,
 *   updated, target-replaced and destroyed by the engine, through the Automation API's inline-program
 *   language server (the one `@pulumi/pulumi/automation` ships) in place of pulumi-language-nodejs;
 * - the program's Vault documents (offline plan) are applied to OpenBao over HTTP (tools/e2e/vault.ts)
 *   and logins with real ServiceAccount tokens are judged by OpenBao and the API server;
 * - the scenarios that need the random, vault or time plugins are reported as blocked, never as passed.
 *
 * Usage: node --import tsx tools/e2e/run.ts <toolchain dir>   (tools/e2e/e2e.sh builds or finds it)
 */
import { LocalWorkspace, PulumiCommand, Stack, EngineEvent } from "@pulumi/pulumi/automation";
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseDocument } from "yaml";
import { loadConfig } from "../../components/config/load";
import { main } from "../../components/main";
import { KubernetesSecrets } from "../../components/kubernetes/kubernetesSecrets";
import { createKubernetesProvider } from "../../components/kubernetes/provider";
import { FORCE_SYNC_ANNOTATION } from "../../components/kubernetes/specs";
import { applyVaultDocuments, PlanResource, reveal } from "./vault";
import { rollCaBundle } from "../../components/credentials/certificateRotation";
import { X509Certificate, createPrivateKey, createPublicKey } from "node:crypto";
import { Servers, startServers, toolchain } from "./servers";

const repoRoot = path.resolve(__dirname, "..", "..");
const STACK = "e2e";

type Result = "pass" | "fail" | "blocked";
interface ScenarioReport {
    id: string;
    title: string;
    result: Result;
    seconds: number;
    detail: string;
}

/** The part of an engine error a reader needs: its Diagnostics section, else its first lines. */
function explain(e: unknown): string {
    const text = String((e as Error)?.message ?? e);
    const diag = text.indexOf("Diagnostics:");
    const body = diag >= 0 ? text.slice(diag + "Diagnostics:".length) : text;
    return body.split("\n").map((l) => l.trim()).filter((l) => l && !/^(Resources:|Duration:|stdout:|err\?:)/.test(l)).slice(0, 10).join(" | ").slice(0, 1500);
}

const log = (m: string) => process.stderr.write(`[e2e ${new Date().toISOString().slice(11, 19)}] ${m}\n`);

function assert(cond: unknown, message: string): asserts cond {
    if (!cond) throw new Error(message);
}

function runPlan(stackFile: string, stack: string, extra: string[] = []): { resources: PlanResource[]; outputs: Record<string, any> } {
    const out = execFileSync(process.execPath, ["--import", "tsx", path.join(repoRoot, "tools", "plan.ts"), "--stack", stack, "--stack-file", stackFile, "--json", "--show-secrets", ...extra], {
        cwd: repoRoot,
        encoding: "utf8",
        maxBuffer: 64 * 1024 * 1024,
        stdio: ["ignore", "pipe", "pipe"],
    });
    return JSON.parse(out);
}

/** A Pulumi project directory of its own: Pulumi.yaml and one stack file, so `stack init` never touches the repository. */
function projectDir(root: string, name: string, stackFileText: string, stack: string): string {
    const dir = path.join(root, name);
    mkdirSync(dir, { recursive: true });
    copyFileSync(path.join(repoRoot, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
    writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), stackFileText);
    return dir;
}

/** The committed e2e stack file with the values only this run knows. */
function e2eStackText(servers: Servers, overrides: [string[], unknown][] = []): string {
    const doc = parseDocument(readFileSync(path.join(repoRoot, "tools", "e2e", "Pulumi.e2e.yaml"), "utf8"));
    const set = (p: string[], v: unknown) => doc.setIn(["config", ...p], v);
    set(["platform-secrets:vault", "address"], servers.vault.address);
    set(["platform-secrets:vault", "kubernetesAuth", "host"], servers.kubeServer);
    set(["platform-secrets:vault", "kubernetesAuth", "caCertPem"], servers.caPem);
    set(["platform-secrets:vault", "kubernetesAuth", "issuer"], servers.serviceAccountIssuer);
    set(["platform-secrets:vault", "audit", "filePath"], servers.vaultAuditFile);
    set(["platform-secrets:kubernetes", "kubeconfigPath"], servers.kubeconfig);
    set(["platform-secrets:kubernetes", "externalSecrets", "vaultCaFromSystemRoots"], false);
    set(["platform-secrets:kubernetes", "externalSecrets", "vaultCaBundlePem"], servers.vault.caPem);
    for (const [p, v] of overrides) set(p, v);
    return doc.toString();
}

/** The Kubernetes half of the program, exactly as main() builds it, with Vault's real data versions. */
function kubernetesHalf(dataVersions: Record<string, string>) {
    return async () => {
        const config = loadConfig();
        const provider = createKubernetesProvider(config);
        const k8s = new KubernetesSecrets("kubernetes", {
            config,
            provider,
            // AppCredentials.properties: every property the app's Vault secret holds (supplied ones only when set).
            properties: Object.fromEntries(config.apps.map((app) => [app.name, app.secrets.filter((s) => s.source.kind !== "supplied" || s.supplied).flatMap((s) => s.properties)])),
            dataVersions: Object.fromEntries(config.apps.map((app) => [app.name, dataVersions[app.name]])),
            backupRoleArns: Object.fromEntries(config.apps.map((app) => [app.name, {}])),
        });
        return { externalSecrets: k8s.externalSecrets };
    };
}

interface Changes {
    ops: Record<string, string>;
}
function collector(): { onEvent: (e: EngineEvent) => void; changes: Changes } {
    const changes: Changes = { ops: {} };
    return {
        changes,
        onEvent: (e) => {
            const m = e.resourcePreEvent?.metadata;
            if (m && m.op !== "same" && m.op !== "read") changes.ops[m.urn] = m.op;
        },
    };
}

async function main_(): Promise<number> {
    const tcDir = process.argv[2];
    assert(tcDir && existsSync(path.join(tcDir, ".complete")), "usage: run.ts <toolchain dir> (built by tools/toolchain/build.sh)");
    const tc = toolchain(tcDir);
    const runDir = mkdtempSync(path.join(os.tmpdir(), "platform-secrets-e2e-"));
    log(`run directory ${runDir}`);
    const reports: ScenarioReport[] = [];
    const timings: Record<string, number> = {};
    const scenario = async (id: string, title: string, fn: () => Promise<string | void>) => {
        const t0 = Date.now();
        log(`${id}: ${title}`);
        try {
            const detail = (await fn()) ?? "";
            reports.push({ id, title, result: "pass", seconds: (Date.now() - t0) / 1000, detail });
        } catch (e) {
            const detail = explain(e);
            log(`${id} FAILED: ${detail}`);
            reports.push({ id, title, result: "fail", seconds: (Date.now() - t0) / 1000, detail });
        }
    };
    const blocked = (id: string, title: string, why: string) => reports.push({ id, title, result: "blocked", seconds: 0, detail: why });

    const servers = await startServers(tc, runDir, log);
    try {
        const pulumiCommand = await PulumiCommand.get({ root: path.dirname(path.dirname(tc.bin("pulumi"))) });
        const envVars = {
            PULUMI_HOME: tc.pulumiHome,
            PULUMI_BACKEND_URL: `file://${path.join(runDir, "state")}`,
            PULUMI_CONFIG_PASSPHRASE: "platform-secrets-e2e",
            PULUMI_SKIP_UPDATE_CHECK: "true",
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
            PULUMI_IGNORE_AMBIENT_PLUGINS: "true",
            PULUMI_SKIP_CONFIRMATIONS: "true",
            KUBECONFIG: servers.kubeconfig,
        };
        mkdirSync(path.join(runDir, "state"), { recursive: true });

        // ---- The engine's own config check of every stack file, with the whole program.
        await scenario("config", "the engine accepts every stack file's config and runs the whole program up to its first plugin", async () => {
            // Every committed stack file; a KMS secrets provider is swapped for this run's passphrase one.
            const files: [string, string][] = [
                ...readdirSync(repoRoot)
                    .map((f) => /^Pulumi\.([^.]+)\.yaml$/.exec(f))
                    .filter((m): m is RegExpExecArray => m !== null)
                    .map((m): [string, string] => [m[1], readFileSync(path.join(repoRoot, m[0]), "utf8").replace(/^(secretsprovider|encryptedkey):.*$/gm, "")]),
                [STACK, e2eStackText(servers)],
            ];
            const lines: string[] = [];
            for (const [stack, text] of files) {
                // A backend of its own, so the Kubernetes half's stack below starts empty.
                const backend = path.join(runDir, "state-config");
                mkdirSync(backend, { recursive: true });
                const ws = await LocalWorkspace.create({ workDir: projectDir(runDir, `config-${stack}`, text, stack), pulumiCommand, envVars: { ...envVars, PULUMI_BACKEND_URL: `file://${backend}` }, program: async () => main() });
                const s = await Stack.createOrSelect(stack, ws);
                // What an operator sets with `pulumi config set --secret --path` (required where the stack says so).
                await s.setConfig("platform-secrets:suppliedSecrets.nemo-server.huggingface_token", { value: "hf_e2e_placeholder", secret: true }, true);
                let err = "";
                try {
                    await s.preview();
                } catch (e) {
                    err = String(e);
                }
                const configError = /validating stack config|missing configuration|invalid configuration/.exec(err);
                assert(!configError, `${stack}: ${explain(err)}`);
                const plugin = /no resource plugin '([^']+)'|could not find (?:a )?(?:resource )?plugin[^\n]*?([a-z-]+)/i.exec(err);
                assert(plugin, `${stack}: expected the run to stop at a plugin this machine cannot build; got: ${err ? explain(err) : "success"}`);
                lines.push(`${stack}: config accepted, stopped at ${plugin[1] ?? plugin[2]}`);
            }
            return lines.join("; ");
        });

        // ---- The Kubernetes half under the engine, the Vault half on OpenBao.
        const stackText = e2eStackText(servers);
        const workDir = projectDir(runDir, "project", stackText, STACK);
        const stackFile = path.join(workDir, `Pulumi.${STACK}.yaml`);
        const plan = runPlan(stackFile, STACK);
        const ws = await LocalWorkspace.create({ workDir, pulumiCommand, envVars, program: kubernetesHalf({}) });
        const stack = await Stack.createOrSelect(STACK, ws);
        const kvName = (app: string) => `shared-infra/${app}/${STACK}`;
        const appNames = Object.keys(plan.outputs.externalSecrets ?? {});
        let versions: Record<string, string> = {};
        const vaultVersions = (v: Record<string, number>) => Object.fromEntries(appNames.map((a) => [a, String(v[`secret/${kvName(a)}`])]));

        await scenario("vault-apply", "Vault takes the program's documents (mount, policies, auth, roles, KV data, audit)", async () => {
            const v = await applyVaultDocuments(servers.vault, plan.resources);
            versions = vaultVersions(v);
            assert(appNames.every((a) => versions[a] === "1"), `KV versions ${JSON.stringify(versions)}`);
            return `KV versions ${JSON.stringify(versions)}`;
        });

        await scenario("a", "first `pulumi up` of an empty stack (Kubernetes half), taking over the namespace a runbook made with kubectl", async () => {
            // Runbook 001 §3.2: `kubectl create namespace soma-memory` before this program existed.
            servers.kubectl(["create", "namespace", "soma-memory"]);
            const nsUrl = "/api/v1/namespaces/soma-memory";
            const uidBefore = (await servers.kube.request<any>("GET", nsUrl)).body.metadata.uid;
            const t0 = Date.now();
            const r = await stack.up({ program: kubernetesHalf(versions) });
            timings.coldUpSeconds = (Date.now() - t0) / 1000;
            assert(r.summary.result === "succeeded", `up ${r.summary.result}`);
            const ns = (await servers.kube.request<any>("GET", nsUrl)).body.metadata;
            assert(ns.uid === uidBefore, "the hand-made namespace was replaced, not taken over");
            assert(ns.labels?.["app.kubernetes.io/managed-by"] === "platform-secrets", "the taken-over namespace lacks the program's labels");
            return `${JSON.stringify(r.summary.resourceChanges)} in ${timings.coldUpSeconds} s; kubectl's namespace taken over (same uid)`;
        });

        await scenario("b", "`pulumi preview --expect-no-changes` right after", async () => {
            const t0 = Date.now();
            await stack.preview({ program: kubernetesHalf(versions), expectNoChanges: true });
            timings.noopPreviewSeconds = (Date.now() - t0) / 1000;
        });

        await scenario("c", "Vault: KV data, policies, roles, audit; a real ServiceAccount token logs in, reads its own path only", async () => {
            const notes: string[] = [];
            const policies = plan.resources.filter((r) => r.type === "vault:index/policy:Policy");
            for (const p of policies) {
                const r = await servers.vault.request("GET", `sys/policies/acl/${p.inputs.name}`);
                assert(r.status === 200 && r.body.data.policy === p.inputs.policy, `policy ${p.inputs.name} not as rendered`);
            }
            const audit = await servers.vault.request("GET", "sys/audit");
            assert(Object.keys(audit.body.data ?? audit.body).some((k) => k.startsWith("file")), "no file audit device");
            const roles = plan.resources.filter((r) => r.type === "vault:kubernetes/authBackendRole:AuthBackendRole").map((r) => r.inputs);
            for (const kv of plan.resources.filter((r) => r.type === "vault:kv/secretV2:SecretV2")) {
                const expected = JSON.parse(reveal(kv.inputs.dataJson));
                const r = await servers.vault.request("GET", `${kv.inputs.mount}/data/${kv.inputs.name}`);
                assert(r.status === 200, `${kv.inputs.name}: HTTP ${r.status}`);
                assert(JSON.stringify(Object.keys(r.body.data.data).sort()) === JSON.stringify(Object.keys(expected).sort()), `${kv.inputs.name}: properties differ`);
            }
            for (const role of roles) {
                const app = appNames.find((a) => role.boundServiceAccountNamespaces.includes(plan.outputs.externalSecrets[a].namespace))!;
                const other = appNames.find((a) => a !== app)!;
                const ns = role.boundServiceAccountNamespaces[0];
                const sa = role.boundServiceAccountNames[0];
                // The token ESO requests for the store: the Vault audience and the API server's.
                const tr = await servers.kube.request<any>("POST", `/api/v1/namespaces/${ns}/serviceaccounts/${sa}/token`, {
                    apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { audiences: [role.audience, "https://kubernetes.default.svc"], expirationSeconds: 600 },
                });
                assert(tr.status === 201, `TokenRequest ${ns}/${sa}: HTTP ${tr.status}`);
                const login = await servers.vault.request("POST", `auth/${role.backend}/login`, { role: role.roleName, jwt: tr.body.status.token }, "");
                assert(login.status === 200, `${app}: login with role ${role.roleName}: HTTP ${login.status} ${JSON.stringify(login.body.errors)}`);
                const token = login.body.auth.client_token;
                const own = await servers.vault.request("GET", `secret/data/${kvName(app)}`, undefined, token);
                assert(own.status === 200, `${app}: own path: HTTP ${own.status}`);
                const theirs = await servers.vault.request("GET", `secret/data/${kvName(other)}`, undefined, token);
                assert(theirs.status === 403, `${app}: ${other}'s path: HTTP ${theirs.status}, expected 403`);
                const sys = await servers.vault.request("GET", "sys/mounts", undefined, token);
                assert(sys.status === 403, `${app}: sys/mounts: HTTP ${sys.status}, expected 403`);
                // A token with only the API server's audience is refused by the role.
                const wrong = await servers.kube.request<any>("POST", `/api/v1/namespaces/${ns}/serviceaccounts/${sa}/token`, {
                    apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { audiences: ["https://kubernetes.default.svc"], expirationSeconds: 600 },
                });
                const refused = await servers.vault.request("POST", `auth/${role.backend}/login`, { role: role.roleName, jwt: wrong.body.status.token }, "");
                assert(refused.status >= 400, `${app}: a token without the Vault audience logged in`);
                notes.push(`${app}: login ok, own path 200, ${other} 403, sys 403, wrong audience ${refused.status}`);
            }
            const auditText = existsSync(servers.vaultAuditFile) ? readFileSync(servers.vaultAuditFile, "utf8") : "";
            assert(auditText.includes(`auth/${roles[0].backend}/login`), "the audit log does not record the logins");
            return notes.join("; ");
        });

        await scenario("d", "the API server accepted every store and ExternalSecret through the CRD schema, and the RBAC", async () => {
            const k8sResources = plan.resources.filter((r) => r.type.startsWith("kubernetes:") && !r.type.startsWith("pulumi:providers"));
            for (const r of k8sResources) {
                const { apiVersion, kind } = r.inputs;
                const name = r.inputs.metadata.name;
                const ns = r.inputs.metadata.namespace;
                const group = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
                const plural = { Namespace: "namespaces", ServiceAccount: "serviceaccounts", ClusterRoleBinding: "clusterrolebindings", ClusterSecretStore: "clustersecretstores", SecretStore: "secretstores", ExternalSecret: "externalsecrets" }[kind as string];
                assert(plural, `no plural for ${kind}`);
                const url = `${group}${ns ? `/namespaces/${ns}` : ""}/${plural}/${name}`;
                const got = await servers.kube.request<any>("GET", url);
                assert(got.status === 200, `${kind} ${ns ?? ""}/${name}: HTTP ${got.status}`);
                if (kind === "ClusterRoleBinding") assert(got.body.roleRef.name === "system:auth-delegator", `${name}: roleRef ${got.body.roleRef.name}`);
            }
            // The schema is enforced: a malformed ExternalSecret is refused (server-side dry run).
            const bad = await servers.kube.request<any>("POST", `/apis/external-secrets.io/v1/namespaces/nemo-server/externalsecrets?dryRun=All&fieldValidation=Strict`, {
                apiVersion: "external-secrets.io/v1", kind: "ExternalSecret", metadata: { name: "malformed" }, spec: { secretStoreRef: { kind: "NoSuchKind", name: "x" }, data: [{ secretKey: 1 }] },
            });
            assert(bad.status === 422, `a malformed ExternalSecret got HTTP ${bad.status}`);
            return `${k8sResources.length} objects on the server; malformed ExternalSecret refused (422)`;
        });

        // ---- Rotation: new KV data (the offline plan with a generation bump), Vault's new version, the engine's update.
        const bumped = (gen: number) => e2eStackText(servers, [[["platform-secrets:rotation", "generations"], { "nemo-server/jwt_secret": gen }]]);
        const rotate = async (gen: number, label: string) => {
            const file = path.join(runDir, `rotation-${gen}.yaml`);
            writeFileSync(file, bumped(gen));
            const next = runPlan(file, STACK);
            const before = (await servers.vault.request("GET", `secret/data/${kvName("nemo-server")}`)).body.data;
            const v = await applyVaultDocuments(servers.vault, next.resources, (r) => r.type === "vault:kv/secretV2:SecretV2" && r.inputs.name === kvName("nemo-server"));
            versions = { ...versions, "nemo-server": String(v[`secret/${kvName("nemo-server")}`]) };
            const after = (await servers.vault.request("GET", `secret/data/${kvName("nemo-server")}`)).body.data;
            const c = collector();
            const preview = await stack.preview({ program: kubernetesHalf(versions), onEvent: c.onEvent });
            const t0 = Date.now();
            const up = await stack.up({ program: kubernetesHalf(versions) });
            timings[`${label}Seconds`] = (Date.now() - t0) / 1000;
            assert(up.summary.result === "succeeded", `rotation up ${up.summary.result}`);
            return { before, after, changes: c.changes, preview };
        };

        await scenario("e", "a generation bump: new KV version, previous = old primary, exactly the ExternalSecret updated, force-sync on the server", async () => {
            const esUrl = `/apis/external-secrets.io/v1/namespaces/nemo-server/externalsecrets/${plan.outputs.externalSecrets["nemo-server"].externalSecret}`;
            const annotationBefore = (await servers.kube.request<any>("GET", esUrl)).body.metadata.annotations[FORCE_SYNC_ANNOTATION];
            const { before, after, changes } = await rotate(1, "rotationUp");
            assert(after.metadata.version === before.metadata.version + 1, `KV version ${before.metadata.version} -> ${after.metadata.version}`);
            assert(after.data.jwt_secret_primary !== before.data.jwt_secret_primary, "the primary did not change");
            assert(after.data.jwt_secret_previous === before.data.jwt_secret_primary, "previous is not the old primary");
            assert(after.data.session_key === before.data.session_key, "a secret that was not bumped changed");
            const changed = Object.entries(changes.ops);
            assert(changed.length === 1 && /ExternalSecret::kubernetes-nemo-server-sync/.test(changed[0][0]) && changed[0][1] === "update", `preview changes: ${JSON.stringify(changes.ops)}`);
            const annotationAfter = (await servers.kube.request<any>("GET", esUrl)).body.metadata.annotations[FORCE_SYNC_ANNOTATION];
            assert(annotationAfter !== annotationBefore, "force-sync unchanged on the server");
            return `KV v${before.metadata.version}->v${after.metadata.version}; engine changed ${changed.map(([u, o]) => `${o} ${u.split("::").pop()}`).join(", ")}`;
        });
        blocked("e-engine", "the same rotation with @pulumi/random and the Vault provider under the engine (random resource, rotation date, KV data)", "the random, time and vault plugins cannot be built here: the Go module proxy refuses their provider modules (README)");
        blocked("f", "a counter that jumps by two rotates once, read back through the stack's reference to itself", "needs the random and time plugins under the engine (the self-reference is read by main(), which stops at them)");

        await scenario("g", "`--target-replace` with a URN printed by the offline plan", async () => {
            const sa = plan.resources.find((r) => r.type === "kubernetes:core/v1:ServiceAccount" && r.inputs.metadata.namespace === "nemo-server")!;
            const url = `/api/v1/namespaces/nemo-server/serviceaccounts/${sa.inputs.metadata.name}`;
            const uidBefore = (await servers.kube.request<any>("GET", url)).body.metadata.uid;
            const r = await stack.up({ program: kubernetesHalf(versions), replace: [sa.urn], target: [sa.urn], targetDependents: true });
            assert(r.summary.result === "succeeded", `up ${r.summary.result}`);
            assert((r.summary.resourceChanges?.replace ?? 0) >= 1, `no replacement: ${JSON.stringify(r.summary.resourceChanges)}`);
            const after = await servers.kube.request<any>("GET", url);
            assert(after.status === 200, `the ServiceAccount is gone from the server after its replacement (HTTP ${after.status}); engine: ${JSON.stringify(r.summary.resourceChanges)}`);
            assert(after.body.metadata.uid !== uidBefore, `the ServiceAccount on the server is the same object (uid ${uidBefore}); engine: ${JSON.stringify(r.summary.resourceChanges)}`);
            return `replaced ${sa.urn.split("::").pop()} (uid changed)`;
        });

        await scenario("h", "an operator's `kubectl annotate --overwrite force-sync=...`, then a rotation `up`", async () => {
            const es = plan.outputs.externalSecrets["nemo-server"].externalSecret;
            servers.kubectl(["-n", "nemo-server", "annotate", "externalsecret", es, `${FORCE_SYNC_ANNOTATION}=manual-${Date.now()}`, "--overwrite"]);
            await rotate(2, "rotationAfterAnnotateUp");
            const got = (await servers.kube.request<any>("GET", `/apis/external-secrets.io/v1/namespaces/nemo-server/externalsecrets/${es}`)).body;
            assert(!String(got.metadata.annotations[FORCE_SYNC_ANNOTATION]).startsWith("manual-"), "the program's force-sync did not win");
        });

        await scenario("i", "an `up` with a bad stack file fails and leaves the state and both servers as they were", async () => {
            const snapshot = async () => {
                const state = await stack.exportStack();
                const objects = await Promise.all(
                    ["/api/v1/namespaces?labelSelector=app.kubernetes.io%2Fmanaged-by%3Dplatform-secrets", "/apis/external-secrets.io/v1/externalsecrets", "/apis/external-secrets.io/v1/clustersecretstores", "/api/v1/serviceaccounts?labelSelector=app.kubernetes.io%2Fmanaged-by%3Dplatform-secrets"].map(
                        async (u) => ((await servers.kube.request<any>("GET", u)).body.items ?? []).map((o: any) => `${o.metadata.namespace ?? ""}/${o.metadata.name}@${o.metadata.resourceVersion}`),
                    ),
                );
                const kv = await Promise.all(appNames.map(async (a) => (await servers.vault.request("GET", `secret/metadata/${kvName(a)}`)).body.data.current_version));
                return JSON.stringify({ resources: (state.deployment as any).resources.map((r: any) => [r.urn, r.outputs]), objects, kv });
            };
            const before = await snapshot();
            writeFileSync(stackFile, e2eStackText(servers, [[["platform-secrets:vault", "kubernetesAuth", "audience"], "https://kubernetes.default.svc"]]));
            let failed = "";
            try {
                await stack.up({ program: kubernetesHalf(versions) });
            } catch (e) {
                failed = String(e);
            } finally {
                writeFileSync(stackFile, stackText);
            }
            assert(failed, "the bad stack file was accepted");
            assert(/vault\.kubernetesAuth\.audience/.test(failed), `the failure does not name the key path: ${explain(failed)}`);
            const after = await snapshot();
            assert(before === after, "state or servers changed");
            return "rejected by key path; state, Kubernetes objects and KV versions unchanged";
        });

        await scenario("j", "with protection on, `destroy` refuses; with it off, it leaves nothing of the stack in Kubernetes", async () => {
            writeFileSync(stackFile, e2eStackText(servers, [[["platform-secrets:protection", "protectStateful"], true]]));
            await stack.up({ program: kubernetesHalf(versions) });
            let refused = "";
            try {
                await stack.destroy();
            } catch (e) {
                refused = String(e);
            }
            assert(/protected/i.test(refused), `destroy with protection on did not refuse: ${refused.slice(0, 300) || "it succeeded"}`);
            for (const ns of ["nemo-server", "soma-memory"]) assert((await servers.kube.request("GET", `/api/v1/namespaces/${ns}`)).status === 200, `${ns} gone though protected`);
            writeFileSync(stackFile, stackText);
            await stack.up({ program: kubernetesHalf(versions) });
            const t0 = Date.now();
            const d = await stack.destroy();
            timings.destroySeconds = (Date.now() - t0) / 1000;
            assert(d.summary.result === "succeeded", `destroy ${d.summary.result}`);
            const left: string[] = [];
            for (const u of ["/apis/external-secrets.io/v1/externalsecrets", "/apis/external-secrets.io/v1/clustersecretstores", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings?labelSelector=app.kubernetes.io%2Fmanaged-by%3Dplatform-secrets", "/api/v1/serviceaccounts?labelSelector=app.kubernetes.io%2Fmanaged-by%3Dplatform-secrets"]) {
                for (const o of (await servers.kube.request<any>("GET", u)).body.items ?? []) left.push(`${o.kind ?? u}/${o.metadata.name}`);
            }
            for (const ns of ["nemo-server", "soma-memory"]) if ((await servers.kube.request("GET", `/api/v1/namespaces/${ns}`)).status !== 404) left.push(`namespace/${ns}`);
            assert(left.length === 0, `left behind: ${left.join(", ")}`);
            return `refused while protected; destroyed in ${timings.destroySeconds} s, nothing left`;
        });
        // ---- TLS material (runbook 001 §4): the PKI documents on OpenBao's real PKI engine.
        await scenario("tls", "Vault PKI: OpenBao's pki mount takes the program's mount, root, role and issue; the real certificate verifies against the CA bundle the app receives; the rotator may issue for its role only", async () => {
            const caPem = readFileSync(path.join(repoRoot, "test", "fixtures", "test-ca.crt"), "utf8");
            const tlsText = e2eStackText(servers, [
                [["platform-secrets:vault", "pki"], { path: "pki", manage: true, rootCommonName: "platform-secrets e2e issuing CA", rootTtlDays: 365, graceDays: 7 }],
                [["platform-secrets:apps", "soma-memory", "secrets", "postgres_client_cert"], { env: "POSTGRES_SSL_CERT", source: { kind: "vault-pki-cert", commonName: "soma", altNames: ["soma-memory.soma-memory.svc"], keyType: "ec", keyBits: 256, privateKeyEnv: "POSTGRES_SSL_KEY" } }],
                [["platform-secrets:apps", "soma-memory", "secrets", "postgres_ssl_root_cert"], { env: "POSTGRES_SSL_ROOT_CERT", source: { kind: "ca-bundle", pem: caPem, includePkiCa: true } }],
            ]);
            const tlsDir = projectDir(runDir, "project-tls", tlsText, STACK);
            const tlsPlan = runPlan(path.join(tlsDir, `Pulumi.${STACK}.yaml`), STACK);
            const rotatorName = "platform-secrets-rotator-e2e";
            const isPki = (r: PlanResource) => r.type.startsWith("vault:pkiSecret/") || (r.type === "vault:index/mount:Mount" && r.inputs.type === "pki") || (r.type === "vault:index/policy:Policy" && r.inputs.name === rotatorName);
            const types = [...new Set(tlsPlan.resources.filter(isPki).map((r) => r.type))].sort();
            assert(types.length === 5, `PKI documents in the plan: ${types.join(", ")}`);
            const issued: Parameters<typeof applyVaultDocuments>[3] = {};
            await applyVaultDocuments(servers.vault, tlsPlan.resources, isPki, issued);
            const got = issued!["vault-pki-soma-memory-postgres_client_cert"];
            assert(got, `no certificate issued: ${Object.keys(issued!).join(", ")}`);
            const cert = new X509Certificate(got.certificate);
            assert(cert.subject === "CN=soma", `subject ${cert.subject}`);
            assert(cert.subjectAltName === "DNS:soma, DNS:soma-memory.soma-memory.svc" || cert.subjectAltName === "DNS:soma-memory.soma-memory.svc, DNS:soma", `SANs ${cert.subjectAltName}`);
            assert(cert.publicKey.asymmetricKeyDetails?.namedCurve === "prime256v1", `key ${JSON.stringify(cert.publicKey.asymmetricKeyDetails)}`);
            assert(!cert.ca && JSON.stringify(cert.keyUsage) === JSON.stringify(["1.3.6.1.5.5.7.3.2"]), `client use only: ${JSON.stringify(cert.keyUsage)}`);
            const days = (Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / 86_400_000;
            assert(days <= 30 + 7 + 1 && days >= 30 + 7 - 1, `validity ${days} days, expected the 30-day period plus 7 grace days`);
            assert(createPublicKey(createPrivateKey(got.private_key)).export({ format: "der", type: "spki" }).equals(cert.publicKey.export({ format: "der", type: "spki" })), "the private key is the certificate's");
            // The bundle the app receives: the program's own composition (configured CA + the issuing CA), then OpenSSL judges the chain.
            const bundle = rollCaBundle(`${caPem}\n${got.issuing_ca}`, undefined, new Date(), 30).bundle;
            writeFileSync(path.join(tlsDir, "bundle.crt"), bundle);
            writeFileSync(path.join(tlsDir, "client.crt"), got.certificate);
            const verify = execFileSync("openssl", ["verify", "-purpose", "sslclient", "-CAfile", path.join(tlsDir, "bundle.crt"), path.join(tlsDir, "client.crt")], { encoding: "utf8" });
            assert(/: OK$/m.test(verify), `openssl verify: ${verify}`);
            // Without the PKI CA (the configured CA alone) the same certificate does not verify.
            writeFileSync(path.join(tlsDir, "platform-only.crt"), caPem);
            let refused = "";
            try {
                execFileSync("openssl", ["verify", "-CAfile", path.join(tlsDir, "platform-only.crt"), path.join(tlsDir, "client.crt")], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
            } catch (e) {
                refused = String((e as { stderr?: string }).stderr ?? e);
            }
            assert(refused !== "", "a bundle without the issuing CA verified the certificate");
            // The role allows exactly its names: OpenBao refuses any other.
            const role = tlsPlan.resources.find((r) => r.type === "vault:pkiSecret/secretBackendRole:SecretBackendRole")!.inputs.name;
            for (const cn of ["admin", "x.soma-memory.soma-memory.svc", "localhost"]) {
                const r = await servers.vault.request("POST", `pki/issue/${role}`, { common_name: cn });
                assert(r.status === 400, `issuing ${cn} under ${role}: HTTP ${r.status}`);
            }
            // A token with the rotator policy alone: issue for its role, nothing else on the mount.
            const tok = await servers.vault.request<any>("POST", "auth/token/create", { policies: [rotatorName], no_default_policy: true, ttl: "10m" });
            assert(tok.status === 200, `token: HTTP ${tok.status}`);
            const token = tok.body.auth.client_token as string;
            const asRotator = async (method: string, p: string, body?: unknown) => (await servers.vault.request(method, p, body, token)).status;
            const own = await asRotator("POST", `pki/issue/${role}`, { common_name: "soma" });
            assert(own === 200, `rotator issuing under its role: HTTP ${own}`);
            const denied: string[] = [];
            for (const [m, p, b] of [
                ["POST", "pki/sign-verbatim", { csr: "x" }],
                ["POST", "pki/issue/another-role", { common_name: "soma" }],
                ["POST", "pki/roles/another-role", { allow_any_name: true }],
                ["POST", "pki/revoke", { serial_number: got.serial_number }],
                ["DELETE", "pki/root", undefined],
                ["DELETE", "sys/mounts/pki", undefined],
            ] as const) {
                const st = await asRotator(m, p, b);
                if (st !== 403) denied.push(`${m} ${p}: HTTP ${st}`);
            }
            assert(denied.length === 0, `the rotator was not refused: ${denied.join("; ")}`);
            return `issued serial ${got.serial_number} (CN=soma, EC P-256, ${days.toFixed(1)} days); openssl verify against the app's bundle: OK, without the PKI CA: refused; role refuses other names; rotator: issue on its role only (6 other calls 403)`;
        });
        blocked("j-vault", "destroy leaves nothing of the stack in Vault", "Vault's resources are not under the engine here (no vault plugin)");
        blocked("7", "stretch: ESO and Reloader built from Go modules propagate a rotation", "not built yet: the ESO controller and Reloader are not in the toolchain");
    } finally {
        await servers.stop();
    }

    // ---- Report.
    const reportPath = path.join(runDir, "e2e-report.json");
    const toolchainVersions = JSON.parse(readFileSync(path.join(tcDir, "versions.json"), "utf8"));
    writeFileSync(reportPath, JSON.stringify({ toolchain: toolchainVersions, timings, scenarios: reports }, null, 2));
    const w = Math.max(...reports.map((r) => r.id.length));
    process.stdout.write(`\n${"scenario".padEnd(w)}  result   seconds  what\n`);
    for (const r of reports) process.stdout.write(`${r.id.padEnd(w)}  ${r.result.padEnd(7)}  ${r.seconds.toFixed(1).padStart(7)}  ${r.title}${r.result !== "pass" || r.detail ? `\n${" ".repeat(w + 19)}${r.detail}` : ""}\n`);
    const passed = reports.filter((r) => r.result === "pass").length;
    const failed = reports.filter((r) => r.result === "fail").length;
    process.stdout.write(`\ntimings: ${JSON.stringify(timings)}\nreport: ${reportPath}\n(blocked scenarios count as skipped below; the table says why)\ne2e: ${passed} passed, ${failed} failed, ${reports.length - passed - failed} skipped\n`);
    if (!process.env.E2E_KEEP) rmSync(path.join(runDir, "etcd"), { recursive: true, force: true });
    return failed === 0 ? 0 : 1;
}

main_().then(
    (code) => process.exit(code),
    (e) => {
        process.stderr.write(`e2e: ${e?.stack ?? e}\n`);
        process.exit(1);
    },
);
