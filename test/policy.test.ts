/**
 * The policy pack against deliberately good and bad resources: every bad resource is flagged by the
 * policy meant for it and by no other, every good one passes. The resources are built with the real
 * SDKs (test/fixtures/policy/resources.ts) and analyzed through tools/harness/policy.ts, which hands
 * the policies what the engine would. The per-stack graphs are in policy.dev/prod.test.ts.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as vault from "@pulumi/vault";
import { parse as hcl2json } from "@cdktf/hcl2json";
import type { IExternalSecretSpec } from "@kubernetes-models/external-secrets/external-secrets.io/v1/ExternalSecretSpec";
import type { ISecretStoreSpec } from "@kubernetes-models/external-secrets/external-secrets.io/v1/SecretStoreSpec";
import { durationSeconds, goDuration } from "../components/config/schema";
import { goDurationSeconds } from "../policy/lib/duration";
import { parseVaultPolicy, VaultPolicyParseError } from "../policy/lib/vaultPolicy";
import { policies } from "../policy/policies";
import type { ConfigMapProps, GeneratorProps, RandomIdProps } from "../policy/rules/credentials";
import type { ExternalSecretSpecProps, SecretStoreProps } from "../policy/rules/externalSecrets";
import type { RoleProps } from "../policy/rules/irsa";
import type {
    BucketAclProps,
    BucketOwnershipControlsProps,
    BucketPolicyProps,
    BucketProps,
    BucketPublicAccessBlockProps,
    BucketSseProps,
    BucketVersioningProps,
} from "../policy/rules/s3";
import type { AuthBackendRoleProps, VaultPolicyProps } from "../policy/rules/vault";
import { EXTERNAL_SECRET_TYPE, T } from "../policy/types";
import { analyze, mandatory, PolicyPackConfig, PolicyRecord, PolicyReport, UNKNOWN_STRING } from "../tools/harness/policy";
import { runProgram, RunResult } from "../tools/harness/run";
import { reveal } from "../tools/harness/secret";
import { EXPECTED } from "./fixtures/policy/resources";
import { TEST_NOW } from "./support";

const prodConfig = require("../policy/config/prod.json") as PolicyPackConfig;
const devConfig = require("../policy/config/dev.json") as PolicyPackConfig;
const STACK_TYPE = "pulumi:pulumi:Stack";

/** Policy names flagging each resource (by logical name), mandatory diagnostics only. */
function flaggedByName(run: RunResult, report: PolicyReport): Record<string, string[]> {
    const nameOf = new Map(run.resources.map((r) => [r.urn, r.name]));
    const out: Record<string, Set<string>> = {};
    for (const d of mandatory(report)) {
        const name = d.urn ? (nameOf.get(d.urn) ?? d.urn) : "<stack-wide>";
        (out[name] ??= new Set()).add(d.policy);
    }
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, [...v].sort()]));
}

function analyzeFixtures(run: RunResult, config?: PolicyPackConfig): Promise<PolicyReport> {
    return analyze(policies, run.resources, { config, stackOutputs: run.outputs, packEnforcementLevel: "mandatory" });
}

