/**
 * The pack as the Pulumi CLI loads it: policy/ started through @pulumi/pulumi's own
 * run-policy-pack runner (ts-node compiles and type-checks policy/index.ts with policy/tsconfig.json,
 * PolicyPack reads policy/package.json), then driven over the analyzer gRPC protocol the engine
 * speaks: GetAnalyzerInfo, Configure, Analyze and AnalyzeStack, with secrets in the engine's wire
 * format. Proves the entry point, its package.json and the secret/unknown handling end to end.
 */
import assert from "node:assert/strict";
import { ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import * as pulumi from "@pulumi/pulumi";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { parse } from "yaml";
import { policies } from "../policy/policies";
import { T } from "../policy/types";
import { repoRoot } from "../tools/harness/stackConfig";

// The generated gRPC stubs the engine side uses (CommonJS, untyped here).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const analyzerRpc = require("@pulumi/pulumi/proto/analyzer_grpc_pb");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const analyzerPb = require("@pulumi/pulumi/proto/analyzer_pb");

const packDir = path.join(repoRoot, "policy");
const ADVISORY = 0;
const MANDATORY = 1;

type Diagnostic = { policy: string; urn: string; level: number; message: string };

function call<Req, Res>(client: any, method: string, req: Req): Promise<Res> {
    return new Promise((resolve, reject) => client[method](req, (err: Error | null, res: Res) => (err ? reject(err) : resolve(res))));
}

function options(protect = false, secretOutputs: string[] = []): unknown {
    return new analyzerPb.AnalyzerResourceOptions().setProtect(protect).setAdditionalsecretoutputsList(secretOutputs);
}

function diagnostics(res: any): Diagnostic[] {
    return res.getDiagnosticsList().map((d: any) => ({ policy: d.getPolicyname(), urn: d.getUrn(), level: d.getEnforcementlevel(), message: d.getMessage() }));
}

const urn = (type: string, name: string) => `urn:pulumi:prod::platform-secrets::${type}::${name}`;
/** The engine's wire format of a secret value. */
const secret = (value: unknown) => ({ [pulumi.runtime.specialSigKey]: pulumi.runtime.specialSecretSig, value });

describe("the pack loaded as the Pulumi CLI loads it", () => {
    let pack: ChildProcess;
    let client: any;
    let stderr = "";

    before(async () => {
        const runner = require.resolve("@pulumi/pulumi/cmd/run-policy-pack", { paths: [packDir] });
        pack = spawn(process.execPath, [runner, "127.0.0.1:0", "."], { cwd: packDir, stdio: ["ignore", "pipe", "pipe"] });
        pack.stderr!.on("data", (d) => (stderr += String(d)));
        const port = await new Promise<string>((resolve, reject) => {
            pack.stdout!.once("data", (d) => resolve(String(d).trim()));
            pack.once("exit", (code) => reject(new Error(`the pack exited (${code}) before serving:\n${stderr}`)));
        });
        assert.match(port, /^[0-9]+$/);
        client = new analyzerRpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    });

    after(() => {
        client?.close();
        pack?.kill();
    });

    it("serves every policy of policies.ts, at its own enforcement level, under the pack's name and version", async () => {
        const info: any = await call(client, "getAnalyzerInfo", new Empty());
        assert.equal(info.getName(), "platform-secrets");
        const pkg = JSON.parse(readFileSync(path.join(packDir, "package.json"), "utf8"));
        assert.equal(info.getVersion(), pkg.version);
        const served = info.getPoliciesList().map((p: any) => [p.getName(), p.getEnforcementlevel()]);
        assert.deepEqual(served.sort(), policies.map((p) => [p.name, p.enforcementLevel === "advisory" ? ADVISORY : MANDATORY]).sort());
        assert.equal(stderr, "");
    });

    it("flags a bad resource from its engine-format inputs, and passes a good one", async () => {
        const analyze = async (type: string, name: string, props: Record<string, unknown>) => {
            const req = new analyzerPb.AnalyzeRequest()
                .setType(type)
                .setName(name)
                .setUrn(urn(type, name))
                .setProperties(Struct.fromJavaScript(props as never))
                .setOptions(options(true));
            return diagnostics(await call(client, "analyze", req)).filter((d) => d.level === MANDATORY);
        };
        // (The engine attributes a resource policy's diagnostics to the resource it asked about.)
        const bad = await analyze(T.bucketVersioning, "v", { bucket: "b", versioningConfiguration: { status: "Suspended" } });
        assert.deepEqual(bad.map((d) => d.policy), ["s3-versioning"]);
        assert.deepEqual(await analyze(T.bucketVersioning, "v", { bucket: "b", versioningConfiguration: { status: "Enabled" } }), []);
        // A secret input arrives in the wire format and is read through: a short length inside a secret still fails.
        const short = await analyze(T.randomPassword, "p", { length: secret(8) });
        assert.deepEqual(short.map((d) => d.policy), ["generated-credential-length"]);
    });

    it("takes the stack's policy config through Configure, as --policy-pack-config passes it", async () => {
        const configure = async (file: string) => {
            const config = JSON.parse(readFileSync(path.join(packDir, "config", file), "utf8")) as Record<string, Record<string, unknown>>;
            const req = new analyzerPb.ConfigureAnalyzerRequest();
            for (const [name, settings] of Object.entries(config)) {
                req.getPolicyconfigMap().set(name, new analyzerPb.PolicyConfig().setEnforcementlevel(MANDATORY).setProperties(Struct.fromJavaScript(settings as never)));
            }
            await call(client, "configure", req);
        };
        const analyzeKey = async () => {
            const req = new analyzerPb.AnalyzeRequest().setType(T.kmsKey).setName("k").setUrn(urn(T.kmsKey, "k")).setProperties(Struct.fromJavaScript({})).setOptions(options(false));
            return diagnostics(await call(client, "analyze", req)).map((d) => d.policy);
        };
        await configure("dev.json");
        assert.deepEqual(await analyzeKey(), []);
        await configure("prod.json");
        assert.deepEqual(await analyzeKey(), ["stateful-resources-protected"]);
    });

    it("finds a secret generated value copied into a plain property of another resource", async () => {
        const value = "Zq8PaLw3Rt6YbNc2Hx9Ks4Dm7Vf1Jg5E";
        const resource = (type: string, name: string, props: Record<string, unknown>, secretOutputs: string[] = []) =>
            new analyzerPb.AnalyzerResource()
                .setType(type)
                .setName(name)
                .setUrn(urn(type, name))
                .setProperties(Struct.fromJavaScript(props as never))
                .setOptions(options(false, secretOutputs));
        const req = new analyzerPb.AnalyzeStackRequest().setResourcesList([
            resource(T.randomPassword, "pw", { length: 32, result: secret(value) }, ["bcryptHash", "result"]),
            resource(T.vaultKvSecretV2, "kv", { dataJson: secret(JSON.stringify({ pw: value })) }, ["data", "dataJson", "dataJsonWo"]),
            resource("kubernetes:core/v1:ConfigMap", "cm", { data: { PW: value } }),
        ]);
        // (Under prod.json, configured above, the prod promises also speak about this three-resource "stack".)
        const all = diagnostics(await call(client, "analyzeStack", req));
        const found = all.filter((d) => d.policy === "generated-values-secret-only");
        assert.deepEqual(found.map((d) => [d.policy, d.urn]), [["generated-values-secret-only", urn("kubernetes:core/v1:ConfigMap", "cm")]]);
        for (const d of all) assert.ok(!d.message.includes(value), "no violation prints the value");
    });
});

describe("one bypass of each class of issue 13, through the Pulumi runner (prod policy config)", () => {
    let pack: ChildProcess;
    let client: any;
    let stderr = "";
    const ACCOUNT = "444455556666";
    const ISSUER = "oidc.eks.eu-west-1.amazonaws.com/id/PROD0EXAMPLE9A1B2C3D4E5F60718293";

    before(async () => {
        const runner = require.resolve("@pulumi/pulumi/cmd/run-policy-pack", { paths: [packDir] });
        pack = spawn(process.execPath, [runner, "127.0.0.1:0", "."], { cwd: packDir, stdio: ["ignore", "pipe", "pipe"] });
        pack.stderr!.on("data", (d) => (stderr += String(d)));
        const port = await new Promise<string>((resolve, reject) => {
            pack.stdout!.once("data", (d) => resolve(String(d).trim()));
            pack.once("exit", (code) => reject(new Error(`the pack exited (${code}) before serving:\n${stderr}`)));
        });
        client = new analyzerRpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
        const config = JSON.parse(readFileSync(path.join(packDir, "config", "prod.json"), "utf8")) as Record<string, Record<string, unknown>>;
        const req = new analyzerPb.ConfigureAnalyzerRequest();
        for (const [name, settings] of Object.entries(config)) {
            const level = policies.find((p) => p.name === name)?.enforcementLevel === "advisory" ? ADVISORY : MANDATORY;
            req.getPolicyconfigMap().set(name, new analyzerPb.PolicyConfig().setEnforcementlevel(level).setProperties(Struct.fromJavaScript(settings as never)));
        }
        await call(client, "configure", req);
    });

    after(() => {
        client?.close();
        pack?.kill();
    });

    const analyze = async (type: string, name: string, props: Record<string, unknown>, protect = true) => {
        const req = new analyzerPb.AnalyzeRequest().setType(type).setName(name).setUrn(urn(type, name)).setProperties(Struct.fromJavaScript(props as never)).setOptions(options(protect));
        return [...new Set(diagnostics(await call(client, "analyze", req)).filter((d) => d.level === MANDATORY).map((d) => d.policy))].sort();
    };
    const resource = (type: string, name: string, props: Record<string, unknown>, protect = true) =>
        new analyzerPb.AnalyzerResource().setType(type).setName(name).setUrn(urn(type, name)).setProperties(Struct.fromJavaScript(props as never)).setOptions(options(protect));
    const analyzeStack = async (resources: unknown[]) =>
        diagnostics(await call(client, "analyzeStack", new analyzerPb.AnalyzeStackRequest().setResourcesList(resources))).filter((d) => d.level === MANDATORY);

    it("1: a trust policy with an extra statement for another account (the IAM policy simulator runs inside the pack)", async () => {
        const trust = {
            Version: "2012-10-17",
            Statement: [
                {
                    Effect: "Allow",
                    Principal: { Federated: `arn:aws:iam::${ACCOUNT}:oidc-provider/${ISSUER}` },
                    Action: "sts:AssumeRoleWithWebIdentity",
                    Condition: { StringEquals: { [`${ISSUER}:sub`]: "system:serviceaccount:soma-memory:soma-memory-backup-postgres", [`${ISSUER}:aud`]: "sts.amazonaws.com" } },
                },
                { Effect: "Allow", Principal: { AWS: "arn:aws:iam::111122223333:root" }, Action: "sts:AssumeRole" },
            ],
        };
        assert.deepEqual(await analyze(T.iamRole, "r", { assumeRolePolicy: JSON.stringify(trust) }), ["irsa-trust-pinned"]);
        assert.deepEqual(await analyze(T.iamRole, "r", { assumeRolePolicy: JSON.stringify({ ...trust, Statement: [trust.Statement[0]] }) }), []);
        assert.equal(stderr, "");
    });

    it("2: a bucket encrypted with another account's key", async () => {
        const key = resource(T.kmsKey, "k", { arn: `arn:aws:kms:eu-west-1:${ACCOUNT}:key/aaaa` });
        const sse = (keyArn: string) =>
            resource(T.bucketSse, "sse", { bucket: "b", rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: keyArn } }] });
        const flagged = await analyzeStack([key, sse("arn:aws:kms:eu-west-1:111122223333:key/bbbb")]);
        assert.deepEqual([...new Set(flagged.map((d) => d.policy))], ["s3-kms-stack-key"]);
        assert.deepEqual(await analyzeStack([key, sse(`arn:aws:kms:eu-west-1:${ACCOUNT}:key/aaaa`)]), []);
    });

    it("3: a policy named like the pipeline's with sudo over sys/*", async () => {
        assert.deepEqual(await analyze(T.vaultPolicy, "p", { name: "platform-secrets-rotator-prod", policy: 'path "sys/*" { capabilities = ["sudo", "update"] }' }), ["vault-app-policy-scoped"]);
        assert.deepEqual(await analyze(T.vaultPolicy, "p", { name: "platform-secrets-rotator-prod", policy: 'path "sys/audit/file" { capabilities = ["create", "update", "sudo"] }' }), []);
    });

    it("4: a ClusterSecretStore without conditions", async () => {
        const store = (conditions?: unknown) => ({
            apiVersion: "external-secrets.io/v1",
            kind: "ClusterSecretStore",
            metadata: { name: "s" },
            spec: { ...(conditions ? { conditions } : {}), provider: { vault: { server: "https://vault:8200", auth: { kubernetes: { role: "r", serviceAccountRef: { name: "sa", namespace: "soma-memory" } } } } } },
        });
        const type = "kubernetes:external-secrets.io/v1:ClusterSecretStore";
        assert.deepEqual(await analyze(type, "s", store()), ["external-secret-store-confined"]);
        assert.deepEqual(await analyze(type, "s", store([{ namespaces: ["soma-memory"] }])), []);
    });

    it("5: a 32-character password over a one-character alphabet", async () => {
        assert.deepEqual(await analyze(T.randomPassword, "p", { length: 32, upper: false, lower: false, numeric: false, special: true, overrideSpecial: "a" }), ["generated-credential-length"]);
        assert.deepEqual(await analyze(T.randomPassword, "p", { length: 32, special: false }), []);
    });

    it("6: an unprotected KMS alias", async () => {
        assert.deepEqual(await analyze(T.kmsAlias, "a", { name: "alias/x", targetKeyId: "k" }, false), ["stateful-resources-protected"]);
        assert.deepEqual(await analyze(T.kmsAlias, "a", { name: "alias/x", targetKeyId: "k" }, true), []);
    });

    it("7: a stack that configures Vault without an audit device", async () => {
        const policy = resource(T.vaultPolicy, "p", { name: "soma-memory-secrets-read-prod", policy: 'path "secret/data/shared-infra/soma-memory/prod" { capabilities = ["read"] }' });
        const audit = resource(T.vaultAudit, "audit", { type: "file", path: "file", options: { file_path: "/vault/logs/audit.log" } });
        assert.deepEqual([...new Set((await analyzeStack([policy])).map((d) => d.policy))], ["prod-vault-audit"]);
        assert.deepEqual(await analyzeStack([policy, audit]), []);
    });
});

