/**
 * The offline plan as a user runs it: `npm run plan -- ...` in a child process, no Pulumi CLI.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { promisify } from "node:util";
import { stringify } from "yaml";
import { repoRoot } from "../tools/harness/stackConfig";
import { buildPlan } from "../tools/planLib";
import { overlay, runTool, runToolProcess, stackConfig, TEST_CA_PEM, type ToolRun } from "./support";


/** `npm run plan -- <args>` in this process (test/support.ts runTool): most of this file. */
function plan(...args: string[]): Promise<ToolRun> {
    return runTool("plan", args);
}

/** The same with extra environment variables (NO_COLOR, FORCE_COLOR). */
function planWith(env: Record<string, string>, ...args: string[]): Promise<ToolRun> {
    return runTool("plan", args, env);
}

/** `npm run plan -- <args>` as a user runs it: a child process of the compiled tool. */
function planProcess(...args: string[]): Promise<ToolRun> {
    return runToolProcess("plan", args);
}

const NOW = "2026-11-22T00:00:00Z";

describe("npm run plan", () => {
    it("--json is one stable document, byte-identical across two runs in two processes", async () => {
        const [a, b] = await Promise.all([planProcess("--stack", "prod", "--json", "--now", NOW), plan("--stack", "prod", "--json", "--now", NOW)]);
        assert.equal(a.code, 0, a.stderr);
        assert.equal(a.stdout, b.stdout);
        const doc = JSON.parse(a.stdout);
        assert.deepEqual(Object.keys(doc).sort(), ["outputs", "project", "resources", "stack"]);
        assert.equal(doc.project, "platform-secrets");
        assert.equal(doc.stack, "prod");
        const urns = doc.resources.map((r: { urn: string }) => r.urn);
        assert.deepEqual(urns, [...urns].sort(), "resources sorted by URN");
        for (const r of doc.resources) for (const k of ["urn", "type", "name", "inputs", "options"]) assert.ok(k in r, `${r.urn} lacks ${k}`);
        // Secret inputs (the Vault KV data) print as [secret], never as values.
        const kv = doc.resources.find((r: { type: string; name: string }) => r.type === "vault:kv/secretV2:SecretV2" && r.name.includes("nemo-server"));
        assert.equal(kv.inputs.dataJson, "[secret]");
        // The prod stack's operator secret is an offline placeholder, and the plan says so.
        assert.match(a.stderr, /offline placeholders stand in for operator secrets .*suppliedSecrets\.nemo-server\.huggingface_token/);
    });

    it("--details prints every resource with its URN, ready for --target-replace", async () => {
        const r = await plan("--stack", "dev", "--details", "--now", NOW);
        assert.equal(r.code, 0, r.stderr);
        // Exactly the URN the engine gives it: the whole parent type chain, no root-stack prefix.
        const urn = "urn:pulumi:dev::platform-secrets::platform-secrets:credentials:AppCredentials$platform-secrets:credentials:GeneratedSecret$random:index/randomBytes:RandomBytes::nemo-server-session_key-value";
        assert.ok(r.stdout.split("\n").includes(`+ ${urn}`), `the plan lacks ${urn}`);
        assert.ok(r.stdout.includes("\n+ urn:pulumi:dev::platform-secrets::pulumi:providers:vault::vault\n"), "a top-level resource has no pulumi:pulumi:Stack$ prefix");
        assert.match(r.stdout, /keepers:/);
    });

    it("shows secret values only with --show-secrets", async () => {
        const hidden = (await plan("--stack", "dev", "--json", "--now", NOW)).stdout;
        const shown = (await plan("--stack", "dev", "--json", "--now", NOW, "--show-secrets")).stdout;
        assert.equal(hidden.includes('"@secret"'), false);
        // Where the plain plan says [secret], the revealing one has the value, and nowhere else do they differ.
        const redacted = JSON.parse(shown, (_k, v) => (v && typeof v === "object" && "@secret" in v ? "[secret]" : v));
        assert.deepEqual(redacted, JSON.parse(hidden));
        const secrets = (hidden.match(/"\[secret\]"/g) ?? []).length;
        assert.ok(secrets > 0, "the plan has secret inputs to hide");
        assert.equal(secrets, (shown.match(/"@secret"/g) ?? []).length);
    });

    it("--diff prints the per-resource differences between two stacks", async () => {
        const r = await plan("--stack", "dev", "--diff", "prod", "--json", "--now", NOW);
        assert.equal(r.code, 0, r.stderr);
        const diff = JSON.parse(r.stdout);
        assert.deepEqual(diff.stacks, ["dev", "prod"]);
        const periods = diff.changed.find((c: { resource: string }) => c.resource.endsWith("RandomBytes::nemo-server-session_key-value"));
        assert.ok(periods.differences.some((d: { path: string }) => d.path === "inputs.keepers.rotation"), "dev and prod rotate on different schedules");
    });

    it("--diff summarises the settings first, and no line differs only by the stack name", async () => {
        const [text, json] = await Promise.all([plan("--stack", "dev", "--diff", "prod", "--now", NOW), plan("--stack", "dev", "--diff", "prod", "--json", "--now", NOW)]);
        assert.equal(text.code, 0, text.stderr);
        const lines = text.stdout.split("\n");
        // Each stack's name, as a word, in the other stack's terms.
        const swap = (l: string) => l.replace(/\bdev\b/g, "prod");
        // No stack-derived URN keeps its stack (urn, parent, aliases, dependsOn, replaceWith, providers).
        assert.deepEqual(lines.filter((l) => /urn:pulumi:(dev|prod)::/.test(l)), []);
        // No `a → b` whose two sides differ only by the stack's name...
        const renamedOnly = lines.filter((l) => {
            const m = l.match(/: (.*) → (.*?)(?: \(\d+ resources?\))?$/);
            return m !== null && m[1] !== m[2] && swap(m[1]) === m[2];
        });
        assert.deepEqual(renamedOnly, []);
        // ...and no pair of lines that are one another with the stack's name swapped.
        const set = new Set(lines);
        assert.deepEqual(lines.filter((l) => swap(l) !== l && set.has(swap(l)) && !/^#/.test(l)), []);
        // The summary comes first and says what differs as settings.
        const summary = text.stdout.slice(text.stdout.indexOf("## summary"), text.stdout.indexOf("\n## ", text.stdout.indexOf("## summary") + 1));
        assert.ok(text.stdout.indexOf("## summary") < text.stdout.indexOf("## changed"));
        assert.match(summary, /- protect: on in prod only \(\d+ resources\)/);
        assert.match(summary, /- only in prod: \d+ resources \(.*aws:s3\/bucketObjectLockConfiguration:BucketObjectLockConfiguration ×2.*vault:index\/audit:Audit ×1/);
        assert.match(summary, /- inputs\.objectLockEnabled: on in prod only \(2 resources\)/);
        assert.match(summary, /- \d+ values differ only by the environment's name \(dev → prod\): .*inputs\.bucket ×\d+/);
        // Real differences still show in the detail, with their resource.
        assert.match(text.stdout, /\n~ urn:pulumi:\*::[^\n]*RandomBytes::nemo-server-session_key-value\n(    [^\n]*\n)*    inputs\.keepers\.rotation: /);
        // The JSON form carries the same normalised detail and summary.
        const diff = JSON.parse(json.stdout);
        assert.doesNotMatch(JSON.stringify(diff), /urn:pulumi:(dev|prod)::/);
        assert.deepEqual(diff.summary, summary.split("\n").filter((l) => l.startsWith("- ")).map((l) => l.slice(2)));
        assert.ok(diff.environmentOnly.length > 0);
    });

    it("--diff shows what staging keeps of prod and what it keeps apart: dev → staging, staging → prod", async () => {
        const summaryOf = (stdout: string) => (JSON.parse(stdout).summary as string[]).join("\n");
        const [devStaging, stagingProd] = await Promise.all([plan("--stack", "dev", "--diff", "staging", "--json", "--now", NOW), plan("--stack", "staging", "--diff", "prod", "--json", "--now", NOW)]);
        assert.equal(devStaging.code, 0, devStaging.stderr);
        assert.equal(stagingProd.code, 0, stagingProd.stderr);
        assert.deepEqual(JSON.parse(devStaging.stdout).stacks, ["dev", "staging"]);
        assert.deepEqual(JSON.parse(stagingProd.stdout).stacks, ["staging", "prod"]);
        // From dev, staging gains prod's guarantees: protection, object lock, the audit device.
        const a = summaryOf(devStaging.stdout);
        assert.match(a, /^protect: on in staging only \(\d+ resources\)$/m);
        assert.match(a, /^only in staging: \d+ resources \(.*aws:s3\/bucketObjectLockConfiguration:BucketObjectLockConfiguration ×2.*vault:index\/audit:Audit ×1/m);
        assert.match(a, /^inputs\.allowedAccountIds#\[\]: "111122223333" → "777788889999"/m);
        // From staging to prod, those stay equal; what differs is its own account, its own KV and PKI
        // mounts (and the root CA generated in the PKI one) and shorter retention.
        const b = summaryOf(stagingProd.stdout);
        assert.doesNotMatch(b, /^protect:/m);
        assert.doesNotMatch(b, /^only in prod:/m);
        assert.doesNotMatch(b, /objectLockEnabled/);
        assert.match(b, /^only in staging: 5 resources \(vault:index\/mount:Mount ×2, platform-secrets:vault:KvV2Mount ×1, vault:kv\/secretBackendV2:SecretBackendV2 ×1, vault:pkiSecret\/secretBackendRootCert:SecretBackendRootCert ×1\)$/m);
        assert.match(b, /^inputs\.rules\[\]\.expiration\.days: 14 → 35 \(2 resources\)$/m);
        assert.match(b, /^inputs\.allowedAccountIds#\[\]: "777788889999" → "444455556666"/m);
        assert.doesNotMatch(stagingProd.stdout, /urn:pulumi:(staging|prod)::/);
    });

    it("writes the whole plan into a pipe that reads slowly", async () => {
        // A shell pipeline into a reader that starts late: output queued at exit must not be lost.
        // The compiled tool computing the plan (its kept output off), as `npm run plan` runs it.
        const script = `PLATFORM_SECRETS_NO_CACHE=1 ${JSON.stringify(process.execPath)} tools/fast.js plan --stack prod --json --now ${NOW} 2>/dev/null | (sleep 1; cat)`;
        const { stdout } = await promisify(execFile)("bash", ["-c", script], { cwd: repoRoot, maxBuffer: 64 * 1024 * 1024 });
        assert.ok(stdout.length > 65536, `only ${stdout.length} bytes`);
        assert.equal(JSON.parse(stdout).stack, "prod");
    });

    it("--previous-outputs plans the next update: the last deployment's counters hold until the schedule moves", async () => {
        const first = JSON.parse((await plan("--stack", "prod", "--json", "--now", NOW)).stdout);
        const dir = mkdtempSync(path.join(tmpdir(), "plan-"));
        const file = path.join(dir, "last.json");
        // As `pulumi stack output --json` prints them: a rotation state three updates behind the schedule.
        const state = Object.fromEntries(Object.entries<any>(first.outputs.rotationState).map(([id, s]) => [id, { applied: s.applied - 3, offset: 0 }]));
        writeFileSync(file, JSON.stringify({ environment: "prod", rotationState: state }));
        const next = JSON.parse((await plan("--stack", "prod", "--json", "--now", NOW, "--previous-outputs", file)).stdout);
        for (const [id, s] of Object.entries<any>(next.outputs.rotationState)) assert.equal(s.applied, state[id].applied + 1, `${id} moves one step, not three`);
    });

    it("exits non-zero with the validation message on bad config, and --strict fails like preview", async () => {
        const dir = mkdtempSync(path.join(tmpdir(), "plan-"));
        const file = path.join(dir, "Pulumi.bad.yaml");
        const bad = overlay(stackConfig("dev"), { "platform-secrets:vault": { kv: { maxVersions: 0 } } });
        writeFileSync(file, stringify({ config: bad }));
        const r = await planProcess("--stack", "dev", "--stack-file", file);
        assert.equal(r.code, 1);
        assert.match(r.stderr, /platform-secrets:vault\.kv\.maxVersions: must be at least 1/);
        assert.equal(r.stdout, "");
        assert.doesNotMatch(r.stderr, /^\s+at /m, "no stack trace");
        const strict = await plan("--stack", "prod", "--strict");
        assert.equal(strict.code, 1);
        assert.match(strict.stderr, /pulumi config set --stack prod --secret --path 'suppliedSecrets\.nemo-server\.huggingface_token'/);
    });

    it("applies the engine's config check first: --strict on dev asks only for its operator secrets, and a stack file the engine refuses fails with its message", async () => {
        // dev's only required operator secrets are the database managers' bootstrap passwords
        // (docs/database-credentials.md): --strict fails on exactly those, as preview would.
        const dev = await plan("--stack", "dev", "--strict", "--now", NOW);
        assert.equal(dev.code, 1, dev.stderr);
        const problems = dev.stderr.split("\n").filter((l) => l.trim().startsWith("- "));
        assert.deepEqual(
            problems.map((l) => /suppliedSecrets\.([a-z-]+\.[a-z_]+)/.exec(l)?.[1]).sort(),
            ["nemo-server.postgres_manager_bootstrap", "nemo-server.redis_manager_bootstrap", "soma-memory.postgres_manager_bootstrap", "soma-memory.redis_manager_bootstrap"],
            dev.stderr,
        );
        const dir = mkdtempSync(path.join(tmpdir(), "plan-"));
        const file = path.join(dir, "Pulumi.staging.yaml");
        const missing = stackConfig("dev");
        delete missing["platform-secrets:vault"];
        delete missing["platform-secrets:kubernetes"];
        writeFileSync(file, stringify({ config: missing }));
        const r = await plan("--stack", "staging", "--stack-file", file);
        assert.equal(r.code, 1);
        // The engine's message, after the plan's note on the bootstrap placeholders it stood in.
        assert.equal(r.stderr.trim().split("\n").filter((l) => !l.startsWith("note: offline placeholders")).join("\n"), "Stack 'staging' is missing configuration values 'kubernetes' and 'vault'");
    });

    it("refuses hostile stack files with file, line and key path, exit 1 and no stack trace: a duplicate key, an alias bomb, a misspelt plaintext operator secret", async () => {
        const dir = mkdtempSync(path.join(tmpdir(), "plan-"));
        const duplicate = path.join(dir, "Pulumi.duplicate.yaml");
        writeFileSync(duplicate, "config:\n  platform-secrets:environment: dev\n  platform-secrets:environment: prod\n");
        const bomb = path.join(dir, "Pulumi.bomb.yaml");
        const levels = ["    a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"];
        for (let i = 1; i < 9; i++) levels.push(`    a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(", ")}]`);
        writeFileSync(bomb, `config:\n  platform-secrets:rotation:\n${levels.join("\n")}\n`);
        // The plan substitutes placeholders for operator secrets it cannot read; a plaintext value under
        // a misspelt key must not slip through that way.
        const misspelt = path.join(dir, "Pulumi.misspelt.yaml");
        writeFileSync(misspelt, stringify({ config: { ...stackConfig("prod"), "platform-secrets:suppliedSecrets": { "nemo-server": { hugingface_token: "hf_PlaintextUnderATypo0" } } } }));
        const [d, b, m] = await Promise.all([duplicate, bomb, misspelt].map((f) => plan("--stack", "prod", "--stack-file", f)));
        for (const r of [d, b, m]) {
            assert.equal(r.code, 1, r.stderr);
            assert.equal(r.stdout, "");
            assert.doesNotMatch(r.stderr, /^\s+at /m, "no stack trace");
        }
        assert.match(d.stderr, /Pulumi\.duplicate\.yaml:3: platform-secrets:environment: duplicate key/);
        assert.match(b.stderr, /Pulumi\.bomb\.yaml:8: platform-secrets:rotation\.a5\.0: expands an alias to more than 10000 nodes/);
        assert.match(m.stderr, /platform-secrets:suppliedSecrets\.nemo-server\.hugingface_token: is plaintext in the stack file/);
        assert.match(m.stderr, /did you mean suppliedSecrets\.nemo-server\.huggingface_token\?/);
        assert.ok(!m.stderr.includes("hf_PlaintextUnderATypo0"), "the value is never printed");
    });
});

/** `p-{a,b}-s` → `p-a-s`, `p-b-s` (written out here, not imported from the tree's writer). */
function expandBraces(name: string): string[] {
    const m = /^([^{}]*)\{([^{}]*)\}([^{}]*)$/.exec(name);
    return m ? m[2].split(",").map((x) => `${m[1]}${x}${m[3]}`) : [name];
}

/**
 * The resources a tree line names, each with its displayed type (`aws:s3:*` on a merged line of
 * several types), its settings and its app group; a line with `▸` also names its component's only
 * child line, whose names follow the component's (`…-{alias,key}`).
 */
function treeRows(text: string): { type: string; name: string; settings: string; group: string; line: number }[] {
    const rows: { type: string; name: string; settings: string; group: string; line: number }[] = [];
    let group = "";
    text.split("\n").forEach((line, index) => {
        if (/^ {3}(platform|app) /.test(line)) group = line.trim();
        const m = line.match(/^ \+ {3}[│├└─ ]*(\S+) +(\S+)(?: {2,}(.*))?$/);
        if (!m) return;
        let settings = m[3] ?? "";
        const fold = /^(\(in [^)]*\) )?▸ (\S+) (\S+)(?: {2}(.*))?$/.exec(settings);
        if (fold) {
            settings = (fold[1] ?? "").trim();
            const child = fold[3].startsWith("…") ? `${m[2]}${fold[3].slice(1)}` : fold[3];
            for (const name of expandBraces(child)) rows.push({ type: fold[2], name, settings: fold[4] ?? "", group, line: index });
        }
        for (const name of expandBraces(m[2])) rows.push({ type: m[1], name, settings, group, line: index });
    });
    return rows;
}

/** Dotted paths of the inputs the JSON plan shows as `[secret]` (written out here, not imported). */
function secretInputPaths(v: unknown, prefix = ""): string[] {
    if (v === "[secret]") return [prefix || "(all)"];
    if (Array.isArray(v)) return v.flatMap((x, i) => secretInputPaths(x, `${prefix}[${i}]`));
    if (v && typeof v === "object") return Object.entries(v).flatMap(([k, x]) => secretInputPaths(x, prefix ? `${prefix}.${k}` : k));
    return [];
}

/** A tree line's type matches a resource's: equal, or the `provider:module:*` of a merged line. */
const typeMatches = (pattern: string, type: string) => (pattern.endsWith("*") ? type.startsWith(pattern.slice(0, -1)) : pattern === type);

/** `aws:s3/bucket:Bucket` → `aws:s3:Bucket`, as pulumi preview shows types (written out here, not imported). */
const shown = (type: string) => type.replace(/^([^:]+):([^/:]+)\/[^:]+:/, "$1:$2:");

/**
 * The pre-change `--json` writer, frozen here as it was before the tree became the default output
 * (tools/plan.ts at e56a68c: `stableStringify(buildPlan(...))` and a newline): keys sorted at every
 * level, undefined keys dropped, two-space indentation.
 */
function frozenStableStringify(v: unknown): string {
    const sort = (x: unknown): unknown => {
        if (Array.isArray(x)) return x.map(sort);
        if (x && typeof x === "object") {
            return Object.fromEntries(
                Object.keys(x as object)
                    .sort()
                    .filter((k) => (x as Record<string, unknown>)[k] !== undefined)
                    .map((k) => [k, sort((x as Record<string, unknown>)[k])]),
            );
        }
        return x;
    };
    return JSON.stringify(sort(v), null, 2);
}

describe("npm run plan --json is unchanged", () => {
    it("byte for byte what the pre-change implementation writes, from the compiled tool and from the TypeScript alike", async () => {
        const [compiled, source, secrets] = await Promise.all([
            planProcess("--stack", "prod", "--json", "--now", NOW),
            promisify(execFile)(process.execPath, ["--import", "tsx", path.join(repoRoot, "tools", "plan.ts"), "--stack", "prod", "--json", "--now", NOW], { cwd: repoRoot, maxBuffer: 64 * 1024 * 1024 }),
            plan("--stack", "dev", "--json", "--show-secrets", "--now", NOW),
        ]);
        const before = `${frozenStableStringify(await buildPlan("prod", { now: new Date(NOW), notice: () => undefined }))}\n`;
        assert.equal(compiled.stdout, before);
        assert.equal(source.stdout, before);
        assert.equal(secrets.stdout, `${frozenStableStringify(await buildPlan("dev", { now: new Date(NOW), showSecrets: true }))}\n`);
    });
});

describe("npm run plan: the default tree, like pulumi preview", () => {
    it("names every resource of the JSON plan once, with its type and settings, grouped per app, a count per type at the end, on about two screens", async () => {
        const [tree, json] = await Promise.all([plan("--stack", "prod", "--now", NOW), plan("--stack", "prod", "--json", "--now", NOW)]);
        assert.equal(tree.code, 0, tree.stderr);
        const doc = JSON.parse(json.stdout) as { resources: { type: string; name: string; urn: string; inputs: unknown; options: Record<string, unknown> }[] };
        const rows = treeRows(tree.stdout);
        // Same resources, nothing missing, nothing twice: every name once per resource of that name, each of its type.
        assert.deepEqual(rows.map((r) => r.name).sort(), doc.resources.map((r) => r.name).sort());
        const unmatched = [...rows];
        for (const r of doc.resources) {
            const i = unmatched.findIndex((x) => x.name === r.name && typeMatches(x.type, shown(r.type)));
            assert.ok(i >= 0, `${shown(r.type)} ${r.name} is not on a line of its type`);
            unmatched.splice(i, 1);
        }
        // The security settings of each line are the JSON plan's own, for every resource the line names.
        for (const r of doc.resources) {
            const row = rows.find((x) => typeMatches(x.type, shown(r.type)) && x.name === r.name)!;
            const words = row.settings.split(" ");
            assert.equal(words.includes("protect"), r.options.protect === true, `${r.name}: protect`);
            assert.equal(words.includes("retainOnDelete"), r.options.retainOnDelete === true, `${r.name}: retainOnDelete`);
            assert.equal(words.includes("deleteBeforeReplace"), r.options.deleteBeforeReplace === true, `${r.name}: deleteBeforeReplace`);
            // Lists exactly: a line's settings are every one of its resources' own.
            const list = (v: unknown) => (Array.isArray(v) ? (v as string[]).join(",") : "");
            assert.equal(/replaceOnChanges=(\S+)/.exec(row.settings)?.[1] ?? "", list(r.options.replaceOnChanges), `${r.name}: replaceOnChanges`);
            assert.equal(/secret in: (\S+)/.exec(row.settings)?.[1] ?? "", secretInputPaths(r.inputs).join(","), `${r.name}: secret inputs`);
            assert.equal(/secret out: (\S+)/.exec(row.settings)?.[1] ?? "", list(r.options.additionalSecretOutputs), `${r.name}: secret outputs`);
        }
        // The KV data is marked secret, and prod's backups are protected and retained.
        assert.match(rows.find((r) => r.name === "vault-nemo-server-data")!.settings, /^protect retainOnDelete secret in: dataJson/);
        // Grouped per app: each app's credentials, Vault access and store sit in its group.
        const nemoGroup = `app nemo-server: ${rows.filter((r) => r.group.startsWith("app nemo-server:")).length} resources`;
        for (const name of ["nemo-server-session_key-value", "vault-nemo-server-data", "kubernetes-nemo-server-vault-store"]) assert.equal(rows.find((r) => r.name === name)!.group, nemoGroup);
        assert.match(rows.find((r) => r.name === "vault-audit-device")!.group, /^platform \(shared by every app\)/);
        // The count per type adds up to the plan, type by type.
        assert.ok(tree.stdout.includes(`\nResources: + ${doc.resources.length} to create\n`));
        // `aws:s3: Bucket 2, BucketPolicy 2; kubernetes:core: …`, flowing over lines.
        const header = `\nResources: + ${doc.resources.length} to create\n`;
        const counts = tree.stdout.slice(tree.stdout.indexOf(header) + header.length).split("\n\n")[0].replace(/\s+/g, " ").trim();
        const parsed = counts.split("; ").flatMap((segment) => {
            const [, module, list] = /^(\S+): (.*)$/.exec(segment)!;
            return list.split(", ").map((cell) => {
                const [type, n] = cell.split(" ");
                return [`${module}:${type}`, Number(n)] as const;
            });
        });
        const expected = new Map<string, number>();
        for (const r of doc.resources) expected.set(shown(r.type), (expected.get(shown(r.type)) ?? 0) + 1);
        assert.deepEqual(new Map(parsed), expected);
        // About two screens (of 60 lines), and no inputs or URNs in it: lines merge sibling resources.
        const lines = tree.stdout.trimEnd().split("\n");
        assert.ok(lines.length <= 120, `${lines.length} lines for ${doc.resources.length} resources`);
        assert.ok(new Set(rows.map((r) => r.line)).size < doc.resources.length * 0.75, "merged lines");
        assert.doesNotMatch(tree.stdout, /urn:pulumi:|inputs:|\u001b\[/);
    });

    it("--expand gives each resource its own line, the same resources and settings as the merged tree", async () => {
        const [merged, expanded] = await Promise.all([plan("--stack", "prod", "--now", NOW), plan("--stack", "prod", "--expand", "--now", NOW)]);
        assert.equal(expanded.code, 0, expanded.stderr);
        const one = treeRows(expanded.stdout);
        assert.equal(new Set(one.map((r) => r.line)).size, one.length, "a line per resource");
        assert.ok(!one.some((r) => r.type.endsWith("*") || /[{}▸…]/.test(r.name)), "nothing merged");
        // Each resource's line of the merged tree: same group, name and settings, and a type that matches.
        const key = (r: { name: string; settings: string; group: string }) => `${r.group} ${r.name} ${r.settings.replace(/^\(in [^)]*\) ?/, "")}`;
        const left = treeRows(merged.stdout);
        assert.equal(left.length, one.length);
        for (const r of one) {
            const i = left.findIndex((m) => key(m) === key(r) && typeMatches(m.type, r.type));
            assert.ok(i >= 0, `${r.type} ${r.name}: no line of its type, group and settings in the merged tree`);
            left.splice(i, 1);
        }
        const bad = await plan("--stack", "prod", "--expand", "--json", "--now", NOW);
        assert.equal(bad.code, 2);
    });

    it("colours only a terminal's output: none into a pipe, none with NO_COLOR even when forced", async () => {
        const [piped, forced, noColour] = await Promise.all([
            planProcess("--stack", "dev", "--now", NOW),
            planWith({ FORCE_COLOR: "1" }, "--stack", "dev", "--now", NOW),
            planWith({ FORCE_COLOR: "1", NO_COLOR: "1" }, "--stack", "dev", "--now", NOW),
        ]);
        assert.doesNotMatch(piped.stdout, /\u001b\[/);
        assert.match(forced.stdout, /\u001b\[32m \+ {2}\u001b\[39m/);
        assert.equal(noColour.stdout, piped.stdout);
        // Colour changes nothing but the escapes.
        assert.equal(forced.stdout.replace(/\u001b\[\d+m/g, ""), piped.stdout);
    });

    it("naming a resource prints its inputs and options; an unknown name exits 2 with the nearest names", async () => {
        const [one, unknown] = await Promise.all([
            plan("--stack", "prod", "--now", NOW, "vault-nemo-server-data"),
            planProcess("--stack", "prod", "--now", NOW, "vault-nemo-server-dat"),
        ]);
        assert.equal(one.code, 0, one.stderr);
        const shownUrns = one.stdout.split("\n").filter((l) => l.startsWith("+ urn:"));
        assert.deepEqual(shownUrns, ["+ urn:pulumi:prod::platform-secrets::platform-secrets:vault:VaultPlatform$platform-secrets:vault:AppVaultAccess$vault:kv/secretV2:SecretV2::vault-nemo-server-data"]);
        assert.match(one.stdout, /\n {4}options:\n {6}protect: true\n/);
        assert.match(one.stdout, /\n {6}dataJson: "\[secret\]"\n/);
        assert.equal(unknown.code, 2);
        assert.match(unknown.stderr, /no resource named vault-nemo-server-dat in stack prod \(did you mean vault-nemo-server-data\?\)/);
    });
});

describe("npm run plan: Markdown for a pull-request comment", () => {
    it("--diff --format markdown: the settings summary as a list first, the detail folded, a Mermaid diagram of apps → Vault paths → stores → Secrets, under a comment's size", async () => {
        const [md, json, plain] = await Promise.all([
            plan("--stack", "dev", "--diff", "prod", "--format", "markdown", "--diagram", "--now", NOW),
            plan("--stack", "dev", "--json", "--now", NOW),
            plan("--stack", "dev", "--diff", "prod", "--json", "--now", NOW),
        ]);
        assert.equal(md.code, 0, md.stderr);
        const text = md.stdout;
        // GitHub refuses a comment over 65,536 characters.
        assert.ok(text.length < 65536, `${text.length} characters`);
        assert.match(text, /^### Offline plan diff of `platform-secrets`: dev → prod\n\n- /);
        // The summary's lines, as settings, before anything else; the same lines as the JSON diff's.
        const bullets = text.split("\n\n")[1].split("\n").map((l) => l.replace(/^- /, ""));
        assert.deepEqual(bullets, JSON.parse(plain.stdout).summary);
        assert.ok(bullets.includes("audit device: prod only (1)"), bullets.join("\n"));
        assert.ok(bullets.includes("bucket object lock configuration: prod only (2)"));
        assert.ok(bullets.some((b) => /^protect: on in prod only \(\d+ resources\)$/.test(b)));
        assert.ok(text.indexOf("```mermaid") < text.indexOf("<details>"), "the diagram before the folded detail");
        assert.match(text, /<details><summary>[^\n]*<\/summary>\n\n```diff\n[^]*\n```\n\n<\/details>\n$/);
        // Every line of the diagram is a quoted node or an edge: nothing a name could break.
        const diagram = text.slice(text.indexOf("```mermaid\n") + 11, text.indexOf("\n```", text.indexOf("```mermaid")));
        const [head, ...body] = diagram.split("\n");
        assert.equal(head, "flowchart LR");
        for (const l of body) assert.match(l, /^ {4}(n\d+(\(\["[^"]+"\]\)|\{\{"[^"]+"\}\}|\[\("[^"]+"\)\]|\["[^"]+"\])|n\d+ --> n\d+)$/);
        // The flows are dev's own: each ExternalSecret's target Secret, fed by its store, fed by the Vault path its keys name.
        const label = (id: string) => body.find((l) => l.startsWith(`    ${id}`) && !l.includes("-->"))!.replace(/^ {4}n\d+\W+"(.*)"\W+$/, "$1");
        const edges = body.filter((l) => l.includes("-->")).map((l) => l.trim().split(" --> ").map(label).join(" → "));
        const doc = JSON.parse(json.stdout) as { resources: { type: string; inputs: any }[] };
        const externalSecrets = doc.resources.filter((r) => r.type === "kubernetes:external-secrets.io/v1:ExternalSecret");
        // One per externalSecret-delivery app of dev (soma-memory, nemo-server, and the grant consumer web-frontend).
        assert.equal(externalSecrets.length, 3);
        const expectedEdges = new Set<string>();
        for (const es of externalSecrets) {
            const app = es.inputs.metadata.labels["platform-secrets/app"];
            const store = es.inputs.spec.secretStoreRef.name;
            for (const d of es.inputs.spec.data.filter((x: any) => !x.sourceRef)) {
                const kv = doc.resources.find((r) => r.type === "vault:kv/secretV2:SecretV2" && r.inputs.name === d.remoteRef.key)!;
                expectedEdges.add(`app: ${app} → Vault: ${kv.inputs.mount}/${kv.inputs.name}`);
                expectedEdges.add(`Vault: ${kv.inputs.mount}/${kv.inputs.name} → store: ${store}`);
                expectedEdges.add(`store: ${store} → Secret: ${es.inputs.metadata.namespace}/${es.inputs.spec.target.name}`);
            }
            // Database users' credentials come through the app's database store, from the database mount.
            for (const d of es.inputs.spec.data.filter((x: any) => x.sourceRef)) {
                const dbStore = d.sourceRef.storeRef.name;
                const mount = doc.resources.find((r) => r.type.endsWith("SecretStore") && r.inputs.metadata.name === dbStore)!.inputs.spec.provider.vault.path;
                assert.equal(mount, "database");
                expectedEdges.add(`app: ${app} → Vault: ${mount}/${d.remoteRef.key} (database engine)`);
                expectedEdges.add(`Vault: ${mount}/${d.remoteRef.key} (database engine) → store: ${dbStore}`);
                expectedEdges.add(`store: ${dbStore} → Secret: ${es.inputs.metadata.namespace}/${es.inputs.spec.target.name}`);
            }
        }
        for (const es of externalSecrets) {
            const app = es.inputs.metadata.labels["platform-secrets/app"];
            const store = es.inputs.spec.secretStoreRef.name;
            const kv = doc.resources.find((r) => r.type === "vault:kv/secretV2:SecretV2" && r.inputs.name === es.inputs.spec.data[0].remoteRef.key)!;
            assert.ok(edges.includes(`app: ${app} → Vault: ${kv.inputs.mount}/${kv.inputs.name}`), edges.join("\n"));
            assert.ok(edges.includes(`Vault: ${kv.inputs.mount}/${kv.inputs.name} → store: ${store}`), edges.join("\n"));
            assert.ok(edges.includes(`store: ${store} → Secret: ${es.inputs.metadata.namespace}/${es.inputs.spec.target.name}`), edges.join("\n"));
        }
        assert.deepEqual([...new Set(edges)].sort(), [...expectedEdges].sort());
        assert.doesNotMatch(text, /urn:pulumi:(dev|prod)::/);
    });

    it("--format markdown of one stack: the tree folded, every resource named; --diagram only with markdown", async () => {
        const [md, bad] = await Promise.all([plan("--stack", "prod", "--format", "markdown", "--now", NOW), plan("--stack", "prod", "--diagram", "--now", NOW)]);
        assert.equal(md.code, 0, md.stderr);
        const total = Number(/^### Offline plan of `platform-secrets\/prod`: (\d+) resources\n/.exec(md.stdout)?.[1]);
        const prodJson = await plan("--stack", "prod", "--json", "--now", NOW);
        assert.equal(total, (JSON.parse(prodJson.stdout) as { resources: unknown[] }).resources.length);
        assert.equal(treeRows(md.stdout).length, total);
        assert.doesNotMatch(md.stdout, /```mermaid/);
        assert.equal(bad.code, 2);
        assert.match(bad.stderr, /--diagram goes with --format markdown/);
    });
});

describe("npm run plan: the kept output (tools/fast.js)", () => {
    it("is replayed only while every file the run read is unchanged: an edited stack file plans anew; V8's code cache is kept, reused, and a corrupt one changes nothing", async () => {
        const dir = mkdtempSync(path.join(tmpdir(), "plan-"));
        const file = path.join(dir, "Pulumi.dev.yaml");
        const codeCache = path.join(dir, "code-cache", "plan.bin");
        const run = () => runToolProcess("plan", ["--stack", "dev", "--stack-file", file, "--json", "--now", NOW], { PLATFORM_SECRETS_CODE_CACHE_DIR: path.dirname(codeCache) });
        const write = (maxVersions: number) => writeFileSync(file, stringify({ config: overlay(stackConfig("dev"), { "platform-secrets:vault": { kv: { maxVersions } } }) }));
        const kvSettings = (doc: { resources: { type: string; inputs: { maxVersions?: number } }[] }) => doc.resources.filter((r) => r.type === "vault:kv/secretBackendV2:SecretBackendV2");
        const versions = (stdout: string) => kvSettings(JSON.parse(stdout)).map((r) => r.inputs.maxVersions);
        write(7);
        const first = await run();
        const again = await run();
        assert.equal(first.code, 0, first.stderr);
        assert.deepEqual(versions(first.stdout), [7]);
        assert.equal(again.stdout, first.stdout);
        assert.equal(again.stderr, first.stderr);
        // The first run left V8's code cache: the bundle and the SDK modules it loaded, each with code.
        const made = readFileSync(codeCache);
        const index = (JSON.parse(made.subarray(4, 4 + made.readUInt32LE(0)).toString("utf8")) as { files: Record<string, [string, number, number]> }).files;
        assert.ok(Object.keys(index).some((f) => f.endsWith(path.join("node_modules", ".cache", "platform-secrets-plan.js"))));
        assert.ok(Object.keys(index).some((f) => f.includes(path.join("node_modules", "@pulumi", "vault"))));
        assert.ok(Object.values(index).every(([, start, end]) => end > start));
        // Same command, same path, new content: the program runs again and says so, from the code
        // cache, which serves every module and so is not written again.
        write(9);
        const edited = await run();
        assert.deepEqual(versions(edited.stdout), [9]);
        assert.ok(readFileSync(codeCache).equals(made), "the code cache was rewritten although no module changed");
        // One byte of the bundle's code flipped, every header intact (V8 checks only those): the
        // checksum refuses the file, the run compiles as without a cache, plans exactly what it
        // planned with it, and writes a good cache again.
        const corrupt = Buffer.from(made);
        const [, start, end] = Object.entries(index).find(([f]) => f.endsWith("platform-secrets-plan.js"))![1];
        corrupt[4 + made.readUInt32LE(0) + Math.floor((start + end) / 2)] ^= 0x01;
        writeFileSync(codeCache, corrupt);
        write(11);
        const recompiled = await run();
        assert.equal(recompiled.code, 0, recompiled.stderr);
        assert.deepEqual(versions(recompiled.stdout), [11]);
        const [withCache, without] = [JSON.parse(edited.stdout), JSON.parse(recompiled.stdout)];
        for (const r of kvSettings(without)) r.inputs.maxVersions = 9;
        assert.deepEqual(without, withCache);
        assert.ok(!readFileSync(codeCache).equals(corrupt), "the corrupt code cache was kept");
        // A failing run is never kept: it fails again, with its message.
        writeFileSync(file, stringify({ config: overlay(stackConfig("dev"), { "platform-secrets:vault": { kv: { maxVersions: 0 } } }) }));
        for (let i = 0; i < 2; i++) {
            const bad = await run();
            assert.equal(bad.code, 1);
            assert.match(bad.stderr, /maxVersions: must be at least 1/);
        }
    });

    it("counts a CA file a stack file names among the files read: a replaced certificate plans anew, with the new CA in the bundle", async () => {
        // A committed .crt inside the project, as the schema requires; removed again whatever happens.
        const rel = `certs/plan-cache-test-${process.pid}.crt`;
        const ca = path.join(repoRoot, rel);
        const dir = mkdtempSync(path.join(tmpdir(), "plan-ca-"));
        const file = path.join(dir, "Pulumi.prod.yaml");
        writeFileSync(file, stringify({ config: overlay(stackConfig("prod"), { "platform-secrets:apps": { "soma-memory": { secrets: { qdrant_tls_ca: { source: { kind: "ca-bundle", file: rel } } } } } }) }));
        const fingerprints = (stdout: string): string[] => JSON.parse(stdout).outputs.tlsState.caBundles["soma-memory/qdrant_tls_ca"].fingerprints;
        const platformCa = readFileSync(path.join(repoRoot, "certs", "platform-ca.crt"), "utf8");
        try {
            writeFileSync(ca, platformCa);
            const first = await planProcess("--stack", "prod", "--stack-file", file, "--json", "--now", NOW);
            const again = await planProcess("--stack", "prod", "--stack-file", file, "--json", "--now", NOW);
            assert.equal(first.code, 0, first.stderr);
            assert.deepEqual(fingerprints(first.stdout), [new X509Certificate(platformCa).fingerprint256]);
            assert.equal(again.stdout, first.stdout);
            // Same command, same stack file, another CA in the file: the kept output is not replayed.
            writeFileSync(ca, TEST_CA_PEM);
            const replaced = await planProcess("--stack", "prod", "--stack-file", file, "--json", "--now", NOW);
            assert.equal(replaced.code, 0, replaced.stderr);
            assert.deepEqual(fingerprints(replaced.stdout), [new X509Certificate(TEST_CA_PEM).fingerprint256]);
            // The file gone: the run fails on it (never a kept output), and says which file.
            rmSync(ca);
            const gone = await planProcess("--stack", "prod", "--stack-file", file, "--json", "--now", NOW);
            assert.equal(gone.code, 1);
            assert.match(gone.stderr, new RegExp(`${rel.replace(/[.]/g, "\\.")} does not exist in the project directory`));
        } finally {
            rmSync(ca, { force: true });
        }
    });
});