describe("the policy pack against good and bad resources", () => {
    let run: RunResult;
    let stackName: string;
    let prod: PolicyReport;

    before(async () => {
        run = await runProgram({ stack: "prod", now: TEST_NOW, programModule: path.join(__dirname, "fixtures", "policy", "resources") });
        stackName = run.resources.find((r) => r.type === STACK_TYPE)!.name;
        prod = await analyzeFixtures(run, prodConfig);
    });

    it("flags every bad resource by exactly the policy meant for it, and nothing else (prod policy config)", () => {
        const expected: Record<string, string[]> = { ...EXPECTED, [stackName]: ["generated-values-secret-only"] };
        const actual = flaggedByName(run, prod);
        const names = [...new Set([...Object.keys(expected), ...Object.keys(actual)])].sort();
        const mismatches = names
            .filter((n) => JSON.stringify(actual[n] ?? []) !== JSON.stringify([...(expected[n] ?? [])].sort()))
            .map((n) => `${n}: flagged by [${actual[n] ?? []}], expected [${expected[n] ?? []}]`);
        assert.deepEqual(mismatches, []);
        // The expectations name real resources: a typo in EXPECTED would make a bad case vacuous.
        for (const name of Object.keys(EXPECTED)) assert.ok(run.resources.some((r) => r.name === name), `no fixture resource named ${name}`);
    });

    it("every policy but the advisory one is mandatory (bad fixtures for every policy: test/policyBypass.test.ts)", () => {
        for (const p of policies) assert.equal(p.enforcementLevel, p.name === "prod-rotation-unscheduled" ? "advisory" : "mandatory", p.name);
        assert.equal(new Set(policies.map((p) => p.name)).size, policies.length, "policy names are unique");
    });

    it("reports only advisory-free, URN-attributed violations", () => {
        assert.deepEqual(prod.diagnostics.filter((d) => d.enforcementLevel !== "mandatory"), []);
        assert.deepEqual(prod.diagnostics.filter((d) => !d.urn), []);
    });

    it("never prints a generated value in a violation message", () => {
        const values = run.resources
            .filter((r) => r.type === T.randomBytes || r.type === T.randomPassword)
            .flatMap((r) => ["base64", "hex", "result"].map((k) => (reveal(r.outputs) as Record<string, unknown>)[k]))
            .filter((v): v is string => typeof v === "string");
        assert.ok(values.length >= 4);
        for (const d of prod.diagnostics) for (const v of values) assert.ok(!d.message.includes(v), `${d.policy} printed a generated value`);
    });

    it("does not require protection under the dev policy config, and requires it without any config (fail closed)", async () => {
        const dev = flaggedByName(run, await analyzeFixtures(run, devConfig));
        const unconfigured = flaggedByName(run, await analyzeFixtures(run, undefined));
        const protectedBy = (flags: Record<string, string[]>) =>
            Object.entries(flags)
                .filter(([, ps]) => ps.includes("stateful-resources-protected"))
                .map(([n]) => n)
                .sort();
        assert.deepEqual(protectedBy(dev), []);
        assert.deepEqual(protectedBy(unconfigured), ["unprotected", "unprotected-key", "unprotected-kv"]);
        assert.deepEqual(protectedBy(flaggedByName(run, prod)), ["unprotected", "unprotected-key", "unprotected-kv"]);
    });

    it("matches ExternalSecrets by the type token CustomResource gives the ESO kinds", async () => {
        const { ExternalSecret, ClusterExternalSecret } = await import("@kubernetes-models/external-secrets/external-secrets.io/v1");
        for (const model of [new ExternalSecret({ metadata: { name: "x" }, spec: {} }), new ClusterExternalSecret({ metadata: { name: "x" }, spec: { externalSecretSpec: {} } })]) {
            const token = `kubernetes:${model.apiVersion}:${model.kind}`;
            assert.match(token, EXTERNAL_SECRET_TYPE);
            assert.ok(run.resources.some((r) => r.type === token), `the fixture's CustomResource registers ${token}`);
        }
    });

    it("reads policy config files that name only real policies and declared settings", () => {
        const dir = path.join(__dirname, "..", "policy", "config");
        const files = readdirSync(dir).filter((f) => f.endsWith(".json"));
        assert.deepEqual(files.sort(), ["dev.json", "prod.json", "staging.json"]); // one per stack file
        for (const file of files) {
            const config = JSON.parse(readFileSync(path.join(dir, file), "utf8")) as PolicyPackConfig;
            for (const [name, value] of Object.entries(config)) {
                const policy = policies.find((p) => p.name === name);
                assert.ok(policy, `${file}: no policy named ${name}`);
                if (typeof value === "string") continue;
                for (const [key, setting] of Object.entries(value)) {
                    if (key === "enforcementLevel") continue;
                    const schema: { type?: unknown } | boolean | undefined = policy.configSchema?.properties[key];
                    assert.ok(schema && typeof schema === "object", `${file}: ${name} declares no setting ${key}`);
                    const kind: string = Array.isArray(setting) ? "array" : Number.isInteger(setting) && schema.type === "integer" ? "integer" : typeof setting;
                    assert.equal(kind, schema.type, `${file}: ${name}.${key}`);
                }
            }
        }
    });

    it("honours a disabled enforcement level from policy config", async () => {
        const report = await analyzeFixtures(run, { ...prodConfig, "s3-private": "disabled" });
        assert.ok(!report.diagnostics.some((d) => d.policy === "s3-private"));
        assert.ok(report.diagnostics.some((d) => d.policy === "s3-tls-only"));
    });
});

