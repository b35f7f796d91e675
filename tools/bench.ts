/**
 * npm run bench: wall time and resource count of the offline plan, for the real prod stack and for
 * generated catalogs of growing size (up to 100 apps with 10 secrets each), to show how time grows
 * with the number of apps. A benchmark, not a test: it asserts nothing and prints a table.
 *
 * It also plans one app with 2,000 secrets (`--secrets`), which must stay linear: within 2x the time
 * per resource of the largest spread-out catalog. Each catalog runs in its own process, so the peak
 * memory printed is its own.
 *
 * First it sets the offline prod plan, as `npm run plan` runs it (tools/fast.js), beside its floor:
 * a bare `node` that only imports the SDKs the program uses, alternating the two `--runs` times in
 * this one run; then the wall time of a whole `npm test`, with the machine's load average, since
 * both are whole processes on a shared machine. CPU seconds (user + system, from the kernel's
 * accounting of waited-for children) are printed beside wall time: they move less with the load.
 *
 *   npm run bench [-- --apps 1,10,25,50,100 --secrets 2000 --repeat 3 --runs 7 --skip-tests --skip-catalogs]
 */
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { readStackConfig, repoRoot } from "./harness/stackConfig";
import { runStack } from "./planLib";

const NOW = new Date("2026-11-22T00:00:00Z");

/** A prod-like catalog of `n` apps with 10 secrets each, one backup target each. */
export function generatedCatalog(n: number): Record<string, unknown> {
    const apps: Record<string, unknown> = {};
    for (let i = 0; i < n; i++) {
        const name = `app-${String(i).padStart(3, "0")}`;
        apps[name] = {
            namespace: name,
            backups: { postgres: {} },
            secrets: {
                api_token: { env: "API_TOKEN", source: { kind: "random-bytes", bytes: 32 } },
                session_key: { env: "SESSION_KEY", source: { kind: "random-bytes", bytes: 32, encoding: "hex" } },
                jwt_secret: { env: "JWT_SECRET", rotation: "dual-key", source: { kind: "random-bytes", bytes: 32 } },
                db_user: { source: { kind: "plain", value: name.replace(/-/g, "_") } },
                db_password: { source: { kind: "password", length: 32 } },
                database_url: {
                    env: "DATABASE_URL",
                    source: { kind: "composed", template: `postgresql://{db_user}:{db_password}@postgres.${name}.svc:5432/${name.replace(/-/g, "_")}?sslmode=require` },
                },
                cache_password: { source: { kind: "password", length: 24, special: true } },
                cache_url: { env: "CACHE_URL", source: { kind: "composed", template: `rediss://:{cache_password}@redis.${name}.svc:6380/0` } },
                search_url: { env: "SEARCH_URL", source: { kind: "plain", value: `https://search.${name}.svc:9200` } },
                vendor_token: { env: "VENDOR_TOKEN", source: { kind: "supplied", required: false } },
            },
        };
    }
    return { ...readStackConfig("prod"), "platform-secrets:apps": apps };
}

/**
 * One prod-like app with `secrets` secrets in groups of ten like generatedCatalog's (composed DSNs
 * and URLs referencing their group's password and user), the shape that was quadratic.
 */
export function singleAppCatalog(secrets: number): Record<string, unknown> {
    const group = (generatedCatalog(1)["platform-secrets:apps"] as Record<string, { secrets: Record<string, any> }>)["app-000"].secrets;
    const catalog: Record<string, unknown> = {};
    for (let g = 0; g < Math.ceil(secrets / 10); g++) {
        for (const [key, s] of Object.entries(group)) {
            if (Object.keys(catalog).length >= secrets) break;
            const copy = structuredClone(s);
            if (copy.env) copy.env = `${copy.env}_${g}`;
            if (copy.source.kind === "composed") copy.source.template = copy.source.template.replace(/\{([a-z_]+)\}/g, `{$1_${g}}`);
            catalog[`${key}_${g}`] = copy;
        }
    }
    const apps = { "app-000": { namespace: "app-000", backups: { postgres: {} }, secrets: catalog } };
    return { ...readStackConfig("prod"), "platform-secrets:apps": apps };
}

interface Row {
    label: string;
    resources: number;
    ms: number;
    /** Peak resident memory of the process that planned only this catalog, in MiB. */
    peakMiB: number;
}

type Case = { label: string; config: () => Record<string, unknown> };

