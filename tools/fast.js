#!/usr/bin/env node
/**
 * The fast path of the command-line tools: `node tools/fast.js <plan|rotate|bench> [args]`, what
 * `npm run plan|rotate|bench` run. It runs the same TypeScript (tools/<name>.ts) compiled once:
 *
 * - esbuild bundles the tool with the program and the harness into one CommonJS file, the SDKs and
 *   other packages left to node_modules, and keeps it in node_modules/.cache until one of the files
 *   it was built from (or package-lock.json, or this file) changes: a manifest records each input's
 *   hash, so a changed or new import rebuilds it;
 * - V8's code cache, taken at the end of a run (installCodeCache), keeps the compiled code of that
 *   bundle and of the SDKs between runs, functions compiled on their first call included, so a run
 *   neither parses ~1,500 modules nor compiles the functions it calls again;
 * - no TypeScript loader (tsx) at run time;
 * - `plan` and `rotate` keep each successful run's output (stdout, stderr) in node_modules/.cache,
 *   keyed by the bundle's inputs, the arguments, today's UTC date (the plan's default clock), the
 *   colour settings and the working directory, and recording every file the run read outside
 *   node_modules (stack files, Pulumi.yaml, CA files, --stack-file, --previous-outputs) with its
 *   hash: the same command over the same files prints the same bytes without running the program
 *   again, and any change to one of those files runs it anew, like a build cache.
 *
 * Plain JavaScript on purpose: a .ts launcher would need the loader it avoids. The bundle lives two
 * directories below the repository (node_modules/.cache/), as tools/harness/ and components/config/
 * do, so their `path.resolve(__dirname, "..", "..")` is the repository in the bundle too.
 * DISABLE_V8_COMPILE_CACHE=1 turns the code cache off; PLATFORM_SECRETS_NO_CACHE=1 the output
 * cache; PLATFORM_SECRETS_NO_BUNDLE=1 runs the TypeScript through tsx (none of the three).
 */
"use strict";
const { createHash } = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const cacheDir = path.join(root, "node_modules", ".cache");
const TOOLS = ["plan", "rotate", "bench"];
/** Tools whose output is a function of their inputs (bench measures time, so it is never kept). */
const CACHED = ["plan", "rotate"];

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

/** The output cache's key of one run: everything besides files read that its output depends on. */
function runKey(name, bundle, args) {
    const manifest = fs.readFileSync(`${bundle}.manifest.json`, "utf8");
    const env = ["NO_COLOR", "FORCE_COLOR"].map((k) => `${k}=${process.env[k] ?? ""}`).join(";");
    const parts = [name, manifest, JSON.stringify(args), new Date().toISOString().slice(0, 10), env, String(process.stdout.isTTY === true), process.cwd()];
    return createHash("sha256").update(parts.join("\0")).digest("hex");
}

const inRepoData = (file) => !path.resolve(file).split(path.sep).includes("node_modules");

/** Replays a kept run if every file it read is unchanged; returns whether it did. */
function replay(entryFile) {
    let entry;
    try {
        entry = JSON.parse(fs.readFileSync(entryFile, "utf8"));
    } catch {
        return false;
    }
    for (const [file, hash] of Object.entries(entry.files)) if (sha(file) !== hash) return false;
    process.stderr.write(entry.stderr, () => process.stdout.write(entry.stdout, () => process.exit(0)));
    return true;
}

