/**
 * The offline plan's model: run a stack under the mocks, redact secrets, sort, and diff two stacks.
 * Shared by tools/plan.ts, tools/bench.ts and the tests.
 */
import { runProgram, RunOptions, RunResult } from "./harness/run";
import { redact } from "./harness/secret";
import { projectName, readStackConfig } from "./harness/stackConfig";

export interface PlanResource {
    urn: string;
    type: string;
    name: string;
    parent?: string;
    provider?: string;
    inputs: Record<string, unknown>;
    options: Record<string, unknown>;
}

export interface Plan {
    project: string;
    stack: string;
    resources: PlanResource[];
    outputs: Record<string, unknown>;
}

export interface PlanOptions {
    showSecrets?: boolean;
    /** The clock; defaults to the start of the current UTC day, so two runs on one day agree byte for byte. */
    now?: Date;
    /** Fail like the real preview on a missing required operator secret, instead of using a placeholder. */
    strict?: boolean;
    /** Stack config to use instead of Pulumi.<stack>.yaml. */
    config?: Record<string, unknown>;
    /** Outputs of the stack's last deployment (its rotation state); none plans it as a new stack. */
    previousOutputs?: Record<string, unknown>;
    /** Where notices go (placeholders used). */
    notice?: (message: string) => void;
}

export const OFFLINE_PLACEHOLDER = "offline-plan-placeholder";

export function startOfUtcDay(d = new Date()): Date {
    return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
}

interface CatalogShape {
    [app: string]: { secrets?: Record<string, { source?: { kind?: string; required?: boolean } }>; databases?: Record<string, { managerBootstrapSecret?: string }> };
}

/**
 * Operator-supplied secrets the plan cannot have: required ones that are not set, and encrypted
 * (`secure:`) values it cannot decrypt without the stack's secrets provider. The plan stands in a
 * placeholder, marked secret, and says so; `--strict` fails instead, as `pulumi preview` would.
 */
function offlineSuppliedSecrets(config: Record<string, unknown>): { values: Record<string, Record<string, string>>; used: string[]; plaintext: boolean } {
    const own = (o: unknown, k: string): unknown => (o !== null && typeof o === "object" && Object.hasOwn(o, k) ? (o as Record<string, unknown>)[k] : undefined);
    const apps = (own(config, `${projectName}:apps`) ?? {}) as CatalogShape;
    const given = own(config, `${projectName}:suppliedSecrets`);
    const values: Record<string, Record<string, string>> = Object.create(null);
    const used: string[] = [];
    const isSecure = (v: unknown) => v !== null && typeof v === "object" && !Array.isArray(v) && typeof (v as { secure?: unknown }).secure === "string";
    // Any value under suppliedSecrets that is not ciphertext is plaintext in the file, whatever its
    // key (a misspelt one included): it stays, so validation refuses it as `pulumi up` must.
    const plaintextLeaf = (v: unknown): boolean =>
        v === null || v === undefined ? false : isSecure(v) ? false : typeof v === "object" && !Array.isArray(v) ? Object.keys(v).some((k) => plaintextLeaf((v as Record<string, unknown>)[k])) : true;
    const plaintext = given !== undefined && (given === null || typeof given !== "object" || Array.isArray(given) || plaintextLeaf(given));
    if (apps === null || typeof apps !== "object") return { values, used, plaintext };
    for (const app of Object.keys(apps)) {
        const secrets = own(own(apps, app), "secrets");
        if (secrets === null || typeof secrets !== "object") continue;
        for (const key of Object.keys(secrets)) {
            const source = own(own(secrets, key), "source") as { kind?: string; required?: boolean } | undefined;
            if (source?.kind !== "supplied") continue;
            const v = own(own(given, app), key);
            if (isSecure(v) || (v === undefined && source.required !== false)) {
                (values[app] ??= Object.create(null))[key] = OFFLINE_PLACEHOLDER;
                used.push(`suppliedSecrets.${app}.${key}`);
            }
        }
        // The database managers' bootstrap passwords (docs/database-credentials.md): required operator secrets too.
        const databases = own(own(apps, app), "databases");
        if (databases === null || typeof databases !== "object") continue;
        for (const db of Object.keys(databases)) {
            const key = own(own(databases, db), "managerBootstrapSecret");
            if (typeof key !== "string" || values[app]?.[key] !== undefined) continue;
            const v = own(own(given, app), key);
            if (isSecure(v) || v === undefined) {
                (values[app] ??= Object.create(null))[key] = OFFLINE_PLACEHOLDER;
                used.push(`suppliedSecrets.${app}.${key}`);
            }
        }
    }
    return { values, used, plaintext };
}

