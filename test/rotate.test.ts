/**
 * `npm run rotate` as an operator runs it, no Pulumi CLI: three cases through the compiled tool's
 * process, the others through the same command in this process (test/support.ts runTool). The printed commands are
 * executed by bash against a stand-in `pulumi` that records its arguments, so the test sees exactly
 * what the real CLI would receive (quoting of the `$` in URNs, line continuations included), and
 * every URN is checked against the offline plan of the same stack.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import { promisify } from "node:util";
import { stringify } from "yaml";
import { repoRoot } from "../tools/harness/stackConfig";
import { overlay, runTool, runToolProcess, stackConfig } from "./support";

const exec = promisify(execFile);

interface Run {
    code: number;
    stdout: string;
    stderr: string;
}

/** `npm run <plan|rotate>` in this process (test/support.ts runTool). */
const tool = (script: "plan" | "rotate", args: string[]): Promise<Run> => runTool(script, args);

const rotateProcess = (...args: string[]): Promise<Run> => runToolProcess("rotate", args);

const rotate = (...args: string[]) => tool("rotate", args);

interface PlanResource {
    urn: string;
    type: string;
    name: string;
    options: { replaceWith?: string[] };
}

/** Runs the printed script with bash; returns each `pulumi` invocation's arguments. */
async function pulumiCalls(script: string): Promise<string[][]> {
    const dir = mkdtempSync(path.join(tmpdir(), "rotate-"));
    const fake = path.join(dir, "pulumi");
    writeFileSync(fake, `#!/bin/sh\nprintf '%s\\0' "$@"\nprintf '\\n'\n`);
    chmodSync(fake, 0o755);
    const { stdout } = await exec("bash", ["-euc", script], { cwd: repoRoot, env: { ...process.env, PATH: `${dir}:${process.env.PATH}` } });
    return stdout
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => l.split("\0").slice(0, -1));
}

/** The arguments after each --target-replace. */
function targets(args: string[]): string[] {
    return args.flatMap((a, i) => (args[i - 1] === "--target-replace" ? [a] : []));
}

/** The random resource of one slot and the rotation date whose replaceWith names it, from a plan. */
function slotUrns(resources: PlanResource[], randomName: string): string[] {
    const random = resources.filter((r) => r.type.startsWith("random:") && r.name === randomName);
    assert.equal(random.length, 1, randomName);
    const date = resources.filter((r) => r.type === "time:index/static:Static" && (r.options.replaceWith ?? []).includes(random[0].urn));
    assert.equal(date.length, 1, `${randomName} rotation date`);
    return [random[0].urn, date[0].urn];
}

// A stack file with a generation already bumped, for the dev stack.
const devFile = path.join(mkdtempSync(path.join(tmpdir(), "rotate-")), "Pulumi.dev.yaml");
writeFileSync(devFile, stringify({ config: overlay(stackConfig("dev"), { "platform-secrets:rotation": { generations: { "soma-memory/soma_api_token": 4 } } }) }));

// Each run starts when a test first asks for it; they run one after another in this process.
const commands = {
    prodPlan: () => tool("plan", ["--stack", "prod", "--json"]),
    devPlan: () => tool("plan", ["--stack", "dev", "--json", "--stack-file", devFile]),
    // The one an operator would paste into a terminal first, through the compiled tool's process.
    single: () => rotateProcess("--stack", "prod", "nemo-server/session_key"),
    devSingle: () => rotate("--stack", "dev", "--stack-file", devFile, "soma-memory/soma_api_token"),
    leaked: () => rotate("--stack", "prod", "--leaked", "nemo-server/jwt_secret"),
    dual: () => rotate("--stack", "prod", "nemo-server/jwt_secret"),
    unknown: () => rotateProcess("--stack", "prod", "nemo/sesion_key"),
    supplied: () => rotate("--stack", "prod", "nemo-server/huggingface_token"),
    noName: () => rotateProcess("--stack", "prod"),
    derived: () => rotate("--stack", "prod", "gateway/supabase_anon_key"),
};
const started = new Map<keyof typeof commands, Promise<Run>>();
/** The command's run, started the first time a test asks for it. */
function run(key: keyof typeof commands): Promise<Run> {
    if (!started.has(key)) started.set(key, commands[key]());
    return started.get(key)!;
}

