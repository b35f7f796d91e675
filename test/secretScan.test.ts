/**
 * The secret scan (secretlint, recommended preset, .secretlintrc.json) that `npm test` runs over the
 * repository: it fails on a planted fake AWS key, passes on a clean file, never prints what it
 * found, and .env.example holds placeholders only (runbooks 002, 003: no secrets in git).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { repoRoot } from "../tools/harness/stackConfig";

const secretlint = path.join(repoRoot, "node_modules", ".bin", "secretlint");

/** Runs the repository's secretlint config on one file of a scratch directory. */
function scan(dir: string, file: string): { status: number | null; output: string } {
    const r = spawnSync(secretlint, ["--secretlintrc", path.join(repoRoot, ".secretlintrc.json"), "--no-color", file], { cwd: dir, encoding: "utf8" });
    return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

// Fake credentials of the right shape, assembled at run time so this file itself scans clean.
const fakeKeyId = ["AK", "IA", "Q7ZT", "M2XW", "R9PL", "K4VB"].join("");
const fakeSecret = ["wJ4lrX9tnF", "EMI7K7MDEN", "Gb8xRfiQYz", "Tq2LpW0vXa"].join("");

describe("the secret scan", () => {
    let dir: string;

    before(() => {
        dir = mkdtempSync(path.join(tmpdir(), "secret-scan-"));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it("is part of the test command, before the tests", () => {
        const pkg = JSON.parse(readFileSync(path.join(repoRoot, "package.json"), "utf8"));
        assert.match(pkg.scripts.test, /^tsc --noEmit && secretlint "\*\*\/\*" && node /);
        assert.match(readFileSync(path.join(repoRoot, ".secretlintignore"), "utf8"), /^\*\*\/node_modules\/\*\*$/m);
    });

    it("fails on a planted AWS access key and secret key, without printing them", () => {
        writeFileSync(path.join(dir, "leaked.env"), `AWS_ACCESS_KEY_ID=${fakeKeyId}\nAWS_SECRET_ACCESS_KEY=${fakeSecret}\n`);
        const { status, output } = scan(dir, "leaked.env");
        assert.equal(status, 1, output);
        assert.match(output, /AWSAccessKeyID/);
        assert.match(output, /AWSSecretAccessKey/);
        assert.ok(!output.includes(fakeKeyId) && !output.includes(fakeSecret), "findings are masked");
    });

    it("fails on a key in source code, not only in env files", () => {
        writeFileSync(path.join(dir, "client.ts"), `const credentials = { accessKeyId: "${fakeKeyId}" };\n`);
        assert.equal(scan(dir, "client.ts").status, 1);
    });

    it("passes a clean file and AWS's documented example key", () => {
        writeFileSync(path.join(dir, "clean.env"), "AWS_PROFILE=platform-dev\nAWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\n");
        const { status, output } = scan(dir, "clean.env");
        assert.equal(status, 0, output);
    });
});

describe(".env.example", () => {
    it("holds placeholders only, and .env files stay out of git", () => {
        const lines = readFileSync(path.join(repoRoot, ".env.example"), "utf8").split("\n").filter((l) => l.trim() && !l.startsWith("#"));
        assert.ok(lines.length > 0);
        for (const line of lines) assert.match(line, /^[A-Z][A-Z0-9_]*=(<[a-z0-9-]+>)?$/, line);
        const ignored = readFileSync(path.join(repoRoot, ".gitignore"), "utf8").split("\n");
        assert.ok(ignored.includes(".env") && ignored.includes(".env.*") && ignored.includes("!.env.example"));
    });
});
