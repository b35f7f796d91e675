/**
 * The README is the front door: it must stay true. Its config reference names every key of the
 * schema, and its set-up commands are what CI runs.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { stackConfigSchema } from "../components/config/schema";
import { repoRoot } from "../tools/harness/stackConfig";

const readme = readFileSync(path.join(repoRoot, "README.md"), "utf8");

/** Every leaf key path of a zod schema; records are written `<name>` after their parent key. */
function keyPaths(schema: any, prefix: string, placeholder = "<name>"): string[] {
    const def = schema._zod.def;
    switch (def.type) {
        case "default":
        case "prefault":
        case "optional":
        case "nullable":
            return keyPaths(def.innerType, prefix, placeholder);
        case "pipe":
            // schema.ts's mapOf: a map read key by key, introspected like a record.
            if (def.mapOf) return keyPaths({ _zod: { def: { type: "record", ...def.mapOf } } }, prefix, placeholder);
            return keyPaths(def.in, prefix, placeholder);
        case "object":
            return Object.entries(def.shape).flatMap(([k, v]) => keyPaths(v, prefix ? `${prefix}.${k}` : k, placeholderFor(k)));
        case "record": {
            const inner = keyPaths(def.valueType, `${prefix}.${placeholder}`, "<name>");
            // A record of scalars (tags, generations) is documented as the key itself.
            const valueDef = def.valueType._zod.def;
            return valueDef.type === "object" || valueDef.type === "record" || valueDef.mapOf || isWrappedObject(def.valueType) ? inner : [prefix];
        }
        case "union":
            return [...new Set(def.options.flatMap((o: any) => keyPaths(o, prefix, placeholder)))] as string[];
        default:
            return [prefix];
    }
}

function isWrappedObject(s: any): boolean {
    const def = s._zod.def;
    if (["default", "prefault", "optional"].includes(def.type)) return isWrappedObject(def.innerType);
    return def.type === "object" || def.type === "union";
}

/** How the README names the keys of each record. */
function placeholderFor(key: string): string {
    return { apps: "<app>", backups: "<target>", secrets: "<secret>", suppliedSecrets: "<app>" }[key] ?? "<name>";
}

describe("README", () => {
    it("documents every config key of the schema", () => {
        const paths = keyPaths(stackConfigSchema, "")
            .map((p) => (p === "suppliedSecrets.<app>" ? "suppliedSecrets.<app>.<secret>" : p))
            .filter((p) => p !== "");
        assert.ok(paths.length > 60, `only ${paths.length} paths found`);
        const missing = paths.filter((p) => {
            if (readme.includes(`\`${p}\``)) return false;
            // Grouped rows: `a.b.cpu` / `.memory`, `x.enabled` / `.mode` / `.days`.
            const dot = p.lastIndexOf(".");
            return !(readme.includes(`\`${p.slice(0, dot)}.`) && readme.includes(`\`${p.slice(dot)}\``));
        });
        assert.deepEqual(missing, []);
    });

    it("shows the two set-up commands, and CI runs exactly them", () => {
        assert.match(readme, /```sh\nnpm ci\nnpm test\n```/);
        const ci = readFileSync(path.join(repoRoot, ".ci", "run"), "utf8");
        assert.match(ci, /^npm ci\b/m);
        assert.match(ci, /^npm test$/m);
        const pkg = JSON.parse(readFileSync(path.join(repoRoot, "package.json"), "utf8"));
        assert.match(pkg.scripts.test, /tsc --noEmit/);
        assert.match(pkg.scripts.test, /secretlint/);
        assert.match(pkg.scripts.test, /node tools\/test\.js$/);
    });

    it("pins the toolchain this machine and Pulumi's loader need", () => {
        const pkg = JSON.parse(readFileSync(path.join(repoRoot, "package.json"), "utf8"));
        assert.equal(pkg.dependencies["@pulumi/pulumi"], "3.248.0");
        assert.match(pkg.devDependencies.typescript, /^5\.9\.\d+$/);
        for (const [name, version] of Object.entries({ ...pkg.dependencies, ...pkg.devDependencies })) {
            assert.match(String(version), /^\d+\.\d+\.\d+$/, `${name} is not pinned exactly`);
        }
    });
});

describe("README config reference defaults", () => {
    it("match the schema's defaults", () => {
        // The smallest valid config: only required keys, so every other key takes its default.
        const minimal = {
            environment: "staging",
            apps: { demo: { namespace: "demo", secrets: { token: { source: { kind: "random-bytes", bytes: 32 } } } } },
            vault: { address: "https://vault.example:8200" },
            aws: {
                region: "eu-west-1",
                eks: {
                    clusterName: "c",
                    oidcProviderArn: "arn:aws:iam::111122223333:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/X",
                    oidcIssuerUrl: "https://oidc.eks.eu-west-1.amazonaws.com/id/X",
                },
            },
            backup: { bucketPrefix: "acme", retentionDays: 7, noncurrentVersionDays: 3 },
        };
        const parsed = stackConfigSchema.parse(minimal) as Record<string, any>;
        const rows = [...readme.matchAll(/^\| `([a-zA-Z.]+)` \| `([^`]+)` \|/gm)];
        assert.ok(rows.length > 30, `only ${rows.length} rows with literal defaults`);
        for (const [, key, documented] of rows) {
            const actual = key.split(".").reduce((o, k) => (o === undefined ? undefined : o[k]), parsed as any);
            assert.notEqual(actual, undefined, `${key} has no default in the schema, but the README gives ${documented}`);
            assert.equal(typeof actual === "object" ? JSON.stringify(actual) : String(actual), documented, `README default of ${key}`);
        }
    });
});
