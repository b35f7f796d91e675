/**
 * Config validation: the real stack files parse, and every file of the bad corpus fails with the
 * path of the offending key, before the program registers anything.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { validateConfig } from "../components/config/load";
import { topLevelKeys } from "../components/config/schema";
import * as pulumi from "@pulumi/pulumi";
import { registeredBeforeFailure, runProgram } from "../tools/harness/run";
import { parseStackDocument, parseStackFile, projectName, readStackConfig, repoRoot, toRuntimeConfig } from "../tools/harness/stackConfig";
import { failureReport, runStack as planStack } from "../tools/planLib";
import { overlay, SUPPLIED, TEST_NOW } from "./support";

const corpusDir = path.join(__dirname, "fixtures", "bad-config");

/** The operator secrets without the optional HF token: the database managers' bootstrap passwords only. */
const BOOTSTRAP_ONLY = {
    "soma-memory": SUPPLIED["soma-memory"],
    "nemo-server": { postgres_manager_bootstrap: SUPPLIED["nemo-server"].postgres_manager_bootstrap, redis_manager_bootstrap: SUPPLIED["nemo-server"].redis_manager_bootstrap },
};

function validate(stack: string, supplied = true) {
    const rc = toRuntimeConfig(readStackConfig(stack), { suppliedSecrets: supplied ? SUPPLIED : BOOTSTRAP_ONLY });
    return validateConfig(rc.values, projectName, stack, rc.secretKeys);
}

describe("the stack files", () => {
    for (const stack of ["dev", "staging", "prod"]) {
        it(`${stack} validates and resolves the runbooks' paths and names`, () => {
            const c = validate(stack);
            assert.equal(c.environment, stack);
            const soma = c.apps.find((a) => a.name === "soma-memory")!;
            assert.equal(soma.vaultDataPath, `secret/data/shared-infra/soma-memory/${stack}`);
            assert.equal(soma.secretName, "soma-memory-runtime-secrets");
            assert.equal(soma.storeName, "soma-vault-store");
            assert.deepEqual(
                soma.secrets.filter((s) => s.properties[0].env).map((s) => [s.properties[0].env, s.properties[0].property]),
                [
                    ["SOMA_API_TOKEN", "soma_api_token"],
                    ["POSTGRES_URL", "postgres_dsn"],
                    ["REDIS_URL", "redis_url"],
                    ["QDRANT_URL", "qdrant_url"],
                    ["KAFKA_BOOTSTRAP_SERVERS", "kafka_bootstrap_servers"],
                    // Runbook 001 §4 where the stack requires TLS: its names, as files and settings.
                    ...(c.security.requireTls
                        ? [
                              ["POSTGRES_SSL_ROOT_CERT", "postgres_ssl_root_cert"],
                              ["POSTGRES_SSL_CERT", "postgres_client_cert"],
                              ["QDRANT_TLS", "qdrant_tls"],
                              ["QDRANT_TLS_CA_PATH", "qdrant_tls_ca"],
                              ["KAFKA_SECURITY_PROTOCOL", "kafka_security_protocol"],
                              ["KAFKA_SASL_MECHANISM", "kafka_sasl_mechanism"],
                              ["KAFKA_SASL_USERNAME", "kafka_sasl_username"],
                              ["KAFKA_SASL_PASSWORD", "kafka_sasl_password"],
                              ["KAFKA_SSL_CA_LOCATION", "kafka_ssl_ca_location"],
                          ]
                        : []),
                ],
            );
            if (c.security.requireTls) {
                const cert = soma.secrets.find((s) => s.key === "postgres_client_cert")!;
                assert.deepEqual(cert.properties.map((p) => [p.env, p.slot]), [["POSTGRES_SSL_CERT", "certificate"], ["POSTGRES_SSL_KEY", "private-key"]]);
            }
            assert.deepEqual(soma.backups.map((b) => b.target), ["postgres", "qdrant"]);
            const nemo = c.apps.find((a) => a.name === "nemo-server")!;
            const sizes = Object.fromEntries(nemo.secrets.map((s) => [s.key, s.source.kind === "random-bytes" ? `${s.source.bytes}:${s.source.encoding}` : s.source.kind]));
            assert.deepEqual(sizes, {
                session_key: "32:base64",
                jwt_secret: "32:base64",
                users_db_key: "32:base64",
                rag_db_key: "32:base64",
                // Alternating users through Vault's database secrets engine (docs/database-credentials.md).
                postgres_user: "database",
                postgres_password: "database",
                redis_user: "database",
                redis_password: "database",
                huggingface_token: "supplied",
            });
            const jwt = nemo.secrets.find((s) => s.key === "jwt_secret")!;
            assert.deepEqual(jwt.properties.map((p) => p.property), ["jwt_secret_primary", "jwt_secret_previous", "jwt_secret"]);
        });
    }

    it("differ only in settings: prod protects state, requires TLS and the HF token, rotates at 90 days", () => {
        const dev = validate("dev");
        const prod = validate("prod");
        assert.equal(prod.rotation.maxAgeDays, 90);
        assert.equal(prod.protection.protectStateful, true);
        assert.equal(dev.protection.protectStateful, false);
        assert.equal(prod.security.requireTls, true);
        assert.equal(prod.vault.audit.enabled, true);
        assert.equal(dev.vault.audit.enabled, false);
        const hf = (c: typeof dev) => c.apps.find((a) => a.name === "nemo-server")!.secrets.find((s) => s.key === "huggingface_token")!.source;
        assert.deepEqual(hf(prod), { kind: "supplied", required: true });
        assert.deepEqual(hf(dev), { kind: "supplied", required: false });
    });

    it("a dev stack without the optional HF token is valid and simply lacks it", () => {
        const c = validate("dev", false);
        const hf = c.apps.find((a) => a.name === "nemo-server")!.secrets.find((s) => s.key === "huggingface_token")!;
        assert.equal(hf.supplied, undefined);
    });

    it("a third environment needs only a new stack file", () => {
        // The operator secrets of a new environment: its database managers' bootstrap passwords.
        const staging = toRuntimeConfig({ ...readStackConfig("dev"), "platform-secrets:environment": "staging" }, { suppliedSecrets: BOOTSTRAP_ONLY });
        const c = validateConfig(staging.values, projectName, "anything", staging.secretKeys);
        assert.equal(c.apps[0].vaultDataPath.endsWith("/staging"), true);
    });

    it("Pulumi.yaml declares every top-level key with a description", () => {
        const project = parse(readFileSync(path.join(repoRoot, "Pulumi.yaml"), "utf8"));
        assert.equal(project.name, projectName);
        const declared = project.config as Record<string, { description?: string; type?: string }>;
        for (const key of topLevelKeys) assert.ok(declared[key]?.description, `Pulumi.yaml config lacks ${key}`);
        assert.deepEqual(Object.keys(declared).sort(), [...topLevelKeys].sort(), "no stale declarations");
        // Every key is typed (project.json's simpleConfigType): the engine checks each stack's values.
        for (const [key, d] of Object.entries(declared)) assert.ok(["string", "integer", "boolean", "array", "object"].includes(d.type ?? ""), `${key} has no type`);
    });

    it("an operator secret never appears in a validation message", () => {
        const rc = toRuntimeConfig(readStackConfig("dev"), { suppliedSecrets: { "nemo-server": { huggingface_token: "hf_SuperSecretValue123" } }, vault: { address: "nope" } });
        assert.throws(() => validateConfig(rc.values, projectName, "dev", rc.secretKeys), (e: Error) => !e.message.includes("hf_SuperSecretValue123"));
    });
});

