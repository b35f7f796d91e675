/**
 * The offline plan and its diff as Markdown for a pull-request comment (or a job summary): the
 * summary as a list, the detail folded in <details>, and optionally a Mermaid diagram of apps →
 * Vault paths → secret stores → Kubernetes Secrets that GitHub renders. A comment holds at most
 * 65,536 characters, so the detail is cut (and says so) to stay below COMMENT_LIMIT.
 */
import type { Plan, PlanDiff } from "./planLib";
import { renderTree } from "./planTree";

/** GitHub refuses a comment body over 65,536 characters; leave room for a heading around it. */
export const COMMENT_LIMIT = 60_000;

interface Flow {
    app: string;
    /**
     * What the app's ExternalSecret reads, each through its store: `<mount>/<path>` of a Vault KV
     * secret (the app's store), or of a database user's current credentials (the database store).
     */
    reads: { path: string; store: string }[];
    /** `<namespace>/<name>` of the Kubernetes Secret the ExternalSecret writes. */
    secret: string;
}

type Obj = Record<string, any>;

/**
 * Where each app's secrets flow, read from the plan's own resources: each ExternalSecret's store,
 * remote keys and target; the Vault paths are those of the KV secrets the plan writes (the store's
 * mount joined to the key), so a key no KV secret of the plan holds shows as such.
 */
export function secretFlows(plan: Plan): Flow[] {
    const kvPaths = new Set(plan.resources.filter((r) => r.type === "vault:kv/secretV2:SecretV2").map((r) => `${(r.inputs as Obj).mount}/${(r.inputs as Obj).name}`));
    const stores = new Map<string, string>();
    for (const r of plan.resources.filter((x) => x.type === "kubernetes:external-secrets.io/v1:ClusterSecretStore" || x.type === "kubernetes:external-secrets.io/v1:SecretStore")) {
        const i = r.inputs as Obj;
        stores.set(String(i.metadata?.name), String(i.spec?.provider?.vault?.path ?? ""));
    }
    const flows: Flow[] = [];
    for (const r of plan.resources.filter((x) => x.type === "kubernetes:external-secrets.io/v1:ExternalSecret")) {
        const i = r.inputs as Obj;
        const main = String(i.spec?.secretStoreRef?.name);
        const reads = new Map<string, { path: string; store: string }>();
        const entries: Obj[] = [...(i.spec?.data ?? []).map((d: Obj) => ({ key: d.remoteRef?.key, store: d.sourceRef?.storeRef?.name })), ...(i.spec?.dataFrom ?? []).map((d: Obj) => ({ key: d.extract?.key, store: d.sourceRef?.storeRef?.name }))];
        for (const e of entries.filter((x) => typeof x.key === "string")) {
            const store = String(e.store ?? main);
            const mount = stores.get(store) ?? "";
            // A read through another store than the app's KV one is a database user's (docs/database-credentials.md).
            const path = kvPaths.has(`${mount}/${e.key}`) ? `${mount}/${e.key}` : store !== main ? `${mount}/${e.key} (database engine)` : `${mount}/${e.key} (not written by this plan)`;
            reads.set(`${path}\u0000${store}`, { path, store });
        }
        flows.push({
            app: String(i.metadata?.labels?.["platform-secrets/app"] ?? r.name),
            reads: [...reads.values()],
            secret: `${i.metadata?.namespace}/${i.spec?.target?.name ?? i.metadata?.name}`,
        });
    }
    return flows.sort((a, b) => a.app.localeCompare(b.app) || a.secret.localeCompare(b.secret));
}

