/**
 * Pulumi.yaml's config declarations, checked as the engine checks them before a program runs
 * (tools/harness/projectConfig.ts ports mergeConfig and Project.Validate of Pulumi v3.248.0).
 * The mocks never read Pulumi.yaml: before issue 11 the dev stack passed every test here and
 * `pulumi preview` stopped with "Stack 'dev' is missing configuration value 'suppliedSecrets'".
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { validateConfig } from "../components/config/load";
import { applyProjectConfig, loadProject, StackConfigError, validateConfigValue } from "../tools/harness/projectConfig";
import { registeredBeforeFailure, runProgram } from "../tools/harness/run";
import { projectName, readStackConfig, toRuntimeConfig } from "../tools/harness/stackConfig";
import { SUPPLIED, TEST_CA_PEM, TEST_NOW } from "./support";

const project = loadProject();
const required = Object.entries(project.config)
    .filter(([, d]) => d.default === undefined && d.value === undefined)
    .map(([k]) => k)
    .sort();
const withDefault = Object.keys(project.config).filter((k) => !required.includes(k));

/** The engine's check, then the program's validation, of a stack file's config map. */
function engineThenProgram(stack: string, config: Record<string, unknown>, secretConfig: Record<string, unknown> = {}) {
    const defaults = applyProjectConfig(stack, project, config, secretConfig);
    const rc = toRuntimeConfig({ ...config, ...defaults }, secretConfig);
    return validateConfig(rc.values, projectName, stack, rc.secretKeys);
}

/** A new stack file that sets only the keys Pulumi.yaml declares without a default (dev's values). */
/** A new stack with only the keys that have no default: dev's, for a cluster outside AWS (no backups, the API server named). */
function requiredOnly(): Record<string, unknown> {
    const dev = readStackConfig("dev");
    const config = Object.fromEntries(required.map((k) => [`${projectName}:${k}`, structuredClone(dev[`${projectName}:${k}`])])) as Record<string, any>;
    for (const app of Object.values(config[`${projectName}:apps`] as Record<string, any>)) {
        delete app.backups;
        // Without databases (alternating users need the operator's bootstrap secrets, not a default):
        // their credentials and the URLs composed from them go too.
        delete app.databases;
        const db = Object.keys(app.secrets).filter((k) => app.secrets[k].source.kind === "database");
        for (const k of Object.keys(app.secrets)) {
            const t = app.secrets[k].source.template;
            if (db.includes(k) || (typeof t === "string" && db.some((d) => t.includes(`{${d}}`)))) delete app.secrets[k];
        }
    }
    Object.assign(config[`${projectName}:vault`].kubernetesAuth, { host: "https://k8s.example.internal:6443", caCertPem: TEST_CA_PEM, issuer: "https://k8s.example.internal" });
    return config;
}

describe("Pulumi.yaml's config declarations, as the engine applies them", () => {
    it("pass the engine's own project validation, and every key is typed", () => {
        assert.equal(project.name, projectName);
        for (const [key, d] of Object.entries(project.config)) assert.ok(d.type, `${key} has no type: the engine would not check it`);
    });

    for (const stack of ["dev", "staging", "prod"]) {
        for (const withSecrets of [true, false]) {
            it(`Pulumi.${stack}.yaml passes the engine's check ${withSecrets ? "with" : "without"} operator secrets set`, () => {
                // Without: a stack no one ran `pulumi config set --secret` on yet (dev needs none).
                applyProjectConfig(stack, project, readStackConfig(stack), withSecrets ? { suppliedSecrets: SUPPLIED } : {});
            });
        }
    }

    it("a new stack file that sets only the required keys passes the engine's check and the program's", () => {
        assert.deepEqual(required, ["apps", "environment", "kubernetes", "vault"]);
        const c = engineThenProgram("staging", requiredOnly());
        assert.equal(c.environment, "dev");
    });

    it("each default is exactly the program's: a defaulted key set to it resolves as if absent", () => {
        const base = requiredOnly();
        const rc = toRuntimeConfig(base, {});
        const absent = validateConfig(rc.values, projectName, "staging", rc.secretKeys);
        assert.deepEqual(engineThenProgram("staging", base), absent);
        for (const key of withDefault) assert.deepEqual(project.config[key].default, {}, `${key}: the program's own defaults apply to {}`);
    });

    it("each key without a default is one the program cannot do without", () => {
        for (const key of required) {
            const config = requiredOnly();
            delete config[`${projectName}:${key}`];
            const rc = toRuntimeConfig(config, {});
            assert.throws(() => validateConfig(rc.values, projectName, "staging", rc.secretKeys), { name: "ConfigError" }, key);
        }
    });

    it("the harness stops a run where the engine would, before the program registers anything", async () => {
        const config = readStackConfig("dev");
        delete config[`${projectName}:vault`];
        const error = await runProgram({ stack: "dev", config, now: TEST_NOW }).then(
            () => assert.fail("the harness ran a stack the engine refuses"),
            (e: Error) => e,
        );
        assert.ok(error instanceof StackConfigError);
        assert.equal(error.message, "Stack 'dev' is missing configuration value 'vault'");
        assert.deepEqual(registeredBeforeFailure(error), []);
    });

    it("the declarations before issue 11 stop the dev stack, with the engine's message", () => {
        const before = loadProject(readFileSync(path.join(__dirname, "fixtures", "Pulumi.yaml.before-issue-11"), "utf8"));
        assert.throws(() => applyProjectConfig("dev", before, readStackConfig("dev")), { message: "Stack 'dev' is missing configuration value 'suppliedSecrets'" });
        // prod too, until someone has set the operator secret.
        assert.throws(() => applyProjectConfig("prod", before, readStackConfig("prod")), { message: "Stack 'prod' is missing configuration value 'suppliedSecrets'" });
    });
});

