/**
 * The policy pack against one stack's real graph (runStack), with that stack's policy config, as
 * `pulumi preview --policy-pack policy --policy-pack-config policy/config/<stack>.json` would run
 * it. Written for whatever resources the graph holds: every check is over the resources present.
 * Used by test/policy.dev.test.ts and test/policy.prod.test.ts (one process per stack).
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import { policies } from "../policy/policies";
import { DEFAULT_STATEFUL_TYPES, T } from "../policy/types";
import { analyze, mandatory, PolicyPackConfig, PolicyRecord, PolicyReport } from "../tools/harness/policy";
import { reveal } from "../tools/harness/secret";
import { runStack, type RunResult } from "./support";

const configDir = path.join(__dirname, "..", "policy", "config");

export function policyConfig(stack: string): PolicyPackConfig {
    return JSON.parse(readFileSync(path.join(configDir, `${stack}.json`), "utf8")) as PolicyPackConfig;
}

function analyzeGraph(resources: PolicyRecord[], run: RunResult, config: PolicyPackConfig): Promise<PolicyReport> {
    return analyze(policies, resources, { config, stackOutputs: run.outputs, packEnforcementLevel: "mandatory" });
}

export function describePolicyPackOnStack(stack: string): void {
    describe(`the policy pack on the ${stack} graph`, () => {
        let run: RunResult;
        let config: PolicyPackConfig;
        let report: PolicyReport;

        before(async () => {
            run = await runStack(stack);
            config = policyConfig(stack);
            report = await analyzeGraph(run.resources, run, config);
        });

        it("has a policy config file, as CI passes it", () => {
            assert.ok(existsSync(path.join(configDir, `${stack}.json`)));
        });

        it("passes every policy: no violation and nothing left unchecked for the preview", () => {
            assert.deepEqual(report.diagnostics, []);
        });

        it("checked every generated credential and ran the stack policies", () => {
            const generators = run.resources.filter((r) => r.type === T.randomBytes || r.type === T.randomPassword);
            assert.ok(generators.length > 0);
            assert.equal(report.checked["generated-credential-length"], generators.length);
            assert.equal(report.checked["generated-values-secret-only"], 1);
            const buckets = run.resources.filter((r) => r.type === T.bucket || r.type === T.bucketV2);
            assert.equal(report.checked["s3-bucket-controls-present"] ?? 0, buckets.length > 0 ? 1 : 0);
        });

        it("would catch any of the graph's generated values copied into a plain property", async () => {
            // One leak per generated value, all in one graph: each ConfigMap holds only its own
            // value, so each must be flagged on its own, and nothing else may be.
            const generators = run.resources.filter((r) => r.type === T.randomBytes || r.type === T.randomPassword);
            const leaks: PolicyRecord[] = generators.map((g) => {
                const out = reveal(g.outputs) as Record<string, string>;
                const value = out.base64 ?? out.result;
                return {
                    urn: `urn:pulumi:${stack}::platform-secrets::kubernetes:core/v1:ConfigMap::leak-${g.name}`,
                    type: "kubernetes:core/v1:ConfigMap",
                    name: `leak-${g.name}`,
                    custom: true,
                    inputs: {},
                    outputs: { data: { VALUE: encodeURIComponent(value) } },
                    options: {},
                };
            });
            assert.ok(leaks.length > 0);
            const leaked = mandatory(await analyzeGraph([...run.resources, ...leaks], run, config));
            assert.deepEqual(
                leaked.map((d) => [d.policy, d.urn]).sort(),
                leaks.map((l) => ["generated-values-secret-only", l.urn]).sort(),
            );
        });

        it("would catch a credential shorter than 16", async () => {
            const g = run.resources.find((r) => r.type === T.randomBytes || r.type === T.randomPassword)!;
            const short: PolicyRecord = { ...g, urn: `${g.urn}-short`, name: `${g.name}-short`, inputs: { ...g.inputs, length: 15 } };
            const flagged = mandatory(await analyzeGraph([...run.resources, short], run, config));
            assert.deepEqual(
                flagged.map((d) => [d.policy, d.urn]),
                [["generated-credential-length", short.urn]],
            );
        });

        it("requires protect on exactly the stateful resources, under each stack's policy config", async () => {
            const stateful = run.resources.filter((r) => DEFAULT_STATEFUL_TYPES.includes(r.type));
            const unprotected = run.resources.map((r) => (DEFAULT_STATEFUL_TYPES.includes(r.type) ? { ...r, options: { ...r.options, protect: undefined } } : r));
            for (const file of readdirSync(configDir).filter((f) => f.endsWith(".json"))) {
                const c = policyConfig(path.basename(file, ".json"));
                const requires = (c["stateful-resources-protected"] as { requireProtect?: boolean } | undefined)?.requireProtect !== false;
                const flagged = mandatory(await analyzeGraph(unprotected, run, c)).filter((d) => d.policy === "stateful-resources-protected" && /not protected/.test(d.message));
                assert.deepEqual(flagged.map((d) => d.urn).sort(), requires ? stateful.map((r) => r.urn).sort() : [], file);
            }
        });
    });
}