describe("the pack's files", () => {
    it("declares the nodejs runtime and one version for PulumiPolicy.yaml and package.json", () => {
        const project = parse(readFileSync(path.join(packDir, "PulumiPolicy.yaml"), "utf8")) as { runtime: string; version: string };
        const pkg = JSON.parse(readFileSync(path.join(packDir, "package.json"), "utf8"));
        assert.equal(project.runtime, "nodejs");
        assert.equal(project.version, pkg.version);
    });

    it("pins the pack's SDKs to the versions the repository installs", () => {
        const pkg = JSON.parse(readFileSync(path.join(packDir, "package.json"), "utf8"));
        const root = JSON.parse(readFileSync(path.join(repoRoot, "package.json"), "utf8"));
        assert.deepEqual(Object.keys(pkg.dependencies).sort(), ["@cdktf/hcl2json", "@cloud-copilot/iam-simulate", "@pulumi/policy", "@pulumi/pulumi"]);
        assert.equal(pkg.dependencies["@pulumi/policy"], "1.21.0");
        assert.equal(pkg.dependencies["@pulumi/pulumi"], "3.248.0");
        // The IAM policy simulator the IAM policies decide with: the same exact version the repository installs.
        assert.equal(root.devDependencies["@cloud-copilot/iam-simulate"], pkg.dependencies["@cloud-copilot/iam-simulate"]);
        // The HCL parser Vault policies are read with, likewise.
        assert.equal(root.devDependencies["@cdktf/hcl2json"], pkg.dependencies["@cdktf/hcl2json"]);
        assert.equal(root.devDependencies["@pulumi/policy"], pkg.dependencies["@pulumi/policy"]);
        assert.equal(root.dependencies["@pulumi/pulumi"], pkg.dependencies["@pulumi/pulumi"]);
    });

    it("has no file next to policy/ that Node would load instead of the directory (pulumi/pulumi#4280)", () => {
        // The runner does require("<repo>/policy"): policy.js, policy.json, policy.ts or policy.node win over the directory.
        for (const ext of [".js", ".json", ".ts", ".node"]) assert.ok(!existsSync(path.join(repoRoot, `policy${ext}`)), `policy${ext}`);
    });
});
