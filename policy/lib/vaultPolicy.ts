/**
 * Vault ACL policy documents, HCL or JSON, reduced to what a guardrail needs: each `path` rule and
 * the capabilities it grants. The parser covers the HCL a policy document uses (blocks, attributes,
 * strings, numbers, booleans, lists, objects, `#` `//` `/* *\/` comments) and the legacy
 * `policy = "read"` form. Anything else (heredocs, interpolation) is an error: a guardrail that
 * cannot read a policy fails it rather than pass it. test/policy.test.ts checks the parser against
 * @cdktf/hcl2json on the fixtures.
 */

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

type Token = { kind: "string" | "ident" | "number" | "punct"; text: string; pos: number };
type Value = string | number | boolean | Value[] | { [key: string]: Value } | { ident: string };

function tokenize(src: string): Token[] {
    const tokens: Token[] = [];
    let i = 0;
    while (i < src.length) {
        const c = src[i];
        if (/\s/.test(c)) {
            i++;
        } else if (c === "#" || (c === "/" && src[i + 1] === "/")) {
            while (i < src.length && src[i] !== "\n") i++;
        } else if (c === "/" && src[i + 1] === "*") {
            const end = src.indexOf("*/", i + 2);
            if (end < 0) throw new VaultPolicyParseError(`unterminated comment at ${i}`);
            i = end + 2;
        } else if (c === '"') {
            let text = "";
            let j = i + 1;
            for (; j < src.length && src[j] !== '"'; j++) {
                if (src[j] === "\n") throw new VaultPolicyParseError(`newline in string at ${i}`);
                if (src[j] === "$" && src[j + 1] === "{") throw new VaultPolicyParseError(`interpolation in string at ${j}`);
                if (src[j] === "\\") {
                    const e = src[++j];
                    const escapes: Record<string, string> = { n: "\n", t: "\t", r: "\r", '"': '"', "\\": "\\" };
                    if (!(e in escapes)) throw new VaultPolicyParseError(`unsupported escape \\${e} at ${j}`);
                    text += escapes[e];
                } else text += src[j];
            }
            if (j >= src.length) throw new VaultPolicyParseError(`unterminated string at ${i}`);
            tokens.push({ kind: "string", text, pos: i });
            i = j + 1;
        } else if (/[A-Za-z_]/.test(c)) {
            let j = i;
            while (j < src.length && /[A-Za-z0-9_\-]/.test(src[j])) j++;
            tokens.push({ kind: "ident", text: src.slice(i, j), pos: i });
            i = j;
        } else if (/[0-9]/.test(c) || (c === "-" && /[0-9]/.test(src[i + 1] ?? ""))) {
            let j = i + 1;
            while (j < src.length && /[0-9.]/.test(src[j])) j++;
            tokens.push({ kind: "number", text: src.slice(i, j), pos: i });
            i = j;
        } else if ("{}[]=,:".includes(c)) {
            tokens.push({ kind: "punct", text: c, pos: i });
            i++;
        } else {
            throw new VaultPolicyParseError(`unexpected character ${JSON.stringify(c)} at ${i}`);
        }
    }
    return tokens;
}

class Parser {
    private i = 0;
    constructor(private readonly tokens: Token[]) {}

    private peek(): Token | undefined {
        return this.tokens[this.i];
    }
    private next(): Token {
        const t = this.tokens[this.i++];
        if (!t) throw new VaultPolicyParseError("unexpected end of policy");
        return t;
    }
    private expect(text: string): void {
        const t = this.next();
        if (t.kind !== "punct" || t.text !== text) throw new VaultPolicyParseError(`expected '${text}' at ${t.pos}, found ${JSON.stringify(t.text)}`);
    }
    private isPunct(text: string): boolean {
        const t = this.peek();
        return !!t && t.kind === "punct" && t.text === text;
    }

    /** body := (attribute | block)*; blocks are returned as { type, labels, body }. */
    body(until?: string): { attributes: Record<string, Value>; blocks: { type: string; labels: string[]; body: ReturnType<Parser["body"]> }[] } {
        const attributes: Record<string, Value> = {};
        const blocks: { type: string; labels: string[]; body: ReturnType<Parser["body"]> }[] = [];
        while (this.peek() && !(until && this.isPunct(until))) {
            const name = this.next();
            if (name.kind !== "ident") throw new VaultPolicyParseError(`expected a name at ${name.pos}, found ${JSON.stringify(name.text)}`);
            if (this.isPunct("=")) {
                this.next();
                attributes[name.text] = this.value();
                continue;
            }
            const labels: string[] = [];
            while (this.peek() && (this.peek()!.kind === "string" || this.peek()!.kind === "ident")) labels.push(this.next().text);
            this.expect("{");
            const inner = this.body("}");
            this.expect("}");
            blocks.push({ type: name.text, labels, body: inner });
        }
        return { attributes, blocks };
    }

    value(): Value {
        const t = this.next();
        if (t.kind === "string") return t.text;
        if (t.kind === "number") return Number(t.text);
        if (t.kind === "ident") return t.text === "true" ? true : t.text === "false" ? false : { ident: t.text };
        if (t.text === "[") {
            const items: Value[] = [];
            while (!this.isPunct("]")) {
                items.push(this.value());
                if (this.isPunct(",")) this.next();
                else break;
            }
            this.expect("]");
            return items;
        }
        if (t.text === "{") {
            const obj: { [key: string]: Value } = {};
            while (!this.isPunct("}")) {
                const key = this.next();
                if (key.kind !== "string" && key.kind !== "ident") throw new VaultPolicyParseError(`expected a key at ${key.pos}`);
                const sep = this.next();
                if (sep.text !== "=" && sep.text !== ":") throw new VaultPolicyParseError(`expected '=' at ${sep.pos}`);
                obj[key.text] = this.value();
                if (this.isPunct(",")) this.next();
            }
            this.expect("}");
            return obj;
        }
        throw new VaultPolicyParseError(`unexpected ${JSON.stringify(t.text)} at ${t.pos}`);
    }
}

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

/** Every `path` rule of a Vault policy document. Throws VaultPolicyParseError on anything unreadable. */
export function parseVaultPolicy(text: string): VaultPathRule[] {
    const trimmed = text.trim();
    if (trimmed.startsWith("{")) {
        let doc: unknown;
        try {
            doc = JSON.parse(trimmed);
        } catch (e) {
            throw new VaultPolicyParseError(`invalid JSON policy: ${(e as Error).message}`);
        }
        return fromJson(doc as Record<string, unknown>);
    }
    const parser = new Parser(tokenize(text));
    const { attributes, blocks } = parser.body();
    if (attributes.path !== undefined) throw new VaultPolicyParseError("`path` must be a block, not an attribute");
    const rules: VaultPathRule[] = [];
    for (const block of blocks) {
        if (block.type !== "path") continue;
        if (block.labels.length !== 1) throw new VaultPolicyParseError("a path block takes exactly one label, the path");
        if (block.body.blocks.length > 0 && block.body.blocks.some((b) => b.type === "path")) throw new VaultPolicyParseError("nested path blocks");
        rules.push({ path: block.labels[0], capabilities: capabilitiesOf(`path "${block.labels[0]}"`, block.body.attributes) });
    }
    return rules;
}
