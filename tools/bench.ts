/**
 * npm run bench: wall time and resource count of the offline plan, for the real prod stack and for
 * generated catalogs of growing size (up to 100 apps with 10 secrets each), to show how time grows
 * with the number of apps. A benchmark, not a test: it asserts nothing and prints a table.
 *
 *   npm run bench [-- --apps 1,10,25,50,100 --repeat 3]
 */
import { parseArgs } from "node:util";
import { readStackConfig } from "./harness/stackConfig";
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

async function measure(label: string, stack: string, config: Record<string, unknown>, repeat: number): Promise<{ label: string; resources: number; ms: number }> {
    let best = Infinity;
    let resources = 0;
    for (let i = 0; i < repeat; i++) {
        const t0 = process.hrtime.bigint();
        const result = await runStack(stack, { config, now: NOW });
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        best = Math.min(best, ms);
        resources = result.resources.length;
    }
    return { label, resources, ms: best };
}

async function bench(): Promise<void> {
    const { values } = parseArgs({ options: { apps: { type: "string", default: "1,10,25,50,100" }, repeat: { type: "string", default: "3" } } });
    const sizes = values.apps.split(",").map(Number);
    const repeat = Number(values.repeat);
    // Warm-up: module loading and JIT would otherwise land on the first row.
    await runStack("dev", { now: NOW });

    const rows = [await measure("prod stack (Pulumi.prod.yaml)", "prod", readStackConfig("prod"), repeat)];
    for (const n of sizes) rows.push(await measure(`generated: ${n} apps x 10 secrets`, "prod", generatedCatalog(n), repeat));

    const base = rows[1];
    const lines = [`offline plan under mocks, best of ${repeat}, node ${process.version}\n\n`];
    lines.push(`${"catalog".padEnd(36)} ${"resources".padStart(9)} ${"wall ms".padStart(9)} ${"ms/resource".padStart(11)} ${"x time vs smallest".padStart(18)}\n`);
    for (const r of rows) {
        const ratio = r === rows[0] ? "" : (r.ms / base.ms).toFixed(1);
        lines.push(
            `${r.label.padEnd(36)} ${String(r.resources).padStart(9)} ${r.ms.toFixed(0).padStart(9)} ${(r.ms / r.resources).toFixed(2).padStart(11)} ${ratio.padStart(18)}\n`,
        );
    }
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