function cases(sizes: number[], single: number): Case[] {
    return [
        { label: "prod stack (Pulumi.prod.yaml)", config: () => readStackConfig("prod") },
        ...sizes.map((n) => ({ label: `generated: ${n} apps x 10 secrets`, config: () => generatedCatalog(n) })),
        { label: `generated: 1 app x ${single} secrets`, config: () => singleAppCatalog(single) },
    ];
}

/** Plans one case `repeat` times in this process (a child of the bench) and prints one JSON row. */
async function measureOne(c: Case, repeat: number): Promise<Row> {
    // Warm-up: module loading and JIT would otherwise land on the first run.
    await runStack("dev", { now: NOW });
    const config = c.config();
    let best = Infinity;
    let resources = 0;
    for (let i = 0; i < repeat; i++) {
        const t0 = process.hrtime.bigint();
        const result = await runStack("prod", { config, now: NOW });
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        best = Math.min(best, ms);
        resources = result.resources.length;
    }
    return { label: c.label, resources, ms: best, peakMiB: process.resourceUsage().maxRSS / 1024 };
}

/** The SDKs components/ imports: what any run of the program must load at least. */
export const PROGRAM_SDKS = ["@pulumi/pulumi", "@pulumi/aws", "@pulumi/kubernetes", "@pulumi/vault", "@pulumi/random", "@pulumiverse/time"];

const root = repoRoot;

/** CPU seconds (user + system) of this process's waited-for children so far (Linux /proc), or NaN. */
function childrenCpu(): number {
    try {
        const fields = readFileSync("/proc/self/stat", "utf8").split(") ")[1].split(" ");
        // Fields 16 and 17 of stat (cutime, cstime), counted from 1 with pid and comm before ") ".
        return (Number(fields[13]) + Number(fields[14])) / 100;
    } catch {
        return Number.NaN;
    }
}

interface Timed {
    wall: number;
    cpu: number;
}