describe("npm run rotate", () => {
    const plans: Record<string, PlanResource[]> = {};
    before(async () => {
        for (const [stack, pending] of [["prod", run("prodPlan")], ["dev", run("devPlan")]] as const) {
            const r = await pending;
            assert.equal(r.code, 0, r.stderr);
            plans[stack] = JSON.parse(r.stdout).resources;
        }
    });

    it("a single secret: the generation bump and the immediate replacement of its random resource and rotation date", async () => {
        const r = await run("single");
        assert.equal(r.code, 0, r.stderr);
        const [bump, up, ...rest] = await pulumiCalls(r.stdout);
        assert.deepEqual(rest, []);
        // The key path Pulumi's parser reads as rotation -> generations -> "nemo-server/session_key".
        assert.deepEqual(bump, ["config", "set", "--stack", "prod", "--path", 'rotation.generations["nemo-server/session_key"]', "1"]);
        const expected = slotUrns(plans.prod, "nemo-server-session_key-value");
        assert.deepEqual(targets(up), expected);
        assert.ok(expected[0].includes("$"), "URNs carry $: the quoting is exercised");
        assert.deepEqual(up.slice(0, 3), ["up", "--stack", "prod"]);
        assert.ok(up.includes("--target-dependents"));
        assert.deepEqual(up.slice(-4), ["--policy-pack", "policy", "--policy-pack-config", "policy/config/prod.json"]);
        // Nothing but URNs and commands: no secret value, no placeholder.
        assert.doesNotMatch(r.stdout + r.stderr, /offline-plan-placeholder|\[secret\]/);
    });

    it("a certificate: the generation bump and the immediate re-issue of its Vault PKI issue, nothing else", async () => {
        const r = await rotate("--stack", "prod", "soma-memory/postgres_client_cert");
        assert.equal(r.code, 0, r.stderr);
        const [bump, up, ...rest] = await pulumiCalls(r.stdout);
        assert.deepEqual(rest, []);
        assert.deepEqual(bump, ["config", "set", "--stack", "prod", "--path", 'rotation.generations["soma-memory/postgres_client_cert"]', "1"]);
        const cert = plans.prod.filter((x: { type: string; name: string }) => x.type === "vault:pkiSecret/secretBackendCert:SecretBackendCert" && x.name === "vault-pki-soma-memory-postgres_client_cert");
        assert.equal(cert.length, 1);
        assert.deepEqual(targets(up), [cert[0].urn]);
        assert.ok(up.includes("--target-dependents"));
        assert.doesNotMatch(r.stdout + r.stderr, /PRIVATE KEY|\[secret\]/);
    });

    it("is what the README's rotation runbook quotes, command for command", async () => {
        const r = await run("single");
        const readme = readFileSync(path.join(repoRoot, "README.md"), "utf8");
        const commands = r.stdout.trimEnd().split("\n\n").map((block) => block.split("\n").filter((l) => !l.startsWith("#")).join("\n"));
        assert.equal(commands.length, 2);
        for (const c of commands) assert.ok(readme.includes(`\n${c}\n`), `the README lacks:\n${c}`);
        assert.match(readme, /npm run rotate -- --stack prod --leaked /);
    });

    it("reads the current generation from the stack file, and resolves URNs in the stack it is given", async () => {
        const r = await run("devSingle");
        assert.equal(r.code, 0, r.stderr);
        const [bump, up] = await pulumiCalls(r.stdout);
        assert.deepEqual(bump, ["config", "set", "--stack", "dev", "--path", 'rotation.generations["soma-memory/soma_api_token"]', "5"]);
        const urns = targets(up);
        assert.deepEqual(urns, slotUrns(plans.dev, "soma-memory-soma_api_token-value"));
        for (const u of urns) assert.ok(u.startsWith("urn:pulumi:dev::"), u);
        assert.deepEqual(up.slice(-2), ["--policy-pack-config", "policy/config/dev.json"]);
    });

    it("a dual-key secret with --leaked: both slots and both rotation dates, and no generation bump", async () => {
        const r = await run("leaked");
        assert.equal(r.code, 0, r.stderr);
        const calls = await pulumiCalls(r.stdout);
        assert.equal(calls.length, 1, "only the immediate replacement: a bump afterwards would rotate again");
        const urns = targets(calls[0]);
        assert.deepEqual(urns, [...slotUrns(plans.prod, "nemo-server-jwt_secret-slot-a"), ...slotUrns(plans.prod, "nemo-server-jwt_secret-slot-b")]);
        const inPlan = new Set(plans.prod.map((p) => p.urn));
        for (const u of urns) assert.ok(inPlan.has(u), `${u} is not in the prod plan`);
    });

    it("a dual-key secret without --leaked: only the graceful generation bump", async () => {
        const r = await run("dual");
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(await pulumiCalls(r.stdout), [["config", "set", "--stack", "prod", "--path", 'rotation.generations["nemo-server/jwt_secret"]', "1"]]);
        assert.match(r.stdout, /--leaked/);
    });

    it("an unknown name exits non-zero and suggests the nearest catalog names", async () => {
        const r = await run("unknown");
        assert.equal(r.code, 1);
        assert.equal(r.stdout, "");
        assert.match(r.stderr, /nemo\/sesion_key is not in the catalog of stack prod; nearest: nemo-server\/session_key, /);
    });

    it("a catalog secret that is not generated, and a missing name, exit non-zero with what to do", async () => {
        const [supplied, none] = await Promise.all([run("supplied"), run("noName")]);
        assert.equal(supplied.code, 1);
        assert.equal(supplied.stdout, "");
        assert.match(supplied.stderr, /not generated \(source supplied\).*pulumi config set --stack prod --secret --path 'suppliedSecrets\["nemo-server"\]\["huggingface_token"\]'/);
        assert.equal(none.code, 2);
        assert.match(none.stderr, /usage: npm run rotate/);
    });

    it("a derived key (jwt) names its signing secret: rotating that re-derives it", async () => {
        const derived = await run("derived");
        assert.equal(derived.code, 1);
        assert.equal(derived.stdout, "");
        assert.match(derived.stderr, /gateway\/supabase_anon_key is not generated \(source jwt\).*rotate gateway\/supabase_jwt_secret \(npm run rotate -- --stack prod gateway\/supabase_jwt_secret\)/);
    });
});
