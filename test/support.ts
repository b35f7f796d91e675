/**
 * Shared test helpers. Each test file runs in its own process (node --test), so a stack's program
 * runs once per file and no runtime state leaks between stacks.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { runProgram, ResourceRecord, RunOptions, RunResult } from "../tools/harness/run";
import { validateConfig } from "../components/config/load";
import type { PlatformConfig } from "../components/config/model";
import { projectName, readStackConfig, toRuntimeConfig } from "../tools/harness/stackConfig";

export { SecretValue, reveal, plaintextStrings } from "../tools/harness/secret";
export type { ResourceRecord, RunResult };

/**
 * How a test runs a command-line tool (tools/<name>.ts) as a user does with `npm run <name>`: the
 * compiled bundle of the same sources through tools/fast.js (rebuilt whenever a source changes),
 * which starts in about half the time of the TypeScript loader. PLATFORM_SECRETS_NO_BUNDLE=1 runs
 * the TypeScript through tsx instead.
 */
export function toolCommand(name: "plan" | "rotate" | "bench", args: string[]): [string, string[]] {
    return [process.execPath, [join(__dirname, "..", "tools", "fast.js"), name, ...args]];
}

/** A real, parseable, self-signed test certificate (its key was discarded): config requires CA bundles to parse. */
export const TEST_CA_PEM = readFileSync(join(__dirname, "fixtures", "test-ca.crt"), "utf8");

/** The fixed clock the stack tests run at (scheduled rotation depends on it). */
export const TEST_NOW = new Date("2026-11-22T09:00:00Z");

/** A stand-in for the operator's `pulumi config set --secret` values, per stack. */
export const SUPPLIED = {
    "nemo-server": { huggingface_token: "hf_TestTokenNotARealValue0123456789", postgres_manager_bootstrap: "test-bootstrap-nemo-pg", redis_manager_bootstrap: "test-bootstrap-nemo-redis" },
    // The database managers' bootstrap passwords (docs/database-credentials.md), used once before Vault rotates them.
    "soma-memory": { postgres_manager_bootstrap: "test-bootstrap-soma-pg", redis_manager_bootstrap: "test-bootstrap-soma-redis" },
};

/** Runs a stack with its real Pulumi.<stack>.yaml, operator secrets supplied, at TEST_NOW. */
export function runStack(stack: string, overrides: Partial<RunOptions> = {}): Promise<RunResult> {
    return runProgram({ stack, now: TEST_NOW, secretConfig: { suppliedSecrets: SUPPLIED }, ...overrides });
}

/** A deep copy of a stack file's config, to edit in a test. */
export function stackConfig(stack: string): Record<string, any> {
    return structuredClone(readStackConfig(stack)) as Record<string, any>;
}

export function byType(result: RunResult, type: string): ResourceRecord[] {
    return result.resources.filter((r) => r.type === type);
}

export function one(result: RunResult, type: string, name: string): ResourceRecord {
    const found = result.resources.filter((r) => r.type === type && r.name === name);
    if (found.length !== 1) throw new Error(`expected one ${type} named ${name}, found ${found.length}: ${result.resources.filter((r) => r.type === type).map((r) => r.name).join(", ")}`);
    return found[0];
}

/** Resources the program registered (everything but the root Stack). */
export function programResources(result: RunResult): ResourceRecord[] {
    return result.resources.filter((r) => r.type !== "pulumi:pulumi:Stack");
}

/** Deep merge for config overlays: objects merge key by key, `null` deletes, anything else replaces. */
export function overlay(base: unknown, patch: unknown): unknown {
    if (patch === null) return undefined;
    if (patch && typeof patch === "object" && !Array.isArray(patch) && base && typeof base === "object" && !Array.isArray(base)) {
        // Keys are data: `__proto__` and `constructor` are set as own keys, never as the prototype.
        const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
        for (const [k, v] of Object.entries(patch)) {
            const merged = overlay(Object.hasOwn(out, k) ? out[k] : undefined, v);
            if (merged === undefined) delete out[k];
            else Object.defineProperty(out, k, { value: merged, enumerable: true, writable: true, configurable: true });
        }
        return out;
    }
    return patch;
}

/** The resolved model of a stack's config with the test's operator secrets: what the program sees. */
export function resolvedConfig(stack: string, config: Record<string, unknown> = readStackConfig(stack)): PlatformConfig {
    const rc = toRuntimeConfig(config, { suppliedSecrets: SUPPLIED });
    return validateConfig(rc.values, projectName, stack, rc.secretKeys);
}