function timed(command: string, args: string[], options: { cwd: string; stdio?: "ignore" | "inherit"; env?: Record<string, string> }): Timed {
    const cpu0 = childrenCpu();
    const t0 = process.hrtime.bigint();
    const r = spawnSync(command, args, { cwd: options.cwd, stdio: options.stdio ?? "ignore", env: { ...process.env, FORCE_COLOR: "0", ...options.env } });
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    if (r.status !== 0) throw new Error(`${command} ${args.join(" ")} exited ${r.status}`);
    return { wall, cpu: childrenCpu() - cpu0 };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const min = (xs: number[]) => Math.min(...xs);

/**
 * The plan against its floor, alternating, `runs` times each: the plan computed (its output cache
 * off, bundle and code cache warm) and the plan repeated (the same command again: its output kept).
 */
export function planAgainstFloor(runs: number): string {
    const floor: [string, string[]] = [process.execPath, ["-e", PROGRAM_SDKS.map((m) => `require(${JSON.stringify(m)})`).join(";")]];
    const planArgs = [path.join(root, "tools", "fast.js"), "plan", "--stack", "prod", "--json", "--now", "2026-11-22T00:00:00Z"];
    const kinds: { label: string; env: Record<string, string>; args: string[] }[] = [
        { label: `floor: node -e 'require(${PROGRAM_SDKS.length} SDKs)'`, env: {}, args: floor[1] },
        { label: "npm run plan -- --stack prod --json (computed)", env: { PLATFORM_SECRETS_NO_CACHE: "1" }, args: planArgs },
        { label: "the same again (output kept)", env: {}, args: planArgs },
    ];
    // Once each first: the plan's bundle and code cache are built, the files are in the page cache.
    for (const k of kinds) timed(process.execPath, k.args, { cwd: root, env: k.env });
    const times: Timed[][] = kinds.map(() => []);
    const load0 = loadavg()[0];
    for (let i = 0; i < runs; i++) kinds.forEach((k, j) => times[j].push(timed(process.execPath, k.args, { cwd: root, env: k.env })));
    const stats = (xs: Timed[]) => [min(xs.map((x) => x.wall)), median(xs.map((x) => x.wall)), min(xs.map((x) => x.cpu)), median(xs.map((x) => x.cpu))];
    const [f, ...plans] = times.map(stats);
    const cells = (xs: number[]) => xs.map((x) => x.toFixed(2).padStart(8)).join(" ");
    return [
        `offline prod plan against its floor, whole processes, alternating, ${runs} runs each (load average ${load0.toFixed(1)} → ${loadavg()[0].toFixed(1)} on ${navigatorCores()} cores; seconds)`,
        "",
        `${"".padEnd(58)} ${"wall min".padStart(8)} ${"wall med".padStart(8)} ${"cpu min".padStart(8)} ${"cpu med".padStart(8)}`,
        `${kinds[0].label.padEnd(58)} ${cells(f)}`,
        ...plans.flatMap((p, i) => [`${kinds[i + 1].label.padEnd(58)} ${cells(p)}`, `${"  / floor".padEnd(58)} ${cells(p.map((x, j) => x / f[j]))}   (target: at most 1.5)`]),
        "",
    ].join("\n");
}

function navigatorCores(): number {
    return availableParallelism();
}

/** One whole `npm test`, its wall and CPU time and the load around it. */
export function npmTestTime(): string {
    const load0 = loadavg()[0];
    const t = timed("npm", ["test", "--silent"], { cwd: root, stdio: "ignore" });
    return `npm test: ${t.wall.toFixed(1)} s wall, ${t.cpu.toFixed(1)} s CPU (user + system) on ${navigatorCores()} cores, load average ${load0.toFixed(1)} → ${loadavg()[0].toFixed(1)} (target: under 60 s wall)\n\n`;
}

async function bench(): Promise<void> {
    const { values } = parseArgs({
        options: {
            apps: { type: "string", default: "1,10,25,50,100" },
            secrets: { type: "string", default: "2000" },
            repeat: { type: "string", default: "3" },
            runs: { type: "string", default: "7" },
            "skip-tests": { type: "boolean", default: false },
            "skip-catalogs": { type: "boolean", default: false },
            case: { type: "string" },
        },
    });
    const sizes = values.apps.split(",").map(Number);
    const repeat = Number(values.repeat);
    const all = cases(sizes, Number(values.secrets));
    if (values.case !== undefined) {
        const row = await measureOne(all[Number(values.case)], repeat);
        await new Promise<void>((resolve) => process.stdout.write(`${JSON.stringify(row)}\n`, () => resolve()));
        return;
    }
    const head = [planAgainstFloor(Number(values.runs)), values["skip-tests"] ? "" : npmTestTime()].join("\n");
    if (values["skip-catalogs"]) {
        await new Promise<void>((resolve) => process.stdout.write(head, () => resolve()));
        return;
    }
    // Each case in its own process, so the peak memory printed is that case's own.
    const rows: Row[] = [];
    for (let i = 0; i < all.length; i++) {
        const out = execFileSync(process.execPath, [...process.execArgv, __filename, "--apps", values.apps, "--secrets", values.secrets, "--repeat", values.repeat, "--case", String(i)], {
            encoding: "utf8",
            maxBuffer: 16 * 1024 * 1024,
            stdio: ["ignore", "pipe", "inherit"],
        });
        rows.push(JSON.parse(out.trim().split("\n").pop()!) as Row);
    }

    const base = rows[1];
    const largest = rows[rows.length - 2];
    const lines = [head, `offline plan under mocks, best of ${repeat}, node ${process.version}; peak RSS of a process planning only that catalog\n\n`];
    lines.push(`${"catalog".padEnd(36)} ${"resources".padStart(9)} ${"wall ms".padStart(9)} ${"ms/resource".padStart(11)} ${"x time vs smallest".padStart(18)} ${"peak MiB".padStart(9)}\n`);
    for (const r of rows) {
        const ratio = r === rows[0] ? "" : (r.ms / base.ms).toFixed(1);
        lines.push(
            `${r.label.padEnd(36)} ${String(r.resources).padStart(9)} ${r.ms.toFixed(0).padStart(9)} ${(r.ms / r.resources).toFixed(2).padStart(11)} ${ratio.padStart(18)} ${r.peakMiB.toFixed(0).padStart(9)}\n`,
        );
    }
    const single = rows[rows.length - 1];
    const perResource = single.ms / single.resources / (largest.ms / largest.resources);
    lines.push(`\none app with ${values.secrets} secrets: ${perResource.toFixed(2)}x the time per resource of ${largest.label.replace("generated: ", "")} (target: at most 2x)\n`);
    // Resolve once stdout is flushed: exiting earlier would truncate a piped table.
    await new Promise<void>((resolve) => process.stdout.write(lines.join(""), () => resolve()));
}

bench().then(
    () => process.exit(0),
    (e: Error) => {
        process.stderr.write(`${e.stack ?? e.message}\n`);
        process.exit(1);
    },
);
