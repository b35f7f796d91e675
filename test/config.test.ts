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
import { registeredBeforeFailure, runProgram } from "../tools/harness/run";
import { projectName, readStackConfig, repoRoot, toRuntimeConfig } from "../tools/harness/stackConfig";
import { overlay, SUPPLIED, TEST_NOW } from "./support";

const corpusDir = path.join(__dirname, "fixtures", "bad-config");

interface BadFixture {
    base: string;
    /** The engine's own config check (Pulumi.yaml's declarations) stops it before the program runs. */
    engine?: boolean;
    expect: string[];
    supplied?: boolean;
    config: Record<string, unknown>;
}

function validate(stack: string, supplied = true) {
    const rc = toRuntimeConfig(readStackConfig(stack), supplied ? { suppliedSecrets: SUPPLIED } : {});
    return validateConfig(rc.values, projectName, stack, rc.secretKeys);
}

describe("the stack files", () => {
    for (const stack of ["dev", "prod"]) {
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
                ],
            );
            assert.deepEqual(soma.backups.map((b) => b.target), ["postgres", "qdrant"]);
            const nemo = c.apps.find((a) => a.name === "nemo-server")!;
            const sizes = Object.fromEntries(nemo.secrets.map((s) => [s.key, s.source.kind === "random-bytes" ? `${s.source.bytes}:${s.source.encoding}` : s.source.kind]));
            assert.deepEqual(sizes, {
                session_key: "32:base64",
                jwt_secret: "32:base64",
                users_db_key: "32:base64",
                rag_db_key: "32:base64",
                postgres_user: "plain",
                postgres_password: "16:base64",
                redis_password: "16:base64",
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
        const staging = toRuntimeConfig({ ...readStackConfig("dev"), "platform-secrets:environment": "staging" }, {});
        const c = validateConfig(staging.values, projectName, "anything");
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

describe("the bad-config corpus", () => {
    const files = readdirSync(corpusDir).filter((f) => f.endsWith(".yaml")).sort();
    it("has at least 15 distinct bad stack files", () => {
        assert.ok(files.length >= 15, `only ${files.length}`);
        const bodies = new Set(files.map((f) => JSON.stringify(parse(readFileSync(path.join(corpusDir, f), "utf8")).config)));
        assert.equal(bodies.size, files.length);
    });
    for (const file of files) {
        it(`${file} fails with the offending key's path and registers nothing`, async () => {
            const fixture = parse(readFileSync(path.join(corpusDir, file), "utf8")) as BadFixture;
            const config = overlay(readStackConfig(fixture.base), fixture.config) as Record<string, unknown>;
            const error = await runProgram({
                stack: fixture.base,
                config,
                now: TEST_NOW,
                secretConfig: fixture.supplied === false ? undefined : { suppliedSecrets: SUPPLIED },
            }).then(
                () => assert.fail("the program accepted a bad config"),
                (e: Error) => e,
            );
            assert.equal(error.name, fixture.engine ? "StackConfigError" : "ConfigError", error.stack);
            for (const expected of fixture.expect) assert.ok(error.message.includes(expected), `expected "${expected}" in:\n${error.message}`);
            // Operator values never appear in the message, even plaintext ones.
            const supplied = JSON.stringify(fixture.config["platform-secrets:suppliedSecrets"] ?? {}).match(/"(hf_[^"]+)"/g) ?? [];
            for (const value of supplied) assert.ok(!error.message.includes(JSON.parse(value)), "an operator value is in the error message");
            const registered = registeredBeforeFailure(error).filter((r) => r.type !== "pulumi:pulumi:Stack");
            assert.deepEqual(registered.map((r) => r.urn), []);
        });
    }
});
