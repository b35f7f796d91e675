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

/** A resource, or several sibling resources merged into one line, with what the line shows. */
interface Node {
    resources: PlanResource[];
    under?: string;
    children: Node[];
}

const NAME_SAFE = /^[^\s{},]+$/;

/**
 * Names as one brace pattern: `nemo-server-jwt_secret-slot-{a,b}-rotated-at`. The shared start and
 * end are cut at a `-`, so every member's name is the prefix, one alternative and the suffix.
 */
function braceNames(names: string[]): string {
    if (names.length === 1) return names[0];
    const common = (xs: string[], dir: 1 | -1) => {
        const words = xs.map((x) => (dir === 1 ? x.split("-") : x.split("-").reverse()));
        let n = 0;
        // Leave every member at least one word of its own.
        while (words.every((w) => n < w.length - 1 && w[n] === words[0][n])) n++;
        return n;
    };
    const pre = common(names, 1);
    const rest = names.map((x) => x.split("-").slice(pre));
    const post = common(rest.map((w) => w.join("-")), -1);
    const join = (w: string[]) => w.join("-");
    const prefix = pre > 0 ? `${join(names[0].split("-").slice(0, pre))}-` : "";
    const suffix = post > 0 ? `-${join(rest[0].slice(rest[0].length - post))}` : "";
    return `${prefix}{${rest.map((w) => join(w.slice(0, w.length - post))).join(",")}}${suffix}`;
}

/** The type column of a merged line: the one type, or the types' shared `provider:module:` and `*`. */
function typePattern(types: string[]): string {
    const shownTypes = [...new Set(types.map(displayType))];
    if (shownTypes.length === 1) return shownTypes[0];
    const parts = shownTypes.map((t) => t.split(":"));
    let n = 0;
    while (n < parts[0].length - 1 && parts.every((p) => p[n] === parts[0][n])) n++;
    return [...parts[0].slice(0, n), "*"].join(":");
}

/** A merged line's name stays readable: past this many characters its members start a new line. */
const MERGED_NAME_WIDTH = 120;

/**
 * Sibling leaves of one provider with the same settings become one line (the S3 bucket's seven
 * protected settings, a dual-key secret's two slots), so prod's plan reads in about two screens and
 * still names every resource. Components, providers and the stack never merge. `--expand` keeps one
 * line per resource.
 */
function mergeLeaves(nodes: Node[], project: string): Node[] {
    const out: Node[] = [];
    const open = new Map<string, Node>();
    for (const n of nodes) {
        n.children = mergeLeaves(n.children, project);
        const r = n.resources[0];
        const pkg = r.type.split(":")[0];
        if (n.children.length > 0 || n.under !== undefined || !NAME_SAFE.test(r.name) || pkg === "pulumi" || pkg === project) {
            out.push(n);
            continue;
        }
        const key = `${pkg}\u0000${settingsText(flagsOf(r))}`;
        const line = open.get(key);
        if (line && braceNames([...line.resources, r].map((x) => x.name)).length <= MERGED_NAME_WIDTH) line.resources.push(r);
        else {
            open.set(key, n);
            out.push(n);
        }
    }
    return out;
}

/** The group's preorder lines as nodes. */
function nodesOf(lines: TreeLine[]): Node[] {
    const roots: Node[] = [];
    const stack: Node[] = [];
    for (const l of lines) {
        const node: Node = { resources: [l.resource], under: l.under, children: [] };
        stack.length = l.depth;
        (l.depth === 0 ? roots : stack[l.depth - 1].children).push(node);
        stack.push(node);
    }
    return roots;
}

/** Counts per type, by `provider:module`, flowing over lines of at most 150 characters: `aws:s3: Bucket 2, BucketPolicy 2;`. */
function countLines(counts: [string, number][]): string[] {
    const modules = new Map<string, [string, number][]>();
    for (const [type, n] of counts) {
        const shownType = displayType(type);
        const cut = shownType.lastIndexOf(":");
        const module = shownType.slice(0, cut);
        (modules.get(module) ?? modules.set(module, []).get(module)!).push([shownType.slice(cut + 1), n]);
    }
    const words: string[] = [];
    for (const [m, types] of [...modules].sort((a, b) => a[0].localeCompare(b[0]))) {
        const cells = types.sort((a, b) => a[0].localeCompare(b[0])).map(([t, n], i, all) => `${t} ${n}${i === all.length - 1 ? ";" : ","}`);
        words.push(`${m}: ${cells[0]}`, ...cells.slice(1));
    }
    const out: string[] = [];
    let line = "  ";
    for (const w of words) {
        if (line.length + 1 + w.length > 150 && line.trim() !== "") {
            out.push(line);
            line = "  ";
        }
        line += ` ${w}`;
    }
    out.push(line.replace(/;$/, ""));
    return out;
}

/**
 * The tree as text lines: a header, one section per group, the counts per type. Sibling leaves
 * with equal settings share a line unless `expand` is set.
 */
export function renderTree(plan: Plan, s: Style = plain, options: { expand?: boolean } = {}): string[] {
    const tree = buildTree(plan);
    const rows: { group?: string; left?: string; name?: string; settings?: string; under?: string }[] = [];
    for (const g of tree.groups) {
        const n = g.lines.length;
        rows.push({ group: g.app === undefined ? `platform (shared by every app): ${n} resources` : `app ${g.app}: ${n} resources` });
        const nodes = options.expand ? nodesOf(g.lines) : mergeLeaves(nodesOf(g.lines), plan.project);
        // Box drawing as pulumi preview: a branch per child, a bar while the parent has more.
        const walk = (list: Node[], indent: string, depth: number) => {
            list.forEach((node, i) => {
                const last = i === list.length - 1;
                const branch = depth === 0 ? "" : last ? "└─ " : "├─ ";
                const rs = node.resources;
                const row = { left: `${indent}${branch}${typePattern(rs.map((r) => r.type))}`, name: braceNames(rs.map((r) => r.name)), settings: settingsText(flagsOf(rs[0]), s), under: node.under };
                // A component whose children make one leaf line carries that line after `▸`, its
                // names shortened to what follows the component's own name (`…-{alias,key}`).
                const only = node.children.length === 1 && node.children[0].children.length === 0 ? node.children[0] : undefined;
                if (!options.expand && only && row.settings === "") {
                    const childName = braceNames(only.resources.map((r) => r.name));
                    const relative = childName.startsWith(`${rs[0].name}-`) ? `…${childName.slice(rs[0].name.length)}` : childName;
                    row.settings = [`▸ ${typePattern(only.resources.map((r) => r.type))} ${relative}`, settingsText(flagsOf(only.resources[0]), s)].filter((x) => x !== "").join("  ");
                    rows.push(row);
                    return;
                }
                rows.push(row);
                walk(node.children, depth === 0 ? "" : `${indent}${last ? "   " : "│  "}`, depth + 1);
            });
        };
        walk(nodes, "", 0);
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
    out.push(...countLines(tree.counts));
    out.push(
        "",
        s.dim(
            options.expand
                ? "Inputs and options: --details (or name resources: npm run plan -- --stack <s> <name>...); machine-readable: --json"
                : "{a,b} names several resources of one line; --expand: a line each; inputs and options: --details (or name resources: npm run plan -- --stack <s> <name>...); machine-readable: --json",
        ),
    );
    return out;
}