describe("the port of mergeConfig and Project.Validate (sdk/go/common/workspace, v3.248.0)", () => {
    const p = (config: Record<string, unknown>, name = "proj") => loadProject(JSON.stringify({ name, runtime: "nodejs", config }));

    it("lists every missing key in one sorted message, as formatMissingKeys does", () => {
        const proj = p({ b: { type: "string" }, a: { type: "string" }, c: { type: "object" }, d: { type: "string", default: "x" } });
        assert.throws(() => applyProjectConfig("s", proj, {}), { message: "Stack 's' is missing configuration values 'a', 'b' and 'c'" });
        assert.throws(() => applyProjectConfig("s", proj, { "proj:a": "1", b: "2" }), { message: "Stack 's' is missing configuration value 'c'" });
    });

    it("sets defaults as the engine's createConfigValue does: scalars as text, the rest as JSON objects", () => {
        const proj = p({ n: { type: "integer", default: 3 }, b: { type: "boolean", default: false }, o: { type: "object", default: { k: 1 } }, s: { value: "v" } });
        assert.deepEqual(applyProjectConfig("s", proj, { n: "5" }), { "proj:b": "false", "proj:o": { k: 1 }, "proj:s": "v" });
    });

    it("checks types of explicitly typed keys only, first failure in key order", () => {
        const proj = p({ o: { type: "object" }, i: { type: "integer" }, u: {} });
        assert.throws(() => applyProjectConfig("s", proj, { o: "text", i: 1, u: 1 }), { message: "Stack 's' with configuration key 'o' must be of type 'object'" });
        assert.throws(() => applyProjectConfig("s", proj, { o: {}, i: "1.5", u: 1 }), { message: "Stack 's' with configuration key 'i' must be of type 'integer'" });
        applyProjectConfig("s", proj, { o: { a: [1] }, i: 7, u: { anything: true } });
        // A list is not an object; a YAML number given for a string key arrives as text.
        assert.equal(validateConfigValue("object", undefined, [1]), false);
        applyProjectConfig("s", p({ e: { type: "string" } }), { e: 123 });
    });

    it("requires secret keys encrypted, and rejects bad declarations as Project.Validate does", () => {
        assert.throws(() => applyProjectConfig("s", p({ t: { type: "string", secret: true } }), { t: "plain" }), { message: "Stack 's' with configuration key 't' must be encrypted as it's secret" });
        applyProjectConfig("s", p({ t: { type: "string", secret: true } }), { t: { secure: "v1:abc" } });
        applyProjectConfig("s", p({ t: { type: "object", secret: true } }), { t: { x: { secure: "v1:abc" } } });
        assert.throws(() => p({ o: { type: "object", default: "x" } }), { message: "The default value specified for configuration key 'o' is not of the expected type 'object'" });
        assert.throws(() => p({ a: { type: "array" } }), /declares an array but does not specify the underlying type/);
        assert.throws(() => p({ "aws:region": { type: "string" } }), { message: "Configuration key 'aws:region' is not namespaced by the project and should not define a type" });
        assert.throws(() => p({ k: { type: "map" } }), /value must be one of/);
        assert.throws(() => p({ k: { type: "string", required: true } }), /'required' not allowed/);
        // Another namespace's key is never "missing": only the project's own are.
        applyProjectConfig("s", p({ "aws:region": { value: "eu-west-1" } }), {});
    });
});
