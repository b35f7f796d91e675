/**
 * The offline plan as `pulumi preview` prints it: a tree of components and resources, grouped per
 * app, each line a resource's type and name and the few settings that matter for security, and a
 * count per type at the end. The YAML of inputs and options stays one flag away (`--details`).
 */
import type { Plan, PlanResource } from "./planLib";

/** The settings a reviewer checks on each line. */
export interface ResourceFlags {
    protect: boolean;
    retainOnDelete: boolean;
    deleteBeforeReplace: boolean;
    replaceOnChanges: string[];
    /** Input paths whose values are Pulumi secrets (printed `[secret]`). */
    secretInputs: string[];
    /** Outputs the provider must return as secrets (additionalSecretOutputs). */
    secretOutputs: string[];
}

export interface TreeLine {
    /** Depth below the group's root (0 for the group's top resources). */
    depth: number;
    resource: PlanResource;
    /** For a group's top resource, the component it sits under when that is outside the group. */
    under?: string;
}

export interface TreeGroup {
    /** The app's name, or undefined for what the platform shares between apps. */
    app?: string;
    lines: TreeLine[];
}

export interface PlanTree {
    groups: TreeGroup[];
    /** Resources per type, most first, then by type. */
    counts: [string, number][];
}

const isSecret = (v: unknown) => v === "[secret]" || (v !== null && typeof v === "object" && !Array.isArray(v) && Object.hasOwn(v as object, "@secret"));

/** Dotted paths of every secret value in a resource's inputs (a secret object is one path). */
export function secretPaths(v: unknown, prefix = ""): string[] {
    if (isSecret(v)) return [prefix || "(all)"];
    if (Array.isArray(v)) return v.flatMap((x, i) => secretPaths(x, `${prefix}[${i}]`));
    if (v && typeof v === "object") return Object.entries(v as Record<string, unknown>).flatMap(([k, x]) => secretPaths(x, prefix ? `${prefix}.${k}` : k));
    return [];
}

export function flagsOf(r: PlanResource): ResourceFlags {
    const o = r.options as { protect?: boolean; retainOnDelete?: boolean; deleteBeforeReplace?: boolean; replaceOnChanges?: string[]; additionalSecretOutputs?: string[] };
    return {
        protect: o.protect === true,
        retainOnDelete: o.retainOnDelete === true,
        deleteBeforeReplace: o.deleteBeforeReplace === true,
        replaceOnChanges: Array.isArray(o.replaceOnChanges) ? o.replaceOnChanges : [],
        secretInputs: secretPaths(r.inputs),
        secretOutputs: Array.isArray(o.additionalSecretOutputs) ? o.additionalSecretOutputs : [],
    };
}

/** A type token as `pulumi preview` shows it: `aws:s3/bucket:Bucket` → `aws:s3:Bucket`. */
export function displayType(type: string): string {
    const parts = type.split(":");
    if (parts.length !== 3) return type;
    return `${parts[0]}:${parts[1].split("/")[0]}:${parts[2]}`;
}

/** The app a resource name belongs to: the longest app name it contains as whole hyphenated words. */
function appOfName(name: string, apps: string[]): string | undefined {
    let best: string | undefined;
    for (const app of apps) {
        const word = new RegExp(`(^|-)${app.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(-|$)`);
        if (word.test(name) && (!best || app.length > best.length)) best = app;
    }
    return best;
}

/**
 * The apps of a plan: the program's per-app credential components name them. Each resource goes to
 * the app its own name or its nearest component's name carries; the rest is the shared platform.
 */
export function buildTree(plan: Plan): PlanTree {
    const resources = plan.resources;
    const byUrn = new Map(resources.map((r) => [r.urn, r] as const));
    const apps = [...new Set(resources.filter((r) => r.type === "platform-secrets:credentials:AppCredentials").map((r) => r.name))].sort();
    const appOf = new Map<string, string | undefined>();
    const resolve = (r: PlanResource): string | undefined => {
        if (appOf.has(r.urn)) return appOf.get(r.urn);
        let app = r.type === "pulumi:pulumi:Stack" ? undefined : appOfName(r.name, apps);
        if (app === undefined && r.parent && byUrn.has(r.parent)) app = resolve(byUrn.get(r.parent)!);
        appOf.set(r.urn, app);
        return app;
    };
    for (const r of resources) resolve(r);

    const children = new Map<string, PlanResource[]>();
    const roots: PlanResource[] = [];
    for (const r of resources) {
        if (r.parent && byUrn.has(r.parent)) (children.get(r.parent) ?? children.set(r.parent, []).get(r.parent)!).push(r);
        else roots.push(r);
    }
    // Components first, then by type and name: a stable order that reads top-down.
    const order = (a: PlanResource, b: PlanResource) => {
        const ca = children.has(a.urn) ? 0 : 1;
        const cb = children.has(b.urn) ? 0 : 1;
        return ca - cb || a.type.localeCompare(b.type) || a.name.localeCompare(b.name);
    };
    const groups: TreeGroup[] = [undefined, ...apps].map((app) => ({ app, lines: [] }));
    const groupOf = (app: string | undefined) => groups.find((g) => g.app === app)!;
    const walk = (r: PlanResource, depth: number, group: TreeGroup) => {
        group.lines.push({ depth, resource: r });
        for (const c of (children.get(r.urn) ?? []).slice().sort(order)) {
            const app = appOf.get(c.urn);
            if (app === group.app) walk(c, depth + 1, group);
            else walkInto(c, groupOf(app), r);
        }
    };
    const walkInto = (r: PlanResource, group: TreeGroup, parent?: PlanResource) => {
        const start = group.lines.length;
        walk(r, 0, group);
        if (parent) group.lines[start].under = parent.name;
    };
    for (const r of roots.slice().sort(order)) walkInto(r, groupOf(appOf.get(r.urn)));

    const counts = new Map<string, number>();
    for (const r of resources) counts.set(r.type, (counts.get(r.type) ?? 0) + 1);
    return {
        groups: groups.filter((g) => g.lines.length > 0),
        counts: [...counts].sort((x, y) => y[1] - x[1] || x[0].localeCompare(y[0])),
    };
}

