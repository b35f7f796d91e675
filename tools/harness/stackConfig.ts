/**
 * Reads a Pulumi.<stack>.yaml the way the Pulumi CLI hands it to a program: every key of the
 * `config:` map becomes `namespace:key`, objects become JSON strings, scalars strings.
 * Values the CLI would decrypt (`secure: v1:...`) cannot be decrypted here; they are returned
 * separately so the caller decides (the offline plan substitutes a placeholder).
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { Document, isAlias, isMap, isPair, isScalar, isSeq, LineCounter, Node, parseDocument } from "yaml";
import { ConfigError } from "../../components/config/load";

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

/**
 * Aliases one stack file may expand: generous for hand-written anchors, far below what a "billion
 * laughs" document needs. (gopkg.in/yaml.v3, which the Pulumi CLI reads stack files with, refuses
 * such documents too: "document contains excessive aliasing".)
 */
const MAX_ALIAS_EXPANSION = 10_000;

function isMergeKey(key: unknown): boolean {
    // `<<` written plainly; a quoted "<<" is an ordinary key (yaml.v3 agrees).
    return isScalar(key) && typeof key.value === "symbol" && key.value.description === "<<";
}

function keyText(key: unknown): string {
    if (isScalar(key)) return typeof key.value === "symbol" ? "<<" : String(key.value);
    return "?";
}

/** The key path of the innermost pair around `offset`, as `a.b.c`. */
function pathAt(node: unknown, offset: number, prefix: string[] = []): string[] {
    if (isMap(node)) {
        for (const pair of node.items) {
            const k = pair.key as Node | null;
            const v = pair.value as Node | null;
            const start = k?.range?.[0] ?? v?.range?.[0];
            const end = v?.range?.[2] ?? k?.range?.[2];
            if (start === undefined || end === undefined || offset < start || offset > end) continue;
            const here = [...prefix, keyText(k)];
            return v && v.range && offset >= v.range[0] ? pathAt(v, offset, here) : here;
        }
    } else if (isSeq(node)) {
        node.items.forEach((item, i) => {
            const r = (item as Node | null)?.range;
            if (r && offset >= r[0] && offset <= r[2]) prefix = pathAt(item, offset, [...prefix, String(i)]);
        });
    }
    return prefix;
}

/** The path of the last key that starts at or before `offset`: where a parser error that lies between keys belongs. */
function pathBefore(node: unknown, offset: number, prefix: string[] = []): string[] {
    let best = prefix;
    if (isMap(node)) {
        for (const pair of node.items) {
            const start = (pair.key as Node | null)?.range?.[0];
            if (start === undefined || start > offset) break;
            best = pathBefore(pair.value, offset, [...prefix, keyText(pair.key)]);
        }
    } else if (isSeq(node)) {
        node.items.forEach((item, i) => {
            const start = (item as Node | null)?.range?.[0];
            if (start !== undefined && start <= offset) best = pathBefore(item, offset, [...prefix, String(i)]);
        });
    }
    return best;
}

/** A document path (`config.ns:key.sub`) in the words config messages use (`ns:key.sub`). */
function configPath(keys: string[]): string {
    return keys[0] === "config" && keys.length > 1 ? keys.slice(1).join(".") : keys.join(".") || "(document)";
}

interface Located {
    line: number;
    path: string;
    message: string;
}

/**
 * Checks gopkg.in/yaml.v3 makes and the yaml package does not: one `<<` per mapping, merge sources
 * that are mappings, and the total size aliases expand to (counted without expanding anything).
 */
