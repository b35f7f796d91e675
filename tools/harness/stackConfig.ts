/**
 * Reads a Pulumi.<stack>.yaml the way the Pulumi CLI hands it to a program: every key of the
 * `config:` map becomes `namespace:key`, objects become JSON strings, scalars strings.
 * Values the CLI would decrypt (`secure: v1:...`) cannot be decrypted here; they are returned
 * separately so the caller decides (the offline plan substitutes a placeholder).
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";

export const repoRoot = path.resolve(__dirname, "..", "..");
export const projectName = "platform-secrets";

export interface RuntimeConfig {
    /** `namespace:key` → the string the language host would pass. */
    values: Record<string, string>;
    /** Keys whose values are secrets. */
    secretKeys: string[];
    /** Paths of `secure:` values that could not be decrypted offline. */
    encrypted: string[];
}

export function stackFilePath(stack: string): string {
    return path.join(repoRoot, `Pulumi.${stack}.yaml`);
}

/** Parses a stack file's text into its `config:` map (namespace-qualified keys). */
export function parseStackFile(text: string): Record<string, unknown> {
    const doc = (parse(text) ?? {}) as { config?: Record<string, unknown> };
    return doc.config ?? {};
}

export function readStackConfig(stack: string): Record<string, unknown> {
    return parseStackFile(readFileSync(stackFilePath(stack), "utf8"));
}

/** Finds `{ secure: ... }` leaves (encrypted values) and reports their dotted paths. */
function findEncrypted(v: unknown, p: string): string[] {
    if (v && typeof v === "object" && !Array.isArray(v)) {
        const o = v as Record<string, unknown>;
        if (Object.keys(o).length === 1 && typeof o.secure === "string") return [p];
        return Object.entries(o).flatMap(([k, x]) => findEncrypted(x, `${p}.${k}`));
    }
    return [];
}

/**
 * Converts a config map to the runtime's string map. `secretValues` (namespace-qualified key →
 * value) are merged in as secret keys: that is how tests stand in for `pulumi config set --secret`.
 */
export function toRuntimeConfig(config: Record<string, unknown>, secretValues: Record<string, unknown> = {}): RuntimeConfig {
    const values: Record<string, string> = {};
    const encrypted: string[] = [];
    for (const [key, value] of Object.entries(config)) {
        const fullKey = key.includes(":") ? key : `${projectName}:${key}`;
        encrypted.push(...findEncrypted(value, fullKey));
        values[fullKey] = typeof value === "string" ? value : JSON.stringify(value);
    }
    const secretKeys: string[] = [];
    for (const [key, value] of Object.entries(secretValues)) {
        const fullKey = key.includes(":") ? key : `${projectName}:${key}`;
        values[fullKey] = typeof value === "string" ? value : JSON.stringify(value);
        secretKeys.push(fullKey);
    }
    return { values, secretKeys, encrypted };
}