export interface Style {
    bold(s: string): string;
    dim(s: string): string;
    green(s: string): string;
    yellow(s: string): string;
    magenta(s: string): string;
    cyan(s: string): string;
}

const plain: Style = { bold: (s) => s, dim: (s) => s, green: (s) => s, yellow: (s) => s, magenta: (s) => s, cyan: (s) => s };

const ansi = (open: number, close: number) => (s: string) => `\u001b[${open}m${s}\u001b[${close}m`;
const coloured: Style = { bold: ansi(1, 22), dim: ansi(2, 22), green: ansi(32, 39), yellow: ansi(33, 39), magenta: ansi(35, 39), cyan: ansi(36, 39) };

/**
 * Colour only for a terminal: never when NO_COLOR is set (https://no-color.org), always when
 * FORCE_COLOR is set to anything but 0, otherwise when the stream is a TTY.
 */
export function useColour(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
    if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
    if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "" && env.FORCE_COLOR !== "0") return true;
    return stream.isTTY === true;
}

export function styleFor(colour: boolean): Style {
    return colour ? coloured : plain;
}

/** The settings column of one resource: protect, retainOnDelete, deleteBeforeReplace, replaceOnChanges, secret inputs and outputs. */
export function settingsText(f: ResourceFlags, s: Style = plain): string {
    const out: string[] = [];
    if (f.protect) out.push(s.yellow("protect"));
    if (f.retainOnDelete) out.push(s.yellow("retainOnDelete"));
    if (f.deleteBeforeReplace) out.push("deleteBeforeReplace");
    if (f.replaceOnChanges.length > 0) out.push(`replaceOnChanges=${f.replaceOnChanges.join(",")}`);
    if (f.secretInputs.length > 0) out.push(s.magenta(`secret in: ${f.secretInputs.join(",")}`));
    if (f.secretOutputs.length > 0) out.push(s.magenta(`secret out: ${f.secretOutputs.join(",")}`));
    return out.join(" ");
}

/** The tree as text lines: a header, one section per group, the counts per type. */
export function renderTree(plan: Plan, s: Style = plain): string[] {
    const tree = buildTree(plan);
    const rows: { group?: string; left?: string; name?: string; settings?: string; under?: string }[] = [];
    for (const g of tree.groups) {
        const n = g.lines.length;
        rows.push({ group: g.app === undefined ? `platform (shared by every app): ${n} resources` : `app ${g.app}: ${n} resources` });
        g.lines.forEach((l, i) => {
            // Box drawing as pulumi preview: a branch per child, a bar while the parent has more.
            let prefix = "";
            for (let d = 1; d <= l.depth; d++) {
                const last = !g.lines.slice(i + 1).some((m) => m.depth === d) || g.lines.slice(i + 1).find((m) => m.depth <= d)?.depth !== d;
                prefix += d === l.depth ? (last ? "└─ " : "├─ ") : last ? "   " : "│  ";
            }
            rows.push({ left: `${prefix}${displayType(l.resource.type)}`, name: l.resource.name, settings: settingsText(flagsOf(l.resource), s), under: l.under });
        });
    }
    const typeWidth = Math.min(72, Math.max(...rows.filter((r) => r.left).map((r) => r.left!.length)));
    const nameWidth = Math.min(56, Math.max(...rows.filter((r) => r.name).map((r) => r.name!.length)));
    const out = [s.bold(`Offline plan of ${plan.project}/${plan.stack}: ${plan.resources.length} resources to create`), ""];
    out.push(s.dim(`     ${"Type".padEnd(typeWidth)}  ${"Name".padEnd(nameWidth)}  Settings`));
    for (const r of rows) {
        if (r.group) {
            out.push(s.cyan(`   ${r.group}`));
            continue;
        }
        const settings = [r.under ? s.dim(`(in ${r.under})`) : "", r.settings].filter((x) => x !== "").join(" ");
        out.push(`${s.green(" +  ")} ${r.left!.padEnd(typeWidth)}  ${r.name!.padEnd(nameWidth)}  ${settings}`.trimEnd());
    }
    out.push("", s.bold(`Resources: ${s.green(`+ ${plan.resources.length} to create`)}`));
    // Several counts a line, so 30 types take ten lines, not thirty.
    const cells = tree.counts.map(([t, n]) => `${String(n).padStart(3)} ${displayType(t)}`);
    const width = Math.max(...cells.map((c) => c.length)) + 2;
    const perLine = Math.max(1, Math.floor(150 / width));
    for (let i = 0; i < cells.length; i += perLine) out.push(`   ${cells.slice(i, i + perLine).map((c) => c.padEnd(width)).join("").trimEnd()}`);
    out.push("", s.dim("Inputs and options: --details (or name resources: npm run plan -- --stack <s> <name>...); machine-readable: --json"));
    return out;
}