export async function runStack(stack: string, options: PlanOptions = {}): Promise<RunResult> {
    const config = { ...(options.config ?? readStackConfig(stack)) };
    const run: RunOptions = { stack, config, now: options.now ?? startOfUtcDay(), previousOutputs: options.previousOutputs };
    const supplied = offlineSuppliedSecrets(config);
    // A plaintext operator value stays where it is, so validation rejects it as `pulumi up` would.
    if (!options.strict && !supplied.plaintext) {
        if (supplied.used.length > 0) {
            options.notice?.(
                `note: offline placeholders stand in for operator secrets the plan cannot read: ${supplied.used.join(", ")}` +
                    ` (pulumi preview needs them set: pulumi config set --stack ${stack} --secret --path '<key>' '<value>'; --strict fails like preview)`,
            );
        }
        delete config[`${projectName}:suppliedSecrets`];
        run.secretConfig = { suppliedSecrets: supplied.values };
    }
    return runProgram(run);
}

/**
 * How the plan reports a failure: a config error (bad stack file or bad settings) exits 1 with its
 * message alone, the key paths being the whole story; anything else is a defect of the program and
 * keeps its stack trace (exit 3), so it is never mistaken for a user's mistake.
 */
export function failureReport(e: unknown): { code: number; text: string } {
    const err = e instanceof Error ? e : new Error(String(e));
    // Config errors (the program's, and the engine's own project-config check) are the message an operator needs.
    if (err.name === "ConfigError" || err.name === "StackConfigError") return { code: 1, text: err.message };
    return { code: 3, text: err.stack ?? err.message };
}

export function toPlan(result: RunResult, showSecrets = false): Plan {
    return {
        project: result.project,
        stack: result.stack,
        resources: result.resources.map((r) => ({
            urn: r.urn,
            type: r.type,
            name: r.name,
            parent: r.parent,
            provider: r.provider,
            inputs: redact(r.inputs, showSecrets) as Record<string, unknown>,
            options: redact(Object.fromEntries(Object.entries(r.options).filter(([, v]) => v !== undefined)), showSecrets) as Record<string, unknown>,
        })),
        outputs: redact(result.outputs, showSecrets) as Record<string, unknown>,
    };
}

export async function buildPlan(stack: string, options: PlanOptions = {}): Promise<Plan> {
    return toPlan(await runStack(stack, options), options.showSecrets);
}

/** JSON with object keys sorted at every level and two-space indentation: byte-stable. */
export function stableStringify(v: unknown): string {
    const sort = (x: unknown): unknown => {
        if (Array.isArray(x)) return x.map(sort);
        if (x && typeof x === "object") {
            return Object.fromEntries(
                Object.keys(x as object)
                    .sort()
                    .filter((k) => (x as Record<string, unknown>)[k] !== undefined)
                    .map((k) => [k, sort((x as Record<string, unknown>)[k])]),
            );
        }
        return x;
    };
    return JSON.stringify(sort(v), null, 2);
}