/** A hand-built record: what a preview of a new resource looks like (values the engine does not know yet). */
function record(type: string, name: string, props: Record<string, unknown>, extra: Partial<PolicyRecord> = {}): PolicyRecord {
    return {
        urn: `urn:pulumi:prod::platform-secrets::${type}::${name}`,
        type,
        name,
        custom: true,
        inputs: props,
        outputs: props,
        options: { protect: true },
        ...extra,
    };
}

describe("the policy pack during a preview (unknown values)", () => {
    const bucket = record(T.bucket, "new-bucket", { bucket: UNKNOWN_STRING, arn: UNKNOWN_STRING });
    const companions = (linked: boolean) =>
        [T.bucketSse, T.bucketVersioning, T.bucketPublicAccessBlock, T.bucketOwnershipControls, T.bucketPolicy].map((type, i) =>
            record(type, `new-bucket-${i}`, { bucket: UNKNOWN_STRING }, linked ? { propertyDependencies: { bucket: [bucket.urn] } } : {}),
        );

    it("links a new bucket's controls through property dependencies when the bucket name is not known yet", async () => {
        const report = await analyze(policies, [bucket, ...companions(true)], { config: prodConfig });
        assert.deepEqual(
            report.diagnostics.filter((d) => d.policy === "s3-bucket-controls-present"),
            [],
        );
    });

    it("reports a bucket whose controls cannot be linked to it", async () => {
        const report = await analyze(policies, [bucket, ...companions(false)], { config: prodConfig });
        assert.equal(mandatory(report).filter((d) => d.policy === "s3-bucket-controls-present" && d.urn === bucket.urn).length, 5);
    });

    it("downgrades a resource policy that reads an unknown value to advisory, as the engine does", async () => {
        const policy = record(T.bucketPolicy, "new-policy", { bucket: "b", policy: UNKNOWN_STRING });
        const report = await analyze(policies, [policy], { config: prodConfig });
        const tls = report.diagnostics.filter((d) => d.policy === "s3-tls-only");
        assert.equal(tls.length, 1);
        assert.equal(tls[0].enforcementLevel, "advisory");
        assert.match(tls[0].message, /during preview/);
    });

    it("still checks known generated values when others are unknown", async () => {
        const known = record(T.randomPassword, "known", { length: 32, result: "Zq8PaLw3Rt6YbNc2Hx9Ks4Dm7Vf1Jg5E" });
        const unknown = record(T.randomPassword, "unknown", { length: 32, result: UNKNOWN_STRING });
        const leak = record("kubernetes:core/v1:ConfigMap", "cm", { data: { a: "Zq8PaLw3Rt6YbNc2Hx9Ks4Dm7Vf1Jg5E", b: UNKNOWN_STRING } });
        const report = await analyze(policies, [known, unknown, leak], { config: prodConfig });
        assert.deepEqual(
            report.diagnostics.filter((d) => d.policy === "generated-values-secret-only").map((d) => [d.policy, d.urn, d.enforcementLevel]),
            [["generated-values-secret-only", leak.urn, "mandatory"]],
        );
    });
});

