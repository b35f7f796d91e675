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
    [app: string]: { secrets?: Record<string, { source?: { kind?: string; required?: boolean } }> };
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

/** A URN without its stack, so the same resource in two stacks compares equal. */
function stackless(urn: string): string {
    return urn.replace(/^urn:pulumi:[^:]+::/, "urn:pulumi:*::");
}

/** Leaf values by dotted path. */
function flatten(v: unknown, prefix: string, out: Record<string, string>): Record<string, string> {
    if (v && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length > 0) {
        for (const [k, x] of Object.entries(v as Record<string, unknown>)) flatten(x, prefix ? `${prefix}.${k}` : k, out);
    } else if (Array.isArray(v) && v.length > 0) {
        v.forEach((x, i) => flatten(x, `${prefix}[${i}]`, out));
    } else {
        out[prefix] = JSON.stringify(v);
    }
    return out;
}

export interface PlanDiff {
    stacks: [string, string];
    onlyIn: Record<string, string[]>;
    changed: { resource: string; differences: { path: string; [stack: string]: string | undefined }[] }[];
}

/** Per-resource differences between two stacks' plans: the per-environment review. */
export function diffPlans(a: Plan, b: Plan): PlanDiff {
    // The root Stack resource is named after the stack; it is not a difference worth reviewing.
    const norm = (p: Plan, s: string) => p.resources.filter((r) => r.type !== "pulumi:pulumi:Stack").map((r) => [stackless(r.urn), r, s] as const);
    const ma = new Map(norm(a, a.stack).map(([k, r]) => [k, r]));
    const mb = new Map(norm(b, b.stack).map(([k, r]) => [k, r]));
    const diff: PlanDiff = { stacks: [a.stack, b.stack], onlyIn: { [a.stack]: [], [b.stack]: [] }, changed: [] };
    for (const k of ma.keys()) if (!mb.has(k)) diff.onlyIn[a.stack].push(k);
    for (const k of mb.keys()) if (!ma.has(k)) diff.onlyIn[b.stack].push(k);
    for (const [k, ra] of ma) {
        const rb = mb.get(k);
        if (!rb) continue;
        const fa = flatten({ inputs: ra.inputs, options: ra.options }, "", {});
        const fb = flatten({ inputs: rb.inputs, options: rb.options }, "", {});
        const paths = [...new Set([...Object.keys(fa), ...Object.keys(fb)])].sort();
        const differences = paths.filter((p) => fa[p] !== fb[p]).map((p) => ({ path: p, [a.stack]: fa[p], [b.stack]: fb[p] }));
        if (differences.length > 0) diff.changed.push({ resource: k, differences });
    }
    return diff;
}