function structuralProblems(doc: Document, lines: LineCounter): Located[] {
    const problems: Located[] = [];
    const sizes = new Map<unknown, number>();
    const at = (n: Node | null | undefined) => lines.linePos(n?.range?.[0] ?? 0).line;
    const size = (n: unknown, depth: number): number => {
        if (depth > 200) return MAX_ALIAS_EXPANSION + 1;
        if (isAlias(n)) {
            const target = n.resolve(doc);
            if (!target) return 1;
            if (!sizes.has(target)) sizes.set(target, Math.min(size(target, depth + 1), 1e12));
            return sizes.get(target)!;
        }
        if (isMap(n)) return n.items.reduce((sum, p) => sum + 1 + size(p.value, depth + 1), 1);
        if (isSeq(n)) return n.items.reduce((sum: number, i) => sum + size(i, depth + 1), 1);
        return 1;
    };
    const walk = (n: unknown, keys: string[]): void => {
        if (isMap(n)) {
            let merges = 0;
            for (const pair of n.items) {
                if (!isPair(pair)) continue;
                const here = [...keys, keyText(pair.key)];
                if (isMergeKey(pair.key)) {
                    if (++merges > 1) problems.push({ line: at(pair.key as Node), path: configPath(keys), message: "has more than one merge key (<<); the Pulumi CLI (yaml.v3) rejects a repeated key: merge a list instead, <<: [*a, *b]" });
                    const sources = isSeq(pair.value) ? pair.value.items : [pair.value];
                    for (const src of sources) {
                        const target = isAlias(src) ? src.resolve(doc) : src;
                        if (!isMap(target)) problems.push({ line: at(src as Node), path: configPath(keys), message: "merges (<<) something that is not a mapping" });
                    }
                }
                if (isAlias(pair.value)) {
                    const expanded = size(pair.value, 0);
                    if (expanded > MAX_ALIAS_EXPANSION) {
                        problems.push({ line: at(pair.value as Node), path: configPath(here), message: `expands an alias to more than ${MAX_ALIAS_EXPANSION} nodes (an alias bomb?); the Pulumi CLI refuses such documents` });
                        continue;
                    }
                }
                walk(pair.value, here);
            }
        } else if (isSeq(n)) {
            // One report per sequence is enough: the rest of a bomb's items are the same alias.
            for (let i = 0; i < n.items.length; i++) {
                const item = n.items[i];
                if (isAlias(item) && size(item, 0) > MAX_ALIAS_EXPANSION) {
                    problems.push({ line: at(item as Node), path: configPath([...keys, String(i)]), message: `expands an alias to more than ${MAX_ALIAS_EXPANSION} nodes (an alias bomb?); the Pulumi CLI refuses such documents` });
                    break;
                }
                walk(item, [...keys, String(i)]);
            }
        }
    };
    walk(doc.contents, []);
    return problems;
}

/**
 * Parses a stack file as the Pulumi CLI reads it (gopkg.in/yaml.v3): duplicate keys are errors,
 * merge keys (`<<`) apply with explicit keys winning and earlier sources first, and alias bombs are
 * refused. Any problem throws one ConfigError naming the file, line and key path; parser messages
 * are reduced to their first line, so no source text (which may hold a value) is echoed.
 */
export function parseStackDocument(text: string, file = "stack file"): Record<string, unknown> {
    const lines = new LineCounter();
    const doc = parseDocument(text, { merge: true, uniqueKeys: true, prettyErrors: false, lineCounter: lines, strict: true });
    const located: Located[] = doc.errors.map((e) => ({
        line: lines.linePos(e.pos[0]).line,
        path: configPath(pathAt(doc.contents, e.pos[0]).length > 0 ? pathAt(doc.contents, e.pos[0]) : pathBefore(doc.contents, e.pos[0])),
        message: e.code === "DUPLICATE_KEY" ? "duplicate key: the Pulumi CLI rejects a key defined twice in one mapping" : `YAML syntax error: ${e.message.split("\n")[0]}`,
    }));
    if (located.length === 0) located.push(...structuralProblems(doc, lines));
    let value: unknown;
    if (located.length === 0) {
        try {
            value = doc.toJS({ maxAliasCount: -1 });
        } catch (e) {
            located.push({ line: 1, path: "(document)", message: `cannot be read: ${String((e as Error).message).split("\n")[0]}` });
        }
    }
    if (located.length === 0 && value !== null && value !== undefined && (typeof value !== "object" || Array.isArray(value))) {
        located.push({ line: 1, path: "(document)", message: "must be a mapping with a config: key" });
    }
    const config = (value as { config?: unknown } | null | undefined)?.config;
    if (located.length === 0 && config !== undefined && config !== null && (typeof config !== "object" || Array.isArray(config))) {
        located.push({ line: lines.linePos((doc.contents as Node | null)?.range?.[0] ?? 0).line, path: "config", message: "must be a mapping of namespace:key settings" });
    }
    if (located.length > 0) {
        throw new ConfigError(
            located.map((p) => `${file}:${p.line}: ${p.path}: ${p.message}`),
            file,
            `stack file ${file}`,
        );
    }
    return (value ?? {}) as Record<string, unknown>;
}

/** Parses a stack file's text into its `config:` map (namespace-qualified keys). */
export function parseStackFile(text: string, file = "stack file"): Record<string, unknown> {
    const doc = parseStackDocument(text, file) as { config?: Record<string, unknown> | null };
    return doc.config ?? {};
}

export function readStackConfig(stack: string): Record<string, unknown> {
    const file = stackFilePath(stack);
    return parseStackFile(readFileSync(file, "utf8"), path.basename(file));
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
