/**
 * tools/test.js, what `npm test` runs after the type check and the secret scan: every test file,
 * once, in a few processes, each stack's files together; and its preload (tools/testRunnerHook.js)
 * still blames a failure thrown from a callback on the test that caused it.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { promisify } from "node:util";
import { repoRoot } from "../tools/harness/stackConfig";

const exec = promisify(execFile);

describe("npm test's runner (tools/test.js)", () => {
    it("runs every test/*.test.ts exactly once, each stack's files in one process", async () => {
        const { stdout } = await exec(process.execPath, [path.join(repoRoot, "tools", "test.js"), "--list", "--groups", "4"], { cwd: repoRoot });
        const groups = JSON.parse(stdout) as { weight: number; files: string[] }[];
        const listed = groups.flatMap((g) => g.files).sort();
        const all = readdirSync(path.join(repoRoot, "test")).filter((f) => f.endsWith(".test.ts")).map((f) => `test/${f}`).sort();
        assert.deepEqual(listed, all);
        assert.ok(groups.length <= 4 && groups.length >= 2, `${groups.length} groups`);
        for (const stack of ["dev", "staging", "prod"]) {
            const holding = groups.filter((g) => g.files.some((f) => f.endsWith(`.${stack}.test.ts`)));
            assert.equal(holding.length, 1, `the ${stack} files are in ${holding.length} groups`);
            assert.deepEqual(holding[0].files.filter((f) => f.endsWith(`.${stack}.test.ts`)).length, all.filter((f) => f.endsWith(`.${stack}.test.ts`)).length);
        }
        // Heaviest group first, so the longest process starts first.
        assert.deepEqual(groups.map((g) => g.weight), [...groups.map((g) => g.weight)].sort((a, b) => b - a));
    });

    it("has committed times for a fresh clone's grouping, of test files that exist", () => {
        const seed = JSON.parse(readFileSync(path.join(repoRoot, "tools", "test-times.json"), "utf8")) as Record<string, number>;
        const all = new Set(readdirSync(path.join(repoRoot, "test")).filter((f) => f.endsWith(".test.ts")).map((f) => `test/${f}`));
        for (const [file, ms] of Object.entries(seed)) {
            assert.ok(all.has(file), `${file} is not a test file`);
            assert.ok(Number.isInteger(ms) && ms >= 0, `${file}: ${ms}`);
        }
        // The heavy files are what the seed is for: each must be there.
        assert.ok(Object.values(seed).filter((ms) => ms > 3000).length >= 3);
    });

    it("names an unknown file and runs nothing", async () => {
        const r = await exec(process.execPath, [path.join(repoRoot, "tools", "test.js"), "test/no-such.test.ts"], { cwd: repoRoot }).catch((e) => e as { code: number; stderr: string });
        assert.equal((r as { code: number }).code, 2);
        assert.match((r as { stderr: string }).stderr, /no such test file: test\/no-such\.test\.ts/);
    });

    it("with its preload, an error thrown from a timer still fails the test that set the timer, and only that test", async () => {
        const fixture = path.join(repoRoot, "test", "fixtures", "runner", "attribution.js");
        // A runner of its own, not a child of this one (NODE_TEST_CONTEXT would make it report to this runner).
        const { NODE_TEST_CONTEXT: _child, ...env } = process.env;
        const r = await exec(process.execPath, ["--require", path.join(repoRoot, "tools", "testRunnerHook.js"), "--test", "--test-reporter=tap", fixture], { cwd: repoRoot, env }).catch((e) => e as { code: number; stdout: string });
        const out = (r as { stdout: string }).stdout;
        assert.equal((r as { code?: number }).code, 1, out);
        assert.match(out, /^ok 1 - passes$/m);
        assert.match(out, /^# harness hook: promises untracked$/m, "the preload replaced node's hook");
        assert.match(out, /^not ok 2 - throws from a timer callback$/m);
        assert.match(out, /thrown from a timer/);
        assert.match(out, /^ok 3 - passes after the one that failed$/m);
    });
});
