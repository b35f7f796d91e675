/**
 * The harness itself: it must behave like the engine where the plain mocks do not, or every other
 * test could pass for the wrong reason.
 */
import assert from "node:assert/strict";
import * as path from "node:path";
import { describe, it } from "node:test";
import { runProgram } from "../tools/harness/run";
import { SecretValue } from "../tools/harness/secret";
import { TEST_NOW } from "./support";

const program = (name: string) => path.join(__dirname, "fixtures", "programs", name);
const config = { "platform-secrets:environment": "probe" };
// The probe programs read no platform config: their project declares none.
const project = { name: "platform-secrets", config: {} };

describe("the mock harness", () => {
    it("marks provider-declared secret outputs secret, as the engine does", async () => {
        const r = await runProgram({ stack: "probe", config, now: TEST_NOW, project, programModule: program("harnessProbe") });
        const pw = r.resources.find((x) => x.name === "probe-password")!;
        assert.ok(pw.outputs.result instanceof SecretValue, "RandomPassword.result must come back secret");
        assert.equal(typeof pw.outputs.length, "number", "non-secret outputs stay plain");
        assert.ok(r.outputs.password instanceof SecretValue, "a stack output built from it stays secret");
        assert.equal(r.outputs.passwordLength, 20);
        const bytes = r.resources.find((x) => x.name === "probe-bytes")!;
        assert.ok(bytes.outputs.base64 instanceof SecretValue && bytes.outputs.hex instanceof SecretValue);
    });

    it("waits for resources registered inside apply", async () => {
        const r = await runProgram({ stack: "probe", config, now: TEST_NOW, project, programModule: program("harnessProbe") });
        assert.ok(r.resources.some((x) => x.name === "probe-late"));
    });

    it("records resource options and explicit dependsOn", async () => {
        const r = await runProgram({ stack: "probe", config, now: TEST_NOW, project, programModule: program("harnessProbe") });
        const bytes = r.resources.find((x) => x.name === "probe-bytes")!;
        const pw = r.resources.find((x) => x.name === "probe-password")!;
        assert.equal(bytes.options.protect, true);
        assert.deepEqual(bytes.options.ignoreChanges, ["keepers"]);
        assert.deepEqual(bytes.options.dependsOn, [pw.urn]);
        assert.equal(pw.options.protect, undefined);
        assert.deepEqual(pw.options.additionalSecretOutputs?.sort(), ["bcryptHash", "result"]);
    });

    it("gives random values that are deterministic from name and inputs, and change with a keeper", async () => {
        const value = async (generation: string) => {
            const r = await runProgram({ stack: "probe", config: { ...config, "platform-secrets:probeGeneration": generation }, now: TEST_NOW, project, programModule: program("harnessProbe") });
            return (r.resources.find((x) => x.name === "probe-password")!.outputs.result as SecretValue).value;
        };
        const [a, b, c] = [await value("1"), await value("1"), await value("2")];
        assert.equal(a, b, "same name and inputs, same value");
        assert.notEqual(a, c, "a changed keeper gives a new value, as a replacement would");
        assert.match(String(a), /^[A-Za-z0-9]{20}$/, "special: false draws from letters and digits only");
    });

    it("rejects a duplicate URN, as the engine does", async () => {
        await assert.rejects(runProgram({ stack: "probe", config, now: TEST_NOW, project, programModule: program("duplicateUrn") }), /duplicate URN .*RandomBytes::twin/);
    });

    it("throws on an invoke nobody mocked, instead of echoing", async () => {
        await assert.rejects(
            runProgram({ stack: "probe", config, now: TEST_NOW, project, programModule: program("unmockedInvoke") }),
            /unmocked invoke aws:index\/getAvailabilityZones:getAvailabilityZones/,
        );
    });
});