describe("what the policies assume about the SDKs", () => {
    it("names every type token as the SDK classes register it", () => {
        const classes: Record<string, object> = {
            bucket: aws.s3.Bucket,
            bucketV2: aws.s3.BucketV2,
            bucketSse: aws.s3.BucketServerSideEncryptionConfiguration,
            bucketSseV2: aws.s3.BucketServerSideEncryptionConfigurationV2,
            bucketVersioning: aws.s3.BucketVersioning,
            bucketVersioningV2: aws.s3.BucketVersioningV2,
            bucketPublicAccessBlock: aws.s3.BucketPublicAccessBlock,
            bucketOwnershipControls: aws.s3.BucketOwnershipControls,
            bucketPolicy: aws.s3.BucketPolicy,
            bucketAcl: aws.s3.BucketAcl,
            bucketAclV2: aws.s3.BucketAclV2,
            bucketWebsite: aws.s3.BucketWebsiteConfiguration,
            bucketWebsiteV2: aws.s3.BucketWebsiteConfigurationV2,
            bucketLifecycle: aws.s3.BucketLifecycleConfiguration,
            bucketLifecycleV2: aws.s3.BucketLifecycleConfigurationV2,
            bucketObjectLock: aws.s3.BucketObjectLockConfiguration,
            bucketObjectLockV2: aws.s3.BucketObjectLockConfigurationV2,
            iamRole: aws.iam.Role,
            kmsKey: aws.kms.Key,
            kmsAlias: aws.kms.Alias,
            vaultPolicy: vault.Policy,
            vaultMount: vault.Mount,
            vaultPkiRole: vault.pkisecret.SecretBackendRole,
            vaultPkiCert: vault.pkisecret.SecretBackendCert,
            vaultPkiRootCert: vault.pkisecret.SecretBackendRootCert,
            vaultKvSecretV2: vault.kv.SecretV2,
            vaultDatabaseConnection: vault.database.SecretBackendConnection,
            vaultKvSecret: vault.kv.Secret,
            vaultGenericSecret: vault.generic.Secret,
            vaultAudit: vault.Audit,
            vaultAuthBackend: vault.AuthBackend,
            vaultKubernetesAuthRole: vault.kubernetes.AuthBackendRole,
            randomBytes: random.RandomBytes,
            randomPassword: random.RandomPassword,
            randomString: random.RandomString,
            randomId: random.RandomId,
            configMap: k8s.core.v1.ConfigMap,
            helmRelease: k8s.helm.v3.Release,
            helmChartV4: k8s.helm.v4.Chart,
        };
        const { stack, ...tokens } = T;
        assert.equal(stack, "pulumi:pulumi:Stack");
        assert.deepEqual(Object.keys(tokens).sort(), Object.keys(classes).sort());
        for (const [key, token] of Object.entries(tokens)) assert.equal(token, (classes[key] as { __pulumiType?: string }).__pulumiType, key);

    });

    it("reads only properties the SDK argument types declare (checked by tsc)", () => {
        // Each interface the policies read props through must only name keys of the SDK's args type,
        // recursively; a misspelt property fails `tsc --noEmit`, not silently at preview.
        const checks: Record<string, true> = {
            bucket: true as KeysWithin<BucketProps, pulumi.Unwrap<aws.s3.BucketArgs>>,
            sse: true as KeysWithin<BucketSseProps, pulumi.Unwrap<aws.s3.BucketServerSideEncryptionConfigurationArgs>>,
            versioning: true as KeysWithin<BucketVersioningProps, pulumi.Unwrap<aws.s3.BucketVersioningArgs>>,
            pab: true as KeysWithin<BucketPublicAccessBlockProps, pulumi.Unwrap<aws.s3.BucketPublicAccessBlockArgs>>,
            ownership: true as KeysWithin<BucketOwnershipControlsProps, pulumi.Unwrap<aws.s3.BucketOwnershipControlsArgs>>,
            acl: true as KeysWithin<BucketAclProps, pulumi.Unwrap<aws.s3.BucketAclArgs>>,
            policy: true as KeysWithin<BucketPolicyProps, pulumi.Unwrap<aws.s3.BucketPolicyArgs>>,
            role: true as KeysWithin<RoleProps, pulumi.Unwrap<aws.iam.RoleArgs>>,
            vaultPolicy: true as KeysWithin<VaultPolicyProps, pulumi.Unwrap<vault.PolicyArgs>>,
            bytes: true as KeysWithin<Pick<GeneratorProps, "length">, pulumi.Unwrap<random.RandomBytesArgs>>,
            password: true as KeysWithin<GeneratorProps, pulumi.Unwrap<random.RandomPasswordArgs>>,
            string: true as KeysWithin<GeneratorProps, pulumi.Unwrap<random.RandomStringArgs>>,
            id: true as KeysWithin<RandomIdProps, pulumi.Unwrap<random.RandomIdArgs>>,
            configMap: true as KeysWithin<ConfigMapProps, pulumi.Unwrap<k8s.core.v1.ConfigMapArgs>>,
            authRole: true as KeysWithin<AuthBackendRoleProps, pulumi.Unwrap<vault.kubernetes.AuthBackendRoleArgs>>,
            esSpec: true as KeysWithin<ExternalSecretSpecProps, IExternalSecretSpec>,
            storeSpec: true as KeysWithin<NonNullable<SecretStoreProps["spec"]>, ISecretStoreSpec>,
        };
        assert.equal(Object.keys(checks).length, 17);
    });
});

