/**
 * Vault ACL policy documents, HCL or JSON, reduced to what a guardrail needs: each `path` rule and
 * the capabilities it grants (the legacy `policy = "read"` form included). HCL is read by
 * @cdktf/hcl2json (HashiCorp's HCL parser compiled to WebAssembly, a repository devDependency the
 * pack resolves like the IAM policy simulator), never by a hand-written parser. Anything it cannot
 * read, or that Vault would not read as a policy (interpolation, `path` as an attribute), is an
 * error: a guardrail that cannot read a policy fails it rather than pass it.
 */
import { parse as hcl2json } from "@cdktf/hcl2json";

export interface VaultPathRule {
    path: string;
    capabilities: string[];
}

export class VaultPolicyParseError extends Error {}

/** Capabilities the legacy `policy = "<level>"` attribute stands for. */
const LEGACY_POLICY: Record<string, string[]> = {
    deny: ["deny"],
    read: ["read", "list"],
    write: ["create", "read", "update", "delete", "list"],
    sudo: ["create", "read", "update", "delete", "list", "sudo"],
};

function capabilitiesOf(where: string, attrs: Record<string, unknown>): string[] {
    const caps: string[] = [];
    if (attrs.capabilities !== undefined) {
        if (!Array.isArray(attrs.capabilities) || attrs.capabilities.some((c) => typeof c !== "string")) {
            throw new VaultPolicyParseError(`${where}: capabilities must be a list of strings`);
        }
        caps.push(...(attrs.capabilities as string[]));
    }
    if (attrs.policy !== undefined) {
        const level = LEGACY_POLICY[String(attrs.policy)];
        if (!level) throw new VaultPolicyParseError(`${where}: unknown policy level ${JSON.stringify(attrs.policy)}`);
        caps.push(...level);
    }
    return caps;
}

/** `{"path": {"<path>": {...}}}` (or a list of such maps), Vault's JSON policy syntax. */
function fromJson(doc: Record<string, unknown>): VaultPathRule[] {
    const rules: VaultPathRule[] = [];
    for (const paths of Array.isArray(doc.path) ? doc.path : [doc.path ?? {}]) {
        if (!paths || typeof paths !== "object") throw new VaultPolicyParseError("path must be an object");
        for (const [path, body] of Object.entries(paths as Record<string, unknown>)) {
            for (const b of Array.isArray(body) ? body : [body]) rules.push({ path, capabilities: capabilitiesOf(`path "${path}"`, (b ?? {}) as Record<string, unknown>) });
        }
    }
    return rules;
}

/** Parsed documents by text (parsing is pure; a stack holds the same policy text under many names). */
const parsed = new Map<string, Promise<VaultPathRule[]>>();
const PARSED_KEPT = 2000;

/** Every `path` rule of a Vault policy document. Rejects with VaultPolicyParseError on anything unreadable. */
export async function parseVaultPolicy(text: string): Promise<VaultPathRule[]> {
    let rules = parsed.get(text);
    if (!rules) {
        const parsing = parseUncached(text);
        rules = parsing;
        parsed.set(text, parsing);
        if (parsed.size > PARSED_KEPT) parsed.delete(parsed.keys().next().value!);
        // A failure is not kept (it may not be the document's fault, like the parser failing to
        // start): the next caller parses again and gets its own error.
        parsing.catch(() => {
            if (parsed.get(text) === parsing) parsed.delete(text);
        });
    }
    // Each caller gets its own copy of the rules: a cached array must never be changed under another.
    return structuredClone(await rules);
}

async function parseUncached(text: string): Promise<VaultPathRule[]> {
    const trimmed = text.trim();
    let doc: unknown;
    if (trimmed.startsWith("{")) {
        try {
            doc = JSON.parse(trimmed);
        } catch (e) {
            throw new VaultPolicyParseError(`invalid JSON policy: ${(e as Error).message}`);
        }
    } else {
        try {
            doc = await hcl2json("policy.hcl", text);
        } catch (e) {
            throw new VaultPolicyParseError(String((e as Error).message ?? e).split("\n")[0]);
        }
    }
    if (!doc || typeof doc !== "object" || Array.isArray(doc)) throw new VaultPolicyParseError("a policy document is an object of path blocks");
    if (JSON.stringify(doc).includes("${")) throw new VaultPolicyParseError("interpolation, which Vault does not perform");
    return fromJson(doc as Record<string, unknown>);
}
