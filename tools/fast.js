#!/usr/bin/env node
/**
 * The fast path of the command-line tools: `node tools/fast.js <plan|rotate|bench> [args]`, what
 * `npm run plan|rotate|bench` run. It runs the same TypeScript (tools/<name>.ts) compiled once:
 *
 * - esbuild bundles the tool with the program and the harness into one CommonJS file, the SDKs and
 *   other packages left to node_modules, and keeps it in node_modules/.cache until one of the files
 *   it was built from (or package-lock.json, or this file) changes: a manifest records each input's
 *   hash, so a changed or new import rebuilds it;
 * - V8's code cache (v8-compile-cache) keeps the parsed and compiled code of that bundle and of the
 *   SDKs between runs, so a run does not parse and compile ~1,500 modules again;
 * - no TypeScript loader (tsx) at run time.
 *
 * Plain JavaScript on purpose: a .ts launcher would need the loader it avoids. The bundle lives two
 * directories below the repository (node_modules/.cache/), as tools/harness/ and components/config/
 * do, so their `path.resolve(__dirname, "..", "..")` is the repository in the bundle too.
 * DISABLE_V8_COMPILE_CACHE=1 turns the code cache off; PLATFORM_SECRETS_NO_BUNDLE=1 runs through tsx.
 */
"use strict";
const { createHash } = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const cacheDir = path.join(root, "node_modules", ".cache");
const TOOLS = ["plan", "rotate", "bench"];

function sha(file) {
    try {
        return createHash("sha256").update(fs.readFileSync(file)).digest("hex");
    } catch {
        return "missing";
    }
}

/** What a bundle depends on besides its own inputs: the lock file (package versions) and this launcher. */
function baseKey() {
    return `${sha(path.join(root, "package-lock.json"))}:${sha(__filename)}:${process.version}`;
}

/** The bundle of tools/<name>.ts, rebuilt when any input changed; returns its path. */
function bundleOf(name) {
    const out = path.join(cacheDir, `platform-secrets-${name}.js`);
    const manifestFile = `${out}.manifest.json`;
    const base = baseKey();
    try {
        const manifest = JSON.parse(fs.readFileSync(manifestFile, "utf8"));
        if (manifest.base === base && fs.existsSync(out) && Object.entries(manifest.inputs).every(([f, h]) => sha(path.join(root, f)) === h)) return out;
    } catch {
        // no manifest yet, or a broken one: build
    }
    if (path.resolve(path.dirname(out), "..", "..") !== root) throw new Error(`${out} must sit two directories below ${root}`);
    fs.mkdirSync(cacheDir, { recursive: true });
    const esbuild = require("esbuild");
    // Unique temporary names, then renames: concurrent first runs each write a whole file.
    const tmp = `${out}.${process.pid}.tmp`;
    const result = esbuild.buildSync({
        entryPoints: [path.join(root, "tools", `${name}.ts`)],
        bundle: true,
        platform: "node",
        target: "node20",
        format: "cjs",
        packages: "external",
        outfile: tmp,
        metafile: true,
        logLevel: "warning",
    });
    const inputs = {};
    for (const f of Object.keys(result.metafile.inputs)) inputs[f] = sha(path.join(root, f));
    fs.renameSync(tmp, out);
    fs.writeFileSync(`${manifestFile}.${process.pid}.tmp`, JSON.stringify({ base, inputs }));
    fs.renameSync(`${manifestFile}.${process.pid}.tmp`, manifestFile);
    return out;
}

function main() {
    const [name, ...args] = process.argv.slice(2);
    if (!TOOLS.includes(name)) {
        process.stderr.write(`usage: node tools/fast.js <${TOOLS.join("|")}> [args]\n`);
        process.exit(2);
    }
    if (process.env.PLATFORM_SECRETS_NO_BUNDLE === "1") {
        const { spawnSync } = require("node:child_process");
        const r = spawnSync(process.execPath, ["--import", "tsx", path.join(root, "tools", `${name}.ts`), ...args], { stdio: "inherit" });
        process.exit(r.status ?? 1);
    }
    const bundle = bundleOf(name);
    process.env.V8_COMPILE_CACHE_CACHE_DIR ??= path.join(cacheDir, "v8-compile-cache");
    require("v8-compile-cache");
    process.argv = [process.argv[0], bundle, ...args];
    require(bundle);
}

if (require.main === module) main();
module.exports = { bundleOf };