type Plain<T> = NonNullable<T extends readonly (infer E)[] ? E : T>;
/** `true` when every key of Mine, recursively, is a key of Sdk. `unknown` and scalars end the walk. */
type KeysWithin<Mine, Sdk> = unknown extends Mine
    ? true
    : Plain<Mine> extends string | number | boolean
      ? true
      : [Exclude<keyof Plain<Mine>, keyof Plain<Sdk>>] extends [never]
        ? false extends { [K in keyof Plain<Mine> & keyof Plain<Sdk>]-?: KeysWithin<Plain<Mine>[K], Plain<Plain<Sdk>[K]>> }[keyof Plain<Mine> & keyof Plain<Sdk>]
            ? false
            : true
        : false;

describe("the pack's own parsers agree with the real ones", () => {
    const documents = [
        'path "secret/data/shared-infra/soma-memory/prod" {\n  capabilities = ["read"]\n}\npath "secret/metadata/shared-infra/soma-memory/prod" {\n  capabilities = ["read", "list"]\n}\n',
        '# comment\npath "a/b" { capabilities = ["read", "sudo"] }\n// another\npath "c/*" {\n  /* block */ capabilities = ["*"]\n  allowed_parameters = { "key" = [], "other" = ["x"] }\n}\n',
        'path "legacy" { policy = "write" }\npath "x/+/y" { capabilities = ["deny"] }',
        'path "with \\"quote\\"" { capabilities = ["list",] }',
    ];

    it("parses Vault policies as @cdktf/hcl2json does", async () => {
        const legacy: Record<string, string[]> = { write: ["create", "read", "update", "delete", "list"] };
        for (const doc of documents) {
            const theirs = (await hcl2json("policy.hcl", doc)) as { path: Record<string, { capabilities?: string[]; policy?: string }[]> };
            const expected = Object.entries(theirs.path)
                .flatMap(([p, blocks]) => blocks.map((b) => ({ path: p, capabilities: [...(b.capabilities ?? []), ...(b.policy ? legacy[b.policy] : [])] })))
                .sort((a, b) => a.path.localeCompare(b.path));
            const ours = (await parseVaultPolicy(doc)).sort((a, b) => a.path.localeCompare(b.path));
            assert.deepEqual(ours, expected, doc);
        }
    });

    it("rejects what @cdktf/hcl2json rejects, and what Vault would not read as a policy", async () => {
        for (const doc of ['path "a" { capabilities = ["read"', 'path "a" capabilities = ["read"] }', 'path "a" { capabilities = ["read"] ']) {
            await assert.rejects(hcl2json("policy.hcl", doc));
            await assert.rejects(parseVaultPolicy(doc), VaultPolicyParseError);
        }
        for (const doc of ['path = "secret/*"', 'path "a" { capabilities = ["${var.cap}"] }', 'path "a" { capabilities = "read" }', 'path "a" { policy = "root" }']) {
            await assert.rejects(parseVaultPolicy(doc), VaultPolicyParseError, doc);
        }
    });

    it("reads Go durations as the config schema does", () => {
        for (const d of ["1h", "15m", "90s", "1h30m", "2h45m10s", "500ms", "1m0s"]) {
            assert.ok(goDuration.safeParse(d).success, d);
            assert.equal(goDurationSeconds(d), durationSeconds(d), d);
        }
        for (const d of ["0", "0s", "0m", "0h0m"]) {
            assert.ok(!goDuration.safeParse(d).success, d);
            assert.equal(goDurationSeconds(d), 0, d);
        }
        for (const d of ["hourly", "1 h", "", "h1", "1d"]) {
            assert.ok(!goDuration.safeParse(d).success, d);
            assert.equal(goDurationSeconds(d), undefined, d);
        }
    });
});
