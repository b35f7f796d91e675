/**
 * Issue 13: the pack judges what a resource grants, not how it is named. Classes 1-6: the bypass
 * attempts of test/fixtures/policy/bypasses.ts, added to the real prod graph, are each flagged by
 * exactly the policies meant for them, and the real resources next to them stay clean. Class 7: the
 * real program with a prod stack file that turns one of prod's promises off is flagged by that
 * promise's policy (advisory where the README allows a reasoned exception), and by nothing else.
 */
import assert from "node:assert/strict";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import { policies } from "../policy/policies";
import { T } from "../policy/types";
import { analyze, mandatory, PolicyPackConfig, PolicyRecord, PolicyReport } from "../tools/harness/policy";
import { runProgram, RunResult } from "../tools/harness/run";
import { reveal } from "../tools/harness/secret";
import { BYPASSES } from "./fixtures/policy/bypasses";
import { EXPECTED } from "./fixtures/policy/resources";
import { runStack, stackConfig, TEST_NOW } from "./support";

const prodConfig = require("../policy/config/prod.json") as PolicyPackConfig;
const devConfig = require("../policy/config/dev.json") as PolicyPackConfig;

function flaggedBy(report: PolicyReport, level: "mandatory" | "advisory" = "mandatory"): Map<string, Set<string>> {
    const out = new Map<string, Set<string>>();
    for (const d of report.diagnostics.filter((x) => x.enforcementLevel === level)) {
        const key = d.urn ?? "<no urn>";
        if (!out.has(key)) out.set(key, new Set());
        out.get(key)!.add(d.policy);
    }
    return out;
}

describe("bypass attempts, classes 1-6, next to the real prod graph (prod policy config)", () => {
    let prod: RunResult;
    let fixtures: RunResult;
    let resources: PolicyRecord[];
    let report: PolicyReport;

    before(async () => {
        prod = await runStack("prod");
        fixtures = await runProgram({ stack: "prod", now: TEST_NOW, programModule: path.join(__dirname, "fixtures", "policy", "bypasses") });
        resources = [...prod.resources, ...fixtures.resources.filter((r) => r.type !== T.stack)];
        report = await analyze(policies, resources, { config: prodConfig, stackOutputs: prod.outputs, packEnforcementLevel: "mandatory" });
    });

    it("flags every bypass by exactly the policies meant for it", () => {
        const flagged = flaggedBy(report);
        const mismatches: string[] = [];
        for (const [name, { policies: expected }] of Object.entries(BYPASSES)) {
            const r = fixtures.resources.find((x) => x.name === name);
            assert.ok(r, `no fixture resource named ${name}`);
            const actual = [...(flagged.get(r.urn) ?? [])].sort();
            if (JSON.stringify(actual) !== JSON.stringify([...expected].sort())) mismatches.push(`${name}: flagged by [${actual}], expected [${expected}]`);
        }
        assert.deepEqual(mismatches, []);
    });

    it("flags nothing else: the real prod resources and the fixtures' helpers pass", () => {
        const bypassUrns = new Set(fixtures.resources.filter((r) => r.name in BYPASSES).map((r) => r.urn));
        const others = report.diagnostics.filter((d) => !d.urn || !bypassUrns.has(d.urn)).map((d) => `${d.policy} ${d.enforcementLevel} ${d.urn}: ${d.message}`);
        assert.deepEqual(others, []);
    });

    it("leaves no policy without a bad fixture: resources.ts, bypasses.ts, or a class-7 stack below", async () => {
        // resources.ts fills EXPECTED when it runs.
        await runProgram({ stack: "prod", now: TEST_NOW, programModule: path.join(__dirname, "fixtures", "policy", "resources") });
        const promises = policies.filter((p) => p.name.startsWith("prod-")).map((p) => p.name);
        const covered = new Set([...Object.values(EXPECTED).flat(), ...Object.values(BYPASSES).flatMap((b) => b.policies), ...promises]);
        assert.deepEqual([...covered].sort(), policies.map((p) => p.name).sort());
    });

    it("covers each of the classes 1-6 with at least two bypass attempts", () => {
        for (let cls = 1; cls <= 6; cls++) {
            const n = Object.values(BYPASSES).filter((b) => b.cls === cls).length;
            assert.ok(n >= 2, `class ${cls} has ${n} bypass attempts`);
        }
    });

    it("is not flagged by the prod-only promises under the dev policy config, but still by the others", async () => {
        const dev = flaggedBy(await analyze(policies, resources, { config: devConfig, stackOutputs: prod.outputs, packEnforcementLevel: "mandatory" }));
        const trust = fixtures.resources.find((r) => r.name === "bypass-trust-extra-statement")!;
        assert.deepEqual([...(dev.get(trust.urn) ?? [])], ["irsa-trust-pinned"]);
        const unprotected = fixtures.resources.find((r) => r.name === "bypass-unprotected-alias")!;
        assert.equal(dev.get(unprotected.urn), undefined);
    });

    it("never prints a generated value or a planted password in a message", () => {
        const generated = [...prod.resources, ...fixtures.resources]
            .filter((r) => r.type === T.randomBytes || r.type === T.randomPassword)
            .flatMap((r) => ["base64", "hex", "result"].map((k) => (reveal(r.outputs) as Record<string, unknown>)[k]))
            .filter((v): v is string => typeof v === "string");
        assert.ok(generated.length > 10);
        const planted = ["Hunter2CorrectHorse", "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"];
        for (const d of report.diagnostics) for (const v of [...generated, ...planted]) assert.ok(!d.message.includes(v), `${d.policy} printed a secret`);
    });
});