/** Records what the run reads and writes, and keeps it once it exits 0. */
function record(entryFile) {
    const files = new Set();
    const readFileSync = fs.readFileSync;
    fs.readFileSync = function (file, ...rest) {
        if (typeof file === "string" && inRepoData(file)) files.add(path.resolve(file));
        return readFileSync.call(this, file, ...rest);
    };
    const existsSync = fs.existsSync;
    fs.existsSync = function (file) {
        if (typeof file === "string" && inRepoData(file)) files.add(path.resolve(file));
        return existsSync.call(this, file);
    };
    const out = { stdout: [], stderr: [] };
    for (const stream of ["stdout", "stderr"]) {
        const write = process[stream].write.bind(process[stream]);
        process[stream].write = (chunk, ...rest) => {
            out[stream].push(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"));
            return write(chunk, ...rest);
        };
    }
    process.on("exit", (code) => {
        if (code !== 0) return;
        const entry = { files: Object.fromEntries([...files].map((f) => [f, sha(f)])), stdout: out.stdout.join(""), stderr: out.stderr.join("") };
        try {
            readFileSync.call(fs, entryFile); // an entry another run kept meanwhile is as good
        } catch {
            const tmp = `${entryFile}.${process.pid}.tmp`;
            fs.writeFileSync(tmp, JSON.stringify(entry));
            fs.renameSync(tmp, entryFile);
        }
    });
}

/**
 * V8's code cache for every CommonJS module a tool loads (its bundle and the SDKs), taken after the
 * run. V8 compiles most functions lazily, on their first call, so a cache made when a module is
 * compiled (what v8-compile-cache kept) holds little more than its top level, and each process
 * compiled the SDK functions the program calls all over again. `script.createCachedData()` at the
 * end of a successful run holds every function compiled so far, so the next process skips those
 * compilations too (prod plan: 1.12 s → 0.86 s, against 0.66 s for merely requiring the SDKs).
 *
 * One file a tool, node_modules/.cache/platform-secrets-code-cache/<tool>.bin: a 4-byte length, a
 * JSON header (the data's sha256; file → [sha1 of its source, start, end]) and V8's data, written
 * under a unique temporary name and renamed, so a reader sees one whole version. V8 itself checks
 * only a cache's header (version, flags, source length), not its payload, so the data is used only
 * when its sha256 matches: a damaged file is ignored as a whole and rewritten. It is rewritten
 * only when a module had no usable entry (a changed or new file, another Node, other V8 flags),
 * keeping the entries of modules this run did not load whose files still exist.
 *
 * Node's own compile still handles what this one would get wrong: ES modules, modules that call
 * `import()` (a vm.Script has no loader for it), any module while source maps are on, and source
 * that does not parse as a CommonJS function body. Stack traces keep file and line; a column on a
 * module's first line is off by the wrapper's length. DISABLE_V8_COMPILE_CACHE=1 turns the cache
 * off; PLATFORM_SECRETS_CODE_CACHE_DIR puts it elsewhere (the tests).
 */
function installCodeCache(name) {
    const vm = require("node:vm");
    const Module = require("node:module");
    const dir = process.env.PLATFORM_SECRETS_CODE_CACHE_DIR || path.join(cacheDir, "platform-secrets-code-cache");
    const file = path.join(dir, `${name}.bin`);
    const { files, data } = readCodeCache(file);
    const scripts = new Map();
    let stale = false;
    const compile = Module.prototype._compile;
    Module.prototype._compile = function (content, filename, format) {
        if ((format !== undefined && format !== "commonjs") || process.sourceMapsEnabled || /\bimport\s*\(/.test(content)) return compile.apply(this, arguments);
        const body = content.startsWith("#!") ? content.replace(/^#![^\r\n]*/, "") : content;
        const hash = createHash("sha1").update(body).digest("hex");
        const entry = files[filename];
        const cachedData = entry && entry[0] === hash ? data.subarray(entry[1], entry[2]) : undefined;
        let script;
        try {
            script = new vm.Script(Module.wrap(body), { filename, cachedData });
        } catch {
            // Whatever Node makes of it (ESM syntax it detects, or the error it reports).
            return compile.apply(this, arguments);
        }
        if (!cachedData || script.cachedDataRejected) stale = true;
        scripts.set(filename, { hash, script });
        // The arguments Node's own loader passes a module.
        const mod = this;
        const require = (id) => mod.require(id);
        require.resolve = (request, options) => Module._resolveFilename(request, mod, false, options);
        require.resolve.paths = (request) => Module._resolveLookupPaths(request, mod);
        require.main = process.mainModule;
        require.extensions = Module._extensions;
        require.cache = Module._cache;
        const wrapper = script.runInThisContext({ displayErrors: true });
        return wrapper.call(mod.exports, mod.exports, require, mod, filename, path.dirname(filename));
    };
    process.once("exit", (code) => {
        Module.prototype._compile = compile;
        if (!stale || code !== 0) return;
        const parts = [];
        const next = {};
        let offset = 0;
        const add = (filename, hash, bytes) => {
            next[filename] = [hash, offset, offset + bytes.length];
            parts.push(bytes);
            offset += bytes.length;
        };
        for (const [filename, { hash, script }] of scripts) add(filename, hash, script.createCachedData());
        for (const [filename, [hash, start, end]] of Object.entries(files)) {
            if (!scripts.has(filename) && fs.existsSync(filename)) add(filename, hash, data.subarray(start, end));
        }
        const payload = Buffer.concat(parts);
        const head = Buffer.from(JSON.stringify({ sha256: createHash("sha256").update(payload).digest("hex"), files: next }));
        const length = Buffer.alloc(4);
        length.writeUInt32LE(head.length);
        const tmp = `${file}.${require("node:crypto").randomUUID()}.tmp`;
        try {
            fs.mkdirSync(dir, { recursive: true });
            fs.writeFileSync(tmp, Buffer.concat([length, head, payload]));
            fs.renameSync(tmp, file);
        } catch {
            // a read-only cache only costs the next run its compile time
            fs.rmSync(tmp, { force: true });
        }
    });
}

/** The code cache's entries and data, or none when the file is missing, malformed or damaged. */
function readCodeCache(file) {
    const none = { files: {}, data: Buffer.alloc(0) };
    let all;
    try {
        all = fs.readFileSync(file);
    } catch {
        return none;
    }
    try {
        const length = all.readUInt32LE(0);
        const head = JSON.parse(all.subarray(4, 4 + length).toString("utf8"));
        const data = all.subarray(4 + length);
        if (!head || typeof head.files !== "object" || head.files === null || createHash("sha256").update(data).digest("hex") !== head.sha256) return none;
        const files = {};
        for (const [filename, entry] of Object.entries(head.files)) {
            const ok = Array.isArray(entry) && typeof entry[0] === "string" && Number.isInteger(entry[1]) && Number.isInteger(entry[2]) && entry[1] >= 0 && entry[1] <= entry[2] && entry[2] <= data.length;
            if (ok) files[filename] = entry;
        }
        return { files, data };
    } catch {
        return none;
    }
}

/**
 * @pulumi/pulumi loads TypeScript's compiler (9 MB of JavaScript) as it starts, for serialising
 * function closures (runtime/closure), which no tool here does: its shim gets a stand-in that
 * loads the compiler on first use. (It also holds `import()`, so the code cache could not cover it.)
 */
function deferTypeScript() {
    const Module = require("node:module");
    const load = Module._load;
    Module._load = function (request, parent, isMain) {
        if (request !== "typescript" || !parent || !/[\\/]@pulumi[\\/]pulumi[\\/]typescript-shim\.js$/.test(parent.filename)) return load.apply(this, arguments);
        let real;
        const ts = () => (real ??= load.call(Module, request, parent, isMain));
        return new Proxy(
            {},
            {
                get: (_, key) => ts()[key],
                has: (_, key) => key in ts(),
                ownKeys: () => Reflect.ownKeys(ts()),
                getOwnPropertyDescriptor: (_, key) => {
                    const d = Object.getOwnPropertyDescriptor(ts(), key);
                    return d && { ...d, configurable: true };
                },
            },
        );
    };
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
    if (CACHED.includes(name) && process.env.PLATFORM_SECRETS_NO_CACHE !== "1") {
        const dir = path.join(cacheDir, "platform-secrets-runs");
        fs.mkdirSync(dir, { recursive: true });
        const entryFile = path.join(dir, `${runKey(name, bundle, args)}.json`);
        if (replay(entryFile)) return;
        record(entryFile);
    }
    deferTypeScript();
    if (process.env.DISABLE_V8_COMPILE_CACHE !== "1") installCodeCache(name);
    process.argv = [process.argv[0], bundle, ...args];
    require(bundle);
}

if (require.main === module) main();
module.exports = { bundleOf };
