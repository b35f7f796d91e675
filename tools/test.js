#!/usr/bin/env node
/**
 * The test step of `npm test`: every test/*.test.ts (or the files named), run by node's test runner
 * in a few processes instead of one process per file.
 *
 * A process per file pays, 50-odd times, for Node, the TypeScript loader and the Pulumi SDKs (about
 * 1.5 s each), and every file of one stack ran that stack's program again. Here:
 * - files are put into groups: the files of one stack (`*.<stack>.test.ts`) always together, so they
 *   share one run of the stack's program (test/support.ts `runStack`), the others spread so that
 *   the groups weigh about the same (by each file's time in the last run, kept in
 *   node_modules/.cache; 3 s for a file never timed);
 * - each group is one process, `node --test` runs as many at once as the machine has cores, the
 *   heaviest first;
 * - inside a group each file is a suite of its own, named by its path, that starts from empty
 *   emulated servers (tools/harness/mocks/common.ts): a file sees what it would see alone.
 *
 * `node --import tsx --test test/<file>.test.ts` still runs one file alone, as before.
 * Options: --groups N (default: twice the cores), --concurrency N (default: the cores), --list (print
 * the groups as JSON and run nothing), --update-seed (after a passing run, write the kept times, this
 * run's over earlier ones, to tools/test-times.json: run it over all files on the 2-core machine). Each test has five minutes (--test-timeout).
 * Plain JavaScript on purpose, like tools/fast.js: it only starts node.
 */
"use strict";
const { spawn } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const cacheDir = path.join(root, "node_modules", ".cache", "platform-secrets-tests");
const timesFile = path.join(cacheDir, "times.json");
/**
 * Committed times of a run on the 2-core machine, for a fresh clone, whose cache is empty: without
 * them every file weighs the same and the heaviest ones can share a group (55 s instead of 44 s).
 * The last run's own times take precedence; `--update-seed` writes them here.
 */
const seedFile = path.join(__dirname, "test-times.json");
const UNTIMED_MS = 3000;
/** A hung test (or file) fails after five minutes instead of holding CI for its 90; the slowest file takes under a minute. */
const TEST_TIMEOUT_MS = 300_000;

function parseArgs(argv) {
    const cores = Math.max(1, os.availableParallelism ? os.availableParallelism() : os.cpus().length);
    const opts = { files: [], groups: 2 * cores, concurrency: cores, list: false, updateSeed: false };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === "--groups" || a === "--concurrency") {
            const n = Number(argv[++i]);
            if (!Number.isInteger(n) || n < 1) throw new Error(`${a} takes a whole number above 0`);
            opts[a.slice(2)] = n;
        } else if (a === "--list") opts.list = true;
        else if (a === "--update-seed") opts.updateSeed = true;
        else if (a.startsWith("-")) throw new Error(`unknown option ${a}`);
        else opts.files.push(path.resolve(a));
    }
    if (opts.files.length === 0) {
        const dir = path.join(root, "test");
        opts.files = fs.readdirSync(dir).filter((f) => f.endsWith(".test.ts")).sort().map((f) => path.join(dir, f));
    }
    for (const f of opts.files) if (!fs.existsSync(f)) throw new Error(`no such test file: ${path.relative(root, f)}`);
    return opts;
}

function readJson(file) {
    try {
        return JSON.parse(fs.readFileSync(file, "utf8"));
    } catch {
        return {};
    }
}

function readTimes() {
    return { ...readJson(seedFile), ...readJson(timesFile) };
}

/** The stack a file belongs to (`kubernetes.prod.test.ts` → prod), or undefined. */
function stackOf(file) {
    const m = /\.([a-z0-9-]+)\.test\.ts$/.exec(path.basename(file));
    return m && ["dev", "staging", "prod"].includes(m[1]) ? m[1] : undefined;
}

/**
 * Units that must share a process (a stack's files, or one file) into `count` groups of about equal
 * weight: heaviest unit first, into the lightest group (longest processing time first).
 */