/** A prod stack file edited by `edit`, run by the real program and analyzed with the prod policy config. */
async function prodVariant(edit: (c: Record<string, any>) => void, mutate: (r: RunResult) => PolicyRecord[] = (r) => r.resources): Promise<PolicyReport> {
    const config = stackConfig("prod");
    edit(config);
    const run = await runStack("prod", { config });
    return analyze(policies, mutate(run), { config: prodConfig, stackOutputs: run.outputs, packEnforcementLevel: "mandatory" });
}

const policiesOf = (report: PolicyReport, level: "mandatory" | "advisory") => [...new Set(report.diagnostics.filter((d) => d.enforcementLevel === level).map((d) => d.policy))].sort();

describe("class 7: a prod stack that turns a promise off (the real program, prod policy config)", () => {
    const app = (c: Record<string, any>, name: string) => c["platform-secrets:apps"][name];
    const variants: { name: string; edit: (c: Record<string, any>) => void; mutate?: (r: RunResult) => PolicyRecord[]; mandatory: string[]; advisory?: string[] }[] = [
        {
            name: "TLS off: a rediss:// URL composed as redis://",
            edit: (c) => {
                c["platform-secrets:security"] = { requireTls: false };
                app(c, "soma-memory").secrets.redis_url.source.template = "redis://{redis_user}:{redis_password}@redis.soma-memory.svc.cluster.local:6379/0";
            },
            mandatory: ["prod-tls-urls"],
        },
        {
            name: "TLS off: a Postgres DSN without sslmode, and a plain http:// URL",
            edit: (c) => {
                c["platform-secrets:security"] = { requireTls: false };
                app(c, "soma-memory").secrets.postgres_dsn.source.template = "postgresql://{postgres_user}:{postgres_password}@postgres.soma-memory.svc.cluster.local:5432/somamemory";
                app(c, "soma-memory").secrets.qdrant_url.source.value = "http://qdrant.soma-memory.svc.cluster.local:6333";
            },
            mandatory: ["prod-tls-urls"],
        },
        { name: "the audit device turned off", edit: (c) => (c["platform-secrets:vault"].audit.enabled = false), mandatory: ["prod-vault-audit"] },
        { name: "the audit device writing to /dev/null", edit: (c) => (c["platform-secrets:vault"].audit.filePath = "/dev/null"), mandatory: ["prod-vault-audit"] },
        { name: "object lock turned off", edit: (c) => (c["platform-secrets:backup"].objectLock.enabled = false), mandatory: ["prod-object-lock"] },
        {
            name: "object lock configurations dropped from the graph",
            edit: () => undefined,
            mutate: (r) => r.resources.filter((x) => x.type !== T.bucketObjectLock),
            mandatory: ["prod-object-lock"],
        },
        {
            name: "Reloader without HA",
            edit: (c) => Object.assign(c["platform-secrets:reloader"], { ha: false, replicas: 1 }),
            mandatory: ["prod-reloader-ha"],
        },
        { name: "Reloader not installed", edit: (c) => Object.assign(c["platform-secrets:reloader"], { enabled: false, ha: false, replicas: 1 }), mandatory: ["prod-reloader-ha"] },
        { name: "the rotation schedule switched off", edit: (c) => (c["platform-secrets:rotation"].maxAgeDays = 0), mandatory: ["prod-rotation-schedule"], advisory: ["prod-rotation-unscheduled"] },
        // Certificates follow the schedule: their role's max TTL (187 days) breaks the PKI bound too.
        { name: "a 180-day schedule", edit: (c) => (c["platform-secrets:rotation"].maxAgeDays = 180), mandatory: ["prod-rotation-schedule", "vault-pki-role-exact"] },
        {
            name: "one secret taken out of the schedule without recording the exception",
            edit: (c) => Object.assign(app(c, "soma-memory").secrets.soma_api_token, { maxAgeDays: 0, exemptReason: "a reason, but no record in policy/config" }),
            mandatory: [],
            advisory: ["prod-rotation-unscheduled"],
        },
        {
            // The config rules refuse maxAgeDays: 0 without a reason; the pack judges the inventory itself.
            name: "an exempt secret whose reason is missing from the inventory",
            edit: () => undefined,
            mutate: (r) => {
                for (const e of r.outputs.inventory as { exemptReason?: string }[]) delete e.exemptReason;
                return r.resources;
            },
            mandatory: ["prod-rotation-schedule"],
            advisory: ["prod-rotation-unscheduled"],
        },
        {
            name: "Vault's connection to Redis without TLS",
            edit: (c) => {
                c["platform-secrets:security"] = { requireTls: false };
                app(c, "soma-memory").databases.redis.tls = false;
            },
            mandatory: ["prod-tls-urls"],
        },
    ];

    for (const v of variants) {
        it(`flags ${v.name} by ${[...v.mandatory, ...(v.advisory ?? []).map((a) => `${a} (advisory)`)].join(", ") || "nothing mandatory"}`, async () => {
            const report = await prodVariant(v.edit, v.mutate);
            assert.deepEqual(policiesOf(report, "mandatory"), [...v.mandatory].sort(), report.diagnostics.map((d) => d.message).join("\n"));
            assert.deepEqual(policiesOf(report, "advisory"), [...(v.advisory ?? [])].sort());
            for (const d of mandatory(report)) assert.ok(d.urn, `${d.policy} reported without a URN`);
        });
    }

    it("each promise has its own policy, required by prod.json and staging.json (prod's rehearsal), off in dev.json", () => {
        const stagingConfig = require("../policy/config/staging.json") as PolicyPackConfig;
        const promises = policies.filter((p) => p.name.startsWith("prod-")).map((p) => p.name).sort();
        assert.deepEqual(promises, ["prod-object-lock", "prod-reloader-ha", "prod-rotation-schedule", "prod-rotation-unscheduled", "prod-tls-urls", "prod-vault-audit"]);
        for (const name of promises) {
            assert.equal((prodConfig[name] as { require?: boolean }).require, true, `prod.json ${name}`);
            assert.equal((devConfig[name] as { require?: boolean }).require, false, `dev.json ${name}`);
            assert.equal((stagingConfig[name] as { require?: boolean }).require, true, `staging.json ${name}`);
        }
    });

    it("records the README's reasoned exceptions in prod.json, and only secrets that are really unscheduled", async () => {
        const run = await runStack("prod");
        const inventory = reveal(run.outputs.inventory) as { app: string; secret: string; source: string; maxAgeDays: number }[];
        const unscheduled = inventory.filter((e) => (["random-bytes", "password"].includes(e.source) || (e as { rotation?: string }).rotation === "alternating-users") && e.maxAgeDays === 0).map((e) => `${e.app}/${e.secret}`).sort();
        // No database credential among them (alternating users), each with its reason in the inventory.
        // The two data keys, and Kafka's SCRAM password (the brokers keep their own copy, issue 15).
        assert.deepEqual(unscheduled, ["nemo-server/rag_db_key", "nemo-server/users_db_key", "soma-memory/kafka_sasl_password"]);
        for (const id of unscheduled) assert.ok((inventory.find((e) => `${e.app}/${e.secret}` === id) as { exemptReason?: string }).exemptReason);
        const recorded = [...((prodConfig["prod-rotation-unscheduled"] as { coordinatedRotation: string[] }).coordinatedRotation)].sort();
        assert.deepEqual(recorded, unscheduled);
    });
});
