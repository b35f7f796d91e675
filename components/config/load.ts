/**
 * Reads this project's config once, validates it (schema, then cross-field rules) and returns the
 * resolved model, or throws one ConfigError listing every problem by its config path. Called before
 * any resource is constructed, so bad input registers nothing.
 */
import * as pulumi from "@pulumi/pulumi";
import type { core } from "zod";
import { PlatformConfig, resolveConfig } from "./model";
import { checkRules, nearest, Problem } from "./rules";
import { stackConfigSchema, topLevelKeys } from "./schema";

/** A RunError prints its message without a stack trace: the message is the whole story. */
export class ConfigError extends pulumi.RunError {
    constructor(
        readonly problems: string[],
        stack: string,
        /** What was invalid; the stack's configuration unless a stack file could not be read at all. */
        subject = `configuration for stack ${stack}`,
    ) {
        super(`invalid ${subject} (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
        this.name = "ConfigError";
    }
}

function formatPath(project: string, path: readonly PropertyKey[]): string {
    return `${project}:${path.map(String).join(".")}`;
}

/** One zod issue in the words an operator reads. */
function describe(issue: core.$ZodIssue): string {
    // A schema's own words (min(16, "must be at least 16")) say it best; zod's defaults are rephrased.
    const own = !/^(Too (small|big)|Invalid)/.test(issue.message);
    if (own && (issue.code === "too_small" || issue.code === "too_big")) return issue.message;
    if (issue.code === "too_small" && issue.origin === "string" && issue.minimum === 1) return "must not be empty";
    switch (issue.code) {
        case "too_small":
            return issue.origin === "string" || issue.origin === "array" ? `must have at least ${issue.minimum} ${issue.origin === "string" ? "characters" : "items"}` : `must be at least ${issue.minimum}`;
        case "too_big":
            return issue.origin === "string" ? `must have at most ${issue.maximum} characters` : `must be at most ${issue.maximum}`;
        case "invalid_type":
            return issue.message.includes("received undefined") ? `is required (${issue.expected})` : `must be ${issue.expected === "int" ? "an integer" : `a ${issue.expected}`}`;
        case "invalid_value":
            return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
        case "invalid_union":
            return issue.message.includes("discriminator") ? `must be one of random-bytes, password, composed, supplied, plain, jwt, database` : issue.message;
        default:
            return issue.message;
    }
}

/** Parses a config value the way Pulumi hands it over: objects as JSON, scalars as strings. */
function parseValue(raw: string): unknown {
    try {
        return JSON.parse(raw);
    } catch {
        return raw;
    }
}

/** `{ secure: "v1:..." }`: ciphertext nobody decrypted (the offline plan has no secrets provider). */
function isCiphertext(v: unknown): v is { secure: string } {
    return v !== null && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 1 && typeof (v as { secure?: unknown }).secure === "string";
}

/**
 * YAML's `key:` with nothing after it arrives as null: that is an absent value, so a required key
 * is reported missing (never the string "null") and an optional one takes its default. Empty
 * strings stay, for the schema to refuse: an empty string is never a choice.
 */
function withoutNulls(v: unknown): unknown {
    if (Array.isArray(v)) return v.map(withoutNulls);
    if (v !== null && typeof v === "object") {
        const out: Record<string, unknown> = Object.create(null);
        for (const k of Object.keys(v)) {
            const x = (v as Record<string, unknown>)[k];
            if (x !== null) Object.defineProperty(out, k, { value: withoutNulls(x), enumerable: true, writable: true, configurable: true });
        }
        return out;
    }
    return v;
}

/** Dotted paths of the leaves of a value, with the leaf. */
function leaves(v: unknown, path: string[], out: [string[], unknown][] = []): [string[], unknown][] {
    if (v !== null && typeof v === "object" && !Array.isArray(v) && !isCiphertext(v)) {
        for (const k of Object.keys(v)) leaves((v as Record<string, unknown>)[k], [...path, k], out);
    } else out.push([path, v]);
    return out;
}

/** Other packages' config keys that hold credentials (vault:token, aws:secretKey, ...). */
const CREDENTIAL_KEY = /(password|passwd|secret|secretkey|token|privatekey|apikey|credentials)$/i;

/**
 * Validates this project's keys of a runtime config map (`project:key` → string). Pure: tests call
 * it directly, and the program through loadConfig.
 */
export function validateConfig(all: Record<string, string>, project: string, stack: string, secretKeys: readonly string[] = []): PlatformConfig {
    const raw: Record<string, unknown> = Object.create(null);
    const problems: string[] = [];
    const known = new Set<string>(topLevelKeys);
    const secret = new Set(secretKeys);
    /** Paths of ciphertext this run cannot decrypt: reported as such, and not again by the schema. */
    const encrypted: string[] = [];
    for (const [fullKey, value] of Object.entries(all)) {
        const colon = fullKey.indexOf(":");
        const [ns, key] = [fullKey.slice(0, colon), fullKey.slice(colon + 1)];
        if (ns !== project) {
            // A provider's credential (vault:token, aws:secretKey) set without --secret is in git.
            const parsedOther = parseValue(value);
            const scalar = typeof parsedOther === "string" || parsedOther === undefined;
            if (CREDENTIAL_KEY.test(key) && scalar && value !== "" && !secret.has(fullKey)) {
                problems.push(`${fullKey}: is a credential stored in plaintext in the stack file; rotate it, then set it with: pulumi config set --stack ${stack} --secret ${fullKey} '<value>'`);
            }
            continue;
        }
        if (!known.has(key)) {
            const near = nearest(key, topLevelKeys);
            problems.push(`${project}:${key}: unknown key${near ? ` (did you mean ${near}?)` : ""} (known keys: ${topLevelKeys.join(", ")})`);
            continue;
        }
        // environment is a plain string; JSON-looking text (a null, a number) still means what YAML wrote.
        const parsedValue = key === "environment" ? (value === "null" || value === "" ? undefined : value) : withoutNulls(parseValue(value));
        const v = parsedValue === null ? undefined : parsedValue;
        for (const [path, leaf] of leaves(v, [key])) {
            if (isCiphertext(leaf)) {
                encrypted.push(path.join("."));
                problems.push(
                    `${formatPath(project, path)}: is encrypted (secure:) and cannot be decrypted in this run; the Pulumi CLI decrypts it with the stack's secrets provider` +
                        (key === "suppliedSecrets" ? " (the offline plan stands in a placeholder unless --strict)" : ""),
                );
            }
        }
        // `{}` is what the engine sets from Pulumi.yaml's `default: {}` when a stack does not set the key.
        const empty = typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 0;
        if (v !== undefined && !empty) raw[key] = v;
    }
    // Operator secrets only ever come encrypted (`--secret`): a plaintext one is already in the stack
    // file, in git. Say so, by path, without echoing any value, whatever the key is called.
    if (raw.suppliedSecrets !== undefined && !secret.has(`${project}:suppliedSecrets`)) {
        const plaintext = leaves(raw.suppliedSecrets, ["suppliedSecrets"]).filter(([, leaf]) => !isCiphertext(leaf));
        if (plaintext.length > 0) {
            problems.push(
                `${project}:suppliedSecrets: is stored in plaintext in the stack file; remove it, rotate those values, and set each with: pulumi config set --stack ${stack} --secret --path 'suppliedSecrets.<app>.<secret>' '<value>'`,
            );
            for (const [path] of plaintext) problems.push(`${formatPath(project, path)}: is plaintext in the stack file (rotate this value)`);
        }
    }
    const parsed = stackConfigSchema.safeParse(raw);
    const underEncrypted = (path: readonly PropertyKey[]) => {
        const p = path.map(String).join(".");
        return encrypted.some((e) => p === e || p.startsWith(`${e}.`));
    };
    if (!parsed.success) {
        for (const issue of parsed.error.issues) {
            if (underEncrypted(issue.path)) continue;
            if (issue.code === "unrecognized_keys") {
                for (const k of issue.keys) problems.push(`${formatPath(project, [...issue.path, k])}: unknown key`);
            } else {
                problems.push(`${formatPath(project, issue.path)}: ${describe(issue)}`);
            }
        }
    } else {
        // Resolution is a pure mapping, safe on a config the rules may still reject; the rules then
        // check the names it derives.
        const resolved = resolveConfig(parsed.data, project, stack);
        problems.push(...checkRules(parsed.data, resolved, stack).map((p: Problem) => `${formatPath(project, p.path)}: ${p.message}`));
        if (problems.length === 0) return resolved;
    }
    throw new ConfigError(problems, stack);
}

/** Reads and validates the current stack's config. */
export function loadConfig(): PlatformConfig {
    const all = pulumi.runtime.allConfig();
    // isConfigSecret is the runtime's own record of which keys arrived encrypted (not in its typings).
    const isSecret = (pulumi.runtime as unknown as { isConfigSecret(key: string): boolean }).isConfigSecret;
    return validateConfig(all, pulumi.getProject(), pulumi.getStack(), Object.keys(all).filter((k) => isSecret(k)));
}