function plan(files, count, times) {
    const units = new Map();
    for (const f of files) {
        const key = stackOf(f) ?? f;
        const unit = units.get(key) ?? { files: [], weight: 0 };
        unit.files.push(f);
        unit.weight += times[path.relative(root, f)] ?? UNTIMED_MS;
        units.set(key, unit);
    }
    const groups = Array.from({ length: Math.min(count, units.size) }, () => ({ files: [], weight: 0 }));
    for (const unit of [...units.values()].sort((a, b) => b.weight - a.weight)) {
        const lightest = groups.reduce((a, b) => (b.weight < a.weight ? b : a));
        lightest.files.push(...unit.files);
        lightest.weight += unit.weight;
    }
    return groups.filter((g) => g.files.length > 0).sort((a, b) => b.weight - a.weight);
}

/** A group's entry file: each test file a suite that starts from empty emulated servers, timed. */
function entrySource(files, timesOut) {
    const common = path.join(root, "tools", "harness", "mocks", "common.ts");
    return `"use strict";
// Written by tools/test.js for one run; not to be edited.
const { after, before, describe } = require("node:test");
const { writeFileSync } = require("node:fs");
const { resetEmulatedServers } = require(${JSON.stringify(common)});
const times = {};
for (const [name, file] of ${JSON.stringify(files.map((f) => [path.relative(root, f), f]))}) {
    describe(name, () => {
        let start;
        before(() => {
            resetEmulatedServers();
            start = performance.now();
        });
        after(() => {
            times[name] = Math.round(performance.now() - start);
        });
        require(file);
    });
}
process.on("exit", () => writeFileSync(${JSON.stringify(timesOut)}, JSON.stringify(times)));
`;
}

function main() {
    const opts = parseArgs(process.argv.slice(2));
    const times = readTimes();
    const groups = plan(opts.files, opts.groups, times);
    if (opts.list) {
        process.stdout.write(`${JSON.stringify(groups.map((g) => ({ weight: g.weight, files: g.files.map((f) => path.relative(root, f)) })), null, 2)}\n`);
        return;
    }
    const runDir = path.join(cacheDir, `run-${process.pid}`);
    fs.mkdirSync(runDir, { recursive: true });
    const entries = groups.map((g, i) => {
        const entry = path.join(runDir, `group-${i + 1}.test.js`);
        fs.writeFileSync(entry, entrySource(g.files, path.join(runDir, `times-${i + 1}.json`)));
        return entry;
    });
    const child = spawn(
        process.execPath,
        // A larger young generation: the program runs allocate a lot of short-lived promises and
        // outputs, and the default 16 MB semi-space spent about a fifth of a file's time in
        // scavenges (credentials.prod: 6.5 s → 5.5 s). The test runner passes it to each group.
        ["--max-semi-space-size=64", "--require", path.join(__dirname, "testRunnerHook.js"), "--import", "tsx", "--test", `--test-concurrency=${opts.concurrency}`, `--test-timeout=${TEST_TIMEOUT_MS}`, ...entries],
        { cwd: root, stdio: "inherit" },
    );
    const stop = (signal) => child.kill(signal);
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
    child.on("exit", (code, signal) => {
        // Keep the files' times for the next run's grouping (a file that did not finish keeps its old time).
        for (let i = 1; i <= entries.length; i++) Object.assign(times, readJson(path.join(runDir, `times-${i}.json`)));
        // Only files that exist: a deleted or renamed test leaves no weight behind.
        const kept = JSON.stringify(times, Object.keys(times).filter((f) => fs.existsSync(path.join(root, f))).sort(), 1);
        try {
            fs.writeFileSync(timesFile, kept);
        } catch {
            // a read-only cache is no reason to fail the tests
        }
        if (opts.updateSeed && code === 0) fs.writeFileSync(seedFile, `${kept}\n`);
        fs.rmSync(runDir, { recursive: true, force: true });
        process.exitCode = signal ? 1 : code ?? 1;
    });
}

try {
    main();
} catch (e) {
    console.error(`tools/test.js: ${e.message}`);
    process.exitCode = 2;
}
