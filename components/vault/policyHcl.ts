/**
 * The one place Vault ACL policies become HCL. Every policy this program writes is a list of typed
 * rules (path + capabilities + why); this renders them, and refuses rules Vault would read
 * differently from how they look: duplicate paths (Vault merges them), empty capability lists,
 * unknown capabilities, and paths HCL would interpolate or that need escaping.
 */

/** Vault ACL capabilities (https://developer.hashicorp.com/vault/docs/concepts/policies#capabilities). */
export const CAPABILITIES = ["create", "read", "update", "patch", "delete", "list", "sudo", "deny", "subscribe", "recover"] as const;
export type Capability = (typeof CAPABILITIES)[number];

export interface PolicyRule {
    /** Vault API path without the /v1/ prefix; `*` (suffix) and `+` (one segment) are Vault's globs. */
    readonly path: string;
    readonly capabilities: readonly Capability[];
    /** Why the rule exists, rendered as a comment above it. */
    readonly why: string;
}

// A Vault path as this program writes it: segments of letters, digits and ._-, with Vault's `+`
// segment glob and a trailing `*`. No quotes, backslashes, `${`/`%{` (HCL templates) or spaces.
const PATH = /^(?:[A-Za-z0-9._-]+|\+)(?:\/(?:[A-Za-z0-9._-]+|\+))*(?:\/?\*)?$/;

/** Renders rules as a Vault HCL policy document. Deterministic: rule order is kept, capabilities are canonically ordered. */
export function renderPolicy(rules: readonly PolicyRule[]): string {
    if (rules.length === 0) throw new Error("a policy needs at least one rule");
    const seen = new Set<string>();
    const blocks = rules.map((rule) => {
        if (!PATH.test(rule.path)) throw new Error(`policy path ${JSON.stringify(rule.path)} is not a plain Vault path`);
        if (seen.has(rule.path)) throw new Error(`policy path ${rule.path} appears twice: Vault would merge the rules`);
        seen.add(rule.path);
        if (rule.capabilities.length === 0) throw new Error(`policy path ${rule.path} has no capabilities`);
        for (const c of rule.capabilities) {
            if (!(CAPABILITIES as readonly string[]).includes(c)) throw new Error(`policy path ${rule.path}: unknown capability ${c}`);
        }
        const caps = CAPABILITIES.filter((c) => rule.capabilities.includes(c));
        const why = rule.why
            .split("\n")
            .map((line) => `# ${line}`.trimEnd())
            .join("\n");
        return `${why}\npath "${rule.path}" {\n  capabilities = [${caps.map((c) => `"${c}"`).join(", ")}]\n}\n`;
    });
    return blocks.join("\n");
}