/** A Mermaid flowchart of the flows; every label quoted, ids generated, so no name can break it. */
export function mermaid(plan: Plan): string {
    const ids = new Map<string, string>();
    const lines = ["flowchart LR"];
    const node = (kind: string, label: string, shape: [string, string]) => {
        const key = `${kind}:${label}`;
        if (!ids.has(key)) {
            const id = `n${ids.size}`;
            ids.set(key, id);
            lines.push(`    ${id}${shape[0]}"${kind}: ${label.replace(/"/g, "#quot;")}"${shape[1]}`);
        }
        return ids.get(key)!;
    };
    const edges = new Set<string>();
    for (const f of secretFlows(plan)) {
        const app = node("app", f.app, ["([", "])"]);
        const secret = node("Secret", f.secret, ["[", "]"]);
        for (const r of f.reads) {
            const path = node("Vault", r.path, ["[(", ")]"]);
            const store = node("store", r.store, ["{{", "}}"]);
            edges.add(`    ${app} --> ${path}`);
            edges.add(`    ${path} --> ${store}`);
            edges.add(`    ${store} --> ${secret}`);
        }
    }
    return ["```mermaid", ...lines, ...edges, "```"].join("\n");
}

const fence = (text: string) => {
    // A fence longer than any backtick run inside, so nothing in the text can close it.
    const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
    return "`".repeat(longest + 1);
};

function block(lang: string, text: string): string {
    const f = fence(text);
    return `${f}${lang}\n${text}\n${f}`;
}

/** Lines of `text` up to `budget` characters, with a note of what was cut. */
function cut(lines: string[], budget: number, what: string): string[] {
    const out: string[] = [];
    let used = 0;
    for (let i = 0; i < lines.length; i++) {
        if (used + lines[i].length + 1 > budget) {
            out.push(`… ${lines.length - i} more lines of ${what} cut to fit a comment: run the command locally for all of it`);
            break;
        }
        out.push(lines[i]);
        used += lines[i].length + 1;
    }
    return out;
}

/** The plan: the tree in a fold, the counts, optionally the diagram. */
export function planMarkdown(plan: Plan, options: { diagram?: boolean; expand?: boolean } = {}): string {
    const tree = renderTree(plan, undefined, { expand: options.expand });
    const out = [`### Offline plan of \`${plan.project}/${plan.stack}\`: ${plan.resources.length} resources`, ""];
    if (options.diagram) out.push("Apps → Vault paths → secret stores → Kubernetes Secrets:", "", mermaid(plan), "");
    const budget = COMMENT_LIMIT - out.join("\n").length - 200;
    out.push("<details><summary>Resources (tree like <code>pulumi preview</code>)</summary>", "", block("text", cut(tree, budget, "the tree").join("\n")), "", "</details>");
    return `${out.join("\n")}\n`;
}

/** The diff: the settings summary as a list, resources only in one stack and the detail folded. */
export function diffMarkdown(diff: PlanDiff, project: string, options: { diagramOf?: Plan } = {}): string {
    const [a, b] = diff.stacks;
    const show = (v: string | undefined) => (v === undefined ? "(none)" : v);
    const out = [`### Offline plan diff of \`${project}\`: ${a} → ${b}`, ""];
    out.push(...(diff.summary.length > 0 ? diff.summary.map((l) => `- ${l.replace(/[<>]/g, (c) => (c === "<" ? "&lt;" : "&gt;"))}`) : ["- no differences"]), "");
    if (options.diagramOf) out.push(`Apps → Vault paths → secret stores → Kubernetes Secrets in ${options.diagramOf.stack}:`, "", mermaid(options.diagramOf), "");
    const detail: string[] = [];
    for (const [s, mark] of [[a, "-"], [b, "+"]] as const) {
        if (diff.onlyIn[s].length === 0) continue;
        detail.push(`## only in ${s}`, ...diff.onlyIn[s].map((u) => `${mark} ${u}`), "");
    }
    if (diff.changed.length > 0) {
        detail.push(`## changed (${a} → ${b})`);
        for (const c of diff.changed) {
            detail.push(`~ ${c.resource}`);
            for (const d of c.differences) detail.push(`-   ${d.path}: ${show(d[a])}`, `+   ${d.path}: ${show(d[b])}`);
        }
    }
    if (detail.length > 0) {
        const budget = COMMENT_LIMIT - out.join("\n").length - 200;
        out.push(`<details><summary>Per-resource detail (URNs without their stack: <code>urn:pulumi:*::</code>)</summary>`, "", block("diff", cut(detail, budget, "detail").join("\n")), "", "</details>");
    }
    return `${out.join("\n")}\n`;
}