interface Fixture {
    file: string;
    base: string;
    /** The engine's own config check (Pulumi.yaml's declarations) stops it before the program runs. */
    engine?: boolean;
    /** Substrings the message must contain: the offending key's path and what is wrong. */
    expect: string[];
    /** Substrings it must not contain (an encrypted value is never called plaintext). */
    absent: string[];
    /** Values that must never appear in the message. */
    secrets: string[];
    /** The secret config the run gets (`pulumi config set --secret`); SUPPLIED unless the fixture says. */
    secretConfig?: Record<string, unknown>;
    /** Builds the stack config as the CLI would read it; throws what the stack-file reader throws. */
    config: () => Record<string, unknown>;
}

/**
 * Two kinds of fixture. Structured ones (`base`, `expect`, `config`) overlay a stack file's config.
 * Raw ones (`# base:` and `# expect:` comments) are stack files themselves, read by the same reader
 * as the plan's --stack-file, so duplicate keys, syntax errors, alias bombs and merge keys are read
 * as the Pulumi CLI reads them; their top-level keys replace the base stack's.
 */
function loadFixture(file: string): Fixture {
    const text = readFileSync(path.join(corpusDir, file), "utf8");
    const rawExpect = [...text.matchAll(/^# expect: (.*)$/gm)].map((m) => m[1]);
    if (rawExpect.length > 0) {
        const base = /^# base: (\S+)$/m.exec(text)![1];
        return { file, base, engine: /^# engine: true$/m.test(text), expect: rawExpect, absent: [], secrets: [], config: () => ({ ...readStackConfig(base), ...parseStackFile(text, file) }) };
    }
    const f = parseStackDocument(text, file) as {
        base: string;
        engine?: boolean;
        expect: string[];
        absent?: string[];
        secrets?: string[];
        supplied?: boolean;
        secretConfig?: Record<string, unknown>;
        config: Record<string, unknown>;
    };
    const supplied = JSON.stringify(f.config["platform-secrets:suppliedSecrets"] ?? {}).match(/"(hf_[^"]+)"/g)?.map((v) => JSON.parse(v) as string) ?? [];
    const secretConfig = f.secretConfig ?? (f.supplied === false ? undefined : { suppliedSecrets: SUPPLIED });
    const secretValues = JSON.stringify(secretConfig ?? {}).match(/"(hf_[^"]+)"/g)?.map((v) => JSON.parse(v) as string) ?? [];
    return {
        file,
        base: f.base,
        engine: f.engine,
        expect: f.expect,
        absent: f.absent ?? [],
        secrets: [...(f.secrets ?? []), ...supplied, ...secretValues],
        secretConfig,
        config: () => overlay(readStackConfig(f.base), f.config) as Record<string, unknown>,
    };
}

/** Runs a fixture as the plan does: read the stack file, then the program; the error it ends with. */
async function failureOf(fixture: Fixture): Promise<Error> {
    let config: Record<string, unknown>;
    try {
        config = fixture.config();
    } catch (e) {
        return e as Error; // the reader refused the file: nothing ran, nothing registered
    }
    return runProgram({ stack: fixture.base, config, now: TEST_NOW, secretConfig: fixture.secretConfig }).then(
        () => assert.fail(`${fixture.file}: the program accepted a bad config`),
        (e: Error) => e,
    );
}

const STACK_FRAME = /^\s+at .*(\(.*:\d+:\d+\)|:\d+:\d+)$/m;

describe("the bad-config corpus", () => {
    const files = readdirSync(corpusDir).filter((f) => f.endsWith(".yaml")).sort();
    it("has at least 80 distinct bad stack files, covering each class of the issue", () => {
        assert.ok(files.length >= 80, `only ${files.length}`);
        const bodies = new Set(files.map((f) => readFileSync(path.join(corpusDir, f), "utf8").replace(/^#.*$/gm, "").replace(/^expect:[\s\S]*?^config:/m, "config:")));
        assert.equal(bodies.size, files.length, "two fixtures test the same stack file");
        const classes = files.map((f) => /^# Class (\d)/m.exec(readFileSync(path.join(corpusDir, f), "utf8"))?.[1]).filter(Boolean);
        for (const c of ["1", "2", "3", "4", "5", "6", "7"]) assert.ok(classes.filter((x) => x === c).length >= 3, `class ${c} has fewer than 3 fixtures`);
    });
    for (const file of files) {
        it(`${file} fails with the offending key's path, exit code 1, no stack trace, and registers nothing`, async () => {
            const fixture = loadFixture(file);
            const error = await failureOf(fixture);
            assert.equal(error.name, fixture.engine ? "StackConfigError" : "ConfigError", error.stack);
            // What the plan prints and exits with (tools/plan.ts); `pulumi up` prints a RunError's message alone.
            const report = failureReport(error);
            assert.equal(report.code, 1);
            assert.equal(report.text, error.message);
            // The engine's own check stops `pulumi up` before the program; the program's are RunErrors.
            if (!fixture.engine) assert.ok(error instanceof pulumi.RunError, "a ConfigError is a RunError, which the Pulumi CLI prints without a stack");
            assert.doesNotMatch(report.text, STACK_FRAME, "the message holds a stack frame");
            for (const expected of fixture.expect) assert.ok(report.text.includes(expected), `expected "${expected}" in:\n${report.text}`);
            for (const absent of fixture.absent) assert.ok(!report.text.includes(absent), `"${absent}" should not be in:\n${report.text}`);
            // No secret value, plaintext or supplied, ever appears in the message.
            for (const value of fixture.secrets) assert.ok(!report.text.includes(value), "a secret value is in the error message");
            const registered = registeredBeforeFailure(error).filter((r) => r.type !== "pulumi:pulumi:Stack");
            assert.deepEqual(registered.map((r) => r.urn), []);
        });
    }
});

describe("stack files accepted as they should be", () => {
    const accepts = (name: string, stack: string, patch: Record<string, unknown>) =>
        it(name, () => {
            const rc = toRuntimeConfig(overlay(readStackConfig(stack), patch) as Record<string, unknown>, { suppliedSecrets: SUPPLIED });
            assert.equal(validateConfig(rc.values, projectName, stack, rc.secretKeys).environment, stack);
        });
    accepts("Secret keys with dots and dashes (tls.crt, app-config.json)", "dev", {
        "platform-secrets:apps": { "nemo-server": { secrets: { session_key: { env: "tls.crt", source: { kind: "random-bytes", bytes: 32 } }, rag_db_key: { env: "app-config.json", source: { kind: "random-bytes", bytes: 32 } } } } },
    });
    accepts("libpq's forms of TLS: the last sslmode, driver schemes, keyword/value DSNs, a scheme from a plain value", "prod", {
        "platform-secrets:apps": {
            "soma-memory": {
                secrets: {
                    postgres_dsn: { env: "POSTGRES_URL", source: { kind: "composed", template: "postgresql+psycopg://{postgres_user}:{postgres_password}@db:5432/x?sslmode=disable&sslmode=verify-full" } },
                    pg_kv: { env: "PG_KV", source: { kind: "composed", template: "host=db dbname=x user={postgres_user} password='{postgres_password}' sslmode=require" } },
                    redis_scheme: { source: { kind: "plain", value: "rediss" } },
                    redis_url: { env: "REDIS_URL", source: { kind: "composed", template: "{redis_scheme}://:{redis_password}@redis:6380/0" } },
                },
            },
        },
    });
    accepts("a Vault namespace and mount written with slashes are normalised", "dev", { "platform-secrets:vault": { namespace: "/team-a/platform/", kv: { path: "kv-dev/" } } });
    accepts("a punycode host written out is a choice", "dev", { "platform-secrets:vault": { address: "https://xn--vult-8ve.dev.platform.internal:8200" } });

    it("names like constructor, toString and __proto__ are plain names", () => {
        const patch = JSON.parse(`{
            "platform-secrets:apps": { "constructor": { "namespace": "constructor", "secrets": { "constructor": { "env": "CTOR", "source": { "kind": "random-bytes", "bytes": 32 } } } } },
            "platform-secrets:aws": { "tags": { "__proto__": "kept", "toString": "kept too" } },
            "platform-secrets:rotation": { "generations": { "constructor/constructor": 2 } }
        }`);
        const rc = toRuntimeConfig(overlay(readStackConfig("dev"), patch) as Record<string, unknown>, { suppliedSecrets: SUPPLIED });
        const c = validateConfig(rc.values, projectName, "dev", rc.secretKeys);
        const app = c.apps.find((a) => a.name === "constructor")!;
        assert.equal(app.secrets[0].key, "constructor");
        assert.equal(app.secrets[0].generation, 2);
        assert.deepEqual(Object.keys(c.aws!.tags).sort(), ["__proto__", "environment", "managed-by", "toString"]);
        assert.equal(c.aws!.tags.__proto__, "kept");
        // An absent key of a map is absent, whatever its name.
        const nemo = c.apps.find((a) => a.name === "nemo-server")!;
        assert.equal(nemo.secrets.find((s) => s.key === "huggingface_token")!.supplied !== undefined, true);
    });

    it("merge keys resolve as gopkg.in/yaml.v3 resolves them: explicit keys win, earlier sources first", () => {
        const config = parseStackFile(
            ["config:", "  x:", "    a: &a { p: 1, q: 1 }", "    b: &b { p: 2, r: 2 }", "    m:", "      p: 0", "      <<: [*a, *b]", "    n:", "      <<: *b", "      r: 3"].join("\n"),
            "merge.yaml",
        ) as { x: Record<string, unknown> };
        assert.deepEqual(config.x.m, { p: 0, q: 1, r: 2 });
        assert.deepEqual(config.x.n, { p: 2, r: 3 });
    });
});

describe("the offline plan and operator secrets", () => {
    const CIPHERTEXT = { secure: "v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" };
    it("stands in a placeholder for an encrypted value it cannot decrypt", async () => {
        const config = { ...readStackConfig("prod"), "platform-secrets:suppliedSecrets": { "nemo-server": { huggingface_token: CIPHERTEXT } } };
        const notes: string[] = [];
        const result = await planStack("prod", { config, now: TEST_NOW, notice: (m) => notes.push(m) });
        assert.ok(result.resources.length > 0);
        assert.match(notes.join("\n"), /offline placeholders stand in for operator secrets .*suppliedSecrets\.nemo-server\.huggingface_token/);
    });
    it("refuses a plaintext value beside an encrypted one, by its path, registering nothing", async () => {
        const config = { ...readStackConfig("prod"), "platform-secrets:suppliedSecrets": { "nemo-server": { huggingface_token: CIPHERTEXT, hf_token: "hf_PlaintextBesideCiphertext0" } } };
        const error = await planStack("prod", { config, now: TEST_NOW }).then(() => assert.fail("accepted"), (e: Error) => e);
        assert.equal(failureReport(error).code, 1);
        assert.match(error.message, /platform-secrets:suppliedSecrets\.nemo-server\.hf_token: is plaintext in the stack file/);
        assert.doesNotMatch(error.message, /huggingface_token: is plaintext/, "the encrypted value is not called plaintext");
        assert.ok(!error.message.includes("hf_PlaintextBesideCiphertext0"));
        assert.deepEqual(registeredBeforeFailure(error).filter((r) => r.type !== "pulumi:pulumi:Stack"), []);
    });
});