function escapeRegExp(s: string): string {
    return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * A plan value with every stack-derived URN made stack-free: `urn:pulumi:<stack>::` becomes
 * `urn:pulumi:*::` wherever it appears (urn, parent, aliases, dependsOn, replaceWith, inputs), so the
 * same resource or reference in two stacks compares equal.
 */
export function stacklessValue(v: unknown, stack: string): unknown {
    const re = new RegExp(`urn:pulumi:${escapeRegExp(stack)}::`, "g");
    const walk = (x: unknown): unknown => {
        if (typeof x === "string") return x.replace(re, "urn:pulumi:*::");
        if (Array.isArray(x)) return x.map(walk);
        if (x && typeof x === "object") return Object.fromEntries(Object.entries(x as Record<string, unknown>).map(([k, y]) => [k, walk(y)]));
        return x;
    };
    return walk(v);
}

/** A URN without its stack, so the same resource in two stacks compares equal. */
function stackless(urn: string): string {
    return urn.replace(/^urn:pulumi:[^:]+::/, "urn:pulumi:*::");
}

/**
 * A provider reference (`<provider urn>::<id>`) as the provider's stack-free URN: the id is the
 * provider's own (the mocks hash its inputs), and those inputs are compared on the provider itself.
 */
function providerRef(ref: string | undefined): string | undefined {
    if (ref === undefined) return undefined;
    const cut = ref.lastIndexOf("::");
    return stackless(cut > ref.indexOf("::") ? ref.slice(0, cut) : ref);
}

/** A string that holds a JSON object or list (IAM and bucket policies), parsed; else undefined. */
function embeddedJson(v: unknown): unknown {
    if (typeof v !== "string" || !/^\s*[{[]/.test(v)) return undefined;
    try {
        const parsed: unknown = JSON.parse(v);
        return parsed && typeof parsed === "object" && Object.keys(parsed).length > 0 ? parsed : undefined;
    } catch {
        return undefined;
    }
}

/** Leaf values by dotted path; JSON documents held in strings are walked too, after `#`. */
function flatten(v: unknown, prefix: string, out: Record<string, string>): Record<string, string> {
    const json = embeddedJson(v);
    if (json !== undefined) {
        flatten(json, `${prefix}#`, out);
    } else if (v && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length > 0) {
        for (const [k, x] of Object.entries(v as Record<string, unknown>)) flatten(x, prefix && !prefix.endsWith("#") ? `${prefix}.${k}` : `${prefix}${k}`, out);
    } else if (Array.isArray(v) && v.length > 0) {
        v.forEach((x, i) => flatten(x, `${prefix}[${i}]`, out));
    } else {
        out[prefix] = JSON.stringify(v);
    }
    return out;
}

export interface PlanDifference {
    path: string;
    [stack: string]: string | undefined;
}

export interface PlanDiff {
    stacks: [string, string];
    /** What differs, as settings: a few lines a reviewer reads first. */
    summary: string[];
    onlyIn: Record<string, string[]>;
    /** Per-resource differences, stack-derived URNs normalised, environment-only renames left out. */
    changed: { resource: string; differences: PlanDifference[] }[];
    /** Values that differ only by the environment's name (bucket names, Vault paths): counted in the summary. */
    environmentOnly: { resource: string; differences: PlanDifference[] }[];
}

/** Where `from` appears as a word (not inside a longer name). */
function wordRe(from: string): RegExp {
    return new RegExp(`(?<![A-Za-z0-9])${escapeRegExp(from)}(?![A-Za-z0-9])`, "g");
}

/** Whether `a` becomes `b` when each pair's first word is replaced by its second. */
function differsOnlyBy(a: string | undefined, b: string | undefined, renames: [string, string][]): boolean {
    if (a === undefined || b === undefined || a === b) return false;
    let x = a;
    for (const [from, to] of renames) x = x.replace(wordRe(from), to);
    return x === b;
}

/** The environment name a plan's program reports (its `environment` output), if any. */
function environmentOf(p: Plan): string | undefined {
    return typeof p.outputs.environment === "string" ? p.outputs.environment : undefined;
}

/** Per-resource differences between two stacks' plans: the per-environment review. */
export function diffPlans(a: Plan, b: Plan): PlanDiff {
    // The root Stack resource is named after the stack; it is not a difference worth reviewing.
    const norm = (p: Plan) =>
        new Map(
            p.resources
                .filter((r) => r.type !== "pulumi:pulumi:Stack")
                .map((r) => [stackless(r.urn), { r, compared: stacklessValue({ parent: r.parent, provider: providerRef(r.provider), inputs: r.inputs, options: r.options }, p.stack) }] as const),
        );
    const ma = norm(a);
    const mb = norm(b);
    // Stack and environment names, each as a word: a value that differs by nothing else is a rename.
    const renames = ([[a.stack, b.stack], [environmentOf(a), environmentOf(b)]] as [string | undefined, string | undefined][]).filter(
        (r, i, all): r is [string, string] => r[0] !== undefined && r[1] !== undefined && r[0] !== r[1] && all.findIndex((x) => x[0] === r[0] && x[1] === r[1]) === i,
    );
    const diff: PlanDiff = { stacks: [a.stack, b.stack], summary: [], onlyIn: { [a.stack]: [], [b.stack]: [] }, changed: [], environmentOnly: [] };
    for (const k of ma.keys()) if (!mb.has(k)) diff.onlyIn[a.stack].push(k);
    for (const k of mb.keys()) if (!ma.has(k)) diff.onlyIn[b.stack].push(k);
    for (const [k, ea] of ma) {
        const eb = mb.get(k);
        if (!eb) continue;
        const fa = flatten(ea.compared, "", {});
        const fb = flatten(eb.compared, "", {});
        const paths = [...new Set([...Object.keys(fa), ...Object.keys(fb)])].sort();
        const differing = paths.filter((p) => fa[p] !== fb[p]);
        // An empty object or list against deeper keys on the other side is only how flatten writes
        // "nothing here": the keys themselves are the differences.
        const empty = (v: string | undefined) => v === undefined || v === "{}" || v === "[]";
        const deeper = (p: string) => differing.some((q) => q.startsWith(`${p}.`) || q.startsWith(`${p}[`));
        const differences = differing
            .filter((p) => !(empty(fa[p]) && empty(fb[p]) && deeper(p)))
            .map((p) => ({ path: p, [a.stack]: fa[p], [b.stack]: fb[p] }) as PlanDifference);
        const renamed = differences.filter((d) => differsOnlyBy(d[a.stack], d[b.stack], renames));
        const real = differences.filter((d) => !renamed.includes(d));
        if (real.length > 0) diff.changed.push({ resource: k, differences: real });
        if (renamed.length > 0) diff.environmentOnly.push({ resource: k, differences: renamed });
    }
    diff.summary = summarize(diff, ma, mb, renames);
    return diff;
}

/** A count per type, most first: "aws:s3/bucket:Bucket ×2, ...". */
function byType(urns: string[], types: Map<string, { r: PlanResource }>): string {
    const counts = new Map<string, number>();
    for (const u of urns) {
        const t = types.get(u)?.r.type ?? "?";
        counts.set(t, (counts.get(t) ?? 0) + 1);
    }
    return [...counts].sort((x, y) => y[1] - x[1] || x[0].localeCompare(y[0])).map(([t, n]) => `${t} ×${n}`).join(", ");
}

/** A type's last part in words: `vault:index/audit:Audit` → "audit", `platform-secrets:vault:AuditDevice` → "audit device". */
function settingName(type: string): string {
    return (type.split(":").pop() ?? type).replace(/([a-z0-9])([A-Z])/g, "$1 $2").toLowerCase();
}

/** A path with its list indices dropped, so the same setting on many resources groups. */
const genericPath = (p: string) => p.replace(/\[\d+\]/g, "[]");

/**
 * The settings view of a diff: resources only in one stack, options and inputs that change the
 * same way on every resource they touch (protect on in one stack only, object lock), how many
 * values differ only by the environment's name, and how many other differences follow.
 */
function summarize(diff: PlanDiff, ma: Map<string, { r: PlanResource }>, mb: Map<string, { r: PlanResource }>, renames: [string, string][]): string[] {
    const [sa, sb] = diff.stacks;
    const out: string[] = [];
    for (const [s, m] of [[sa, ma], [sb, mb]] as const) {
        const only = diff.onlyIn[s];
        if (only.length > 0) out.push(`only in ${s}: ${only.length} resource${only.length === 1 ? "" : "s"} (${byType(only, m)})`);
    }
    // The same, as settings: "audit device: prod only", "bucket object lock configuration: prod only".
    for (const [s, m] of [[sa, ma], [sb, mb]] as const) {
        // A resource whose component is itself only in that stack is part of the component's setting.
        const only = new Set(diff.onlyIn[s]);
        const types = new Map<string, number>();
        for (const u of diff.onlyIn[s]) {
            const r = m.get(u)?.r;
            if (!r || r.type.startsWith("pulumi:providers:") || (r.parent && only.has(stackless(r.parent)))) continue;
            types.set(settingName(r.type), (types.get(settingName(r.type)) ?? 0) + 1);
        }
        for (const [name, n] of [...types].sort((x, y) => x[0].localeCompare(y[0]))) out.push(`${name}: ${s} only (${n})`);
    }
    // Per generic path: the value pairs and the resources they are on.
    const groups = new Map<string, { pairs: Set<string>; resources: Set<string>; a?: string; b?: string }>();
    for (const c of diff.changed) {
        for (const d of c.differences) {
            const g = groups.get(genericPath(d.path)) ?? { pairs: new Set(), resources: new Set(), a: d[sa], b: d[sb] };
            g.pairs.add(JSON.stringify([d[sa], d[sb]]));
            g.resources.add(c.resource);
            groups.set(genericPath(d.path), g);
        }
    }
    const other = new Set<string>();
    let otherCount = 0;
    const short = (v: string | undefined) => v === undefined || v.length <= 40;
    const show = (v: string | undefined) => (v === undefined ? "(none)" : v);
    for (const [p, g] of [...groups].sort((x, y) => y[1].resources.size - x[1].resources.size || x[0].localeCompare(y[0]))) {
        const n = g.resources.size;
        const on = (v: string | undefined) => v === "true";
        const off = (v: string | undefined) => v === undefined || v === "false";
        const name = p.replace(/^options\./, "");
        if (g.pairs.size === 1 && on(g.b) && off(g.a)) out.push(`${name}: on in ${sb} only (${n} resource${n === 1 ? "" : "s"})`);
        else if (g.pairs.size === 1 && on(g.a) && off(g.b)) out.push(`${name}: on in ${sa} only (${n} resource${n === 1 ? "" : "s"})`);
        else if (g.pairs.size === 1 && short(g.a) && short(g.b)) out.push(`${name}: ${show(g.a)} → ${show(g.b)} (${n} resource${n === 1 ? "" : "s"})`);
        else {
            for (const r of g.resources) other.add(r);
            otherCount += 1;
        }
    }
    const renamedCount = diff.environmentOnly.reduce((n, c) => n + c.differences.length, 0);
    if (renamedCount > 0) {
        const paths = new Map<string, number>();
        for (const c of diff.environmentOnly) for (const d of c.differences) paths.set(genericPath(d.path), (paths.get(genericPath(d.path)) ?? 0) + 1);
        const list = [...paths].sort((x, y) => y[1] - x[1] || x[0].localeCompare(y[0])).map(([p, n]) => `${p} ×${n}`).join(", ");
        out.push(`${renamedCount} value${renamedCount === 1 ? "" : "s"} differ only by the environment's name (${renames.map(([x, y]) => `${x} → ${y}`).join(", ")}): ${list}`);
    }
    if (otherCount > 0) out.push(`${otherCount} other setting${otherCount === 1 ? "" : "s"} differ on ${other.size} resource${other.size === 1 ? "" : "s"}: see below`);
    return out;
}
