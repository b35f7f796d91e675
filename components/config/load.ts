/**
 * Reads this project's config once, validates it (schema, then cross-field rules) and returns the
 * resolved model, or throws one ConfigError listing every problem by its config path. Called before
 * any resource is constructed, so bad input registers nothing.
 */
import * as pulumi from "@pulumi/pulumi";
import type { core } from "zod";
import { PlatformConfig, resolveConfig } from "./model";
import { checkRules, Problem } from "./rules";
import { stackConfigSchema, topLevelKeys } from "./schema";

/** A RunError prints its message without a stack trace: the message is the whole story. */
export class ConfigError extends pulumi.RunError {
    constructor(
        readonly problems: string[],
        stack: string,
    ) {
        super(`invalid configuration for stack ${stack} (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
        this.name = "ConfigError";
    }
}

function formatPath(project: string, path: readonly PropertyKey[]): string {
    return `${project}:${path.map(String).join(".")}`;
}

/** One zod issue in the words an operator reads. */
function describe(issue: core.$ZodIssue): string {
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
            return issue.message.includes("discriminator") ? `must be one of random-bytes, password, composed, supplied, plain` : issue.message;
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

/**
 * Validates this project's keys of a runtime config map (`project:key` → string). Pure: tests call
 * it directly, and the program through loadConfig.
 */
export function validateConfig(all: Record<string, string>, project: string, stack: string, secretKeys: readonly string[] = []): PlatformConfig {
    const raw: Record<string, unknown> = {};
    const problems: string[] = [];
    const known = new Set<string>(topLevelKeys);
    for (const [fullKey, value] of Object.entries(all)) {
        const [ns, key] = [fullKey.slice(0, fullKey.indexOf(":")), fullKey.slice(fullKey.indexOf(":") + 1)];
        if (ns !== project) continue;
        if (!known.has(key)) {
            problems.push(`${project}:${key}: unknown key (known keys: ${topLevelKeys.join(", ")})`);
            continue;
        }
        raw[key] = key === "environment" ? value : parseValue(value);
    }
    // Operator secrets only ever come encrypted (`--secret`): a plaintext one is already in the stack
    // file, in git. Say so without echoing any value. An empty object holds no value: it is what the
    // engine sets from Pulumi.yaml's default when a stack has no operator secret.
    if (raw.suppliedSecrets !== undefined && !secretKeys.includes(`${project}:suppliedSecrets`) && JSON.stringify(raw.suppliedSecrets) !== "{}") {
        problems.push(
            `${project}:suppliedSecrets: is stored in plaintext in the stack file; remove it, rotate those values, and set each with: pulumi config set --stack ${stack} --secret --path 'suppliedSecrets.<app>.<secret>' '<value>'`,
        );
    }
    const parsed = stackConfigSchema.safeParse(raw);
    if (!parsed.success) {
        for (const issue of parsed.error.issues) {
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
