/**
 * What the mocks never see: how pulumi-kubernetes writes an object to the API server, and who owns
 * which field afterwards. A small, faithful emulation for tests, ported from pulumi-kubernetes
 * 4.25.0 (the pinned version; provider/pkg/await/await.go at the v4.25.0 release commit f47bc2d6f199):
 * - Creation: always a server-side apply under the provider's unique manager `pulumi-kubernetes-<random>`,
 *   so an object that already exists is taken over ("we currently always upsert the object"), forced
 *   only as patchForce(inputs, nil, preview) says; there is no AlreadyExists and no
 *   `upsertExistingObjects` (both arrived in 4.29);
 * - ssaUpdate: fixCSAFieldManagers, then a server-side apply, forced as patchForce says;
 * - patchForce: the `pulumi.com/patchForce` annotation, then the PULUMI_K8S_ENABLE_PATCH_FORCE
 *   variable (4.25 has no provider setting for it), the preview rules, legacy objects without managedFields;
 * - the API server's server-side apply (structured-merge-diff): applying a field another manager
 *   owns with a different value is a conflict unless forced; forcing takes the field over;
 * - kubectl: `kubectl annotate` is a merge patch with field manager `kubectl-annotate`
 *   (operation Update), `kubectl create` / `apply` (client-side) record `kubectl-create` /
 *   `kubectl-client-side-apply`.
 * Fields are leaves (lists are atomic), which is what the objects this program writes need.
 */

export type Operation = "Apply" | "Update";

export interface ManagedFieldsEntry {
    manager: string;
    operation: Operation;
    /** Leaf paths, JSON-encoded segment arrays. */
    fields: Set<string>;
}

export interface LiveObject {
    object: Record<string, unknown>;
    managedFields: ManagedFieldsEntry[];
}

export class ApiError extends Error {
    constructor(
        readonly reason: "Conflict",
        message: string,
    ) {
        super(message);
        this.name = reason;
    }
}

/** Read-only or server-set metadata a client never owns. */
const serverFields = new Set(["resourceVersion", "uid", "creationTimestamp", "generation", "managedFields"]);

function isMap(v: unknown): v is Record<string, unknown> {
    return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** The leaves of a configuration: path → value (lists atomic). */
export function leaves(obj: Record<string, unknown>, prefix: string[] = []): Map<string, unknown> {
    const out = new Map<string, unknown>();
    for (const [k, v] of Object.entries(obj)) {
        if (prefix.length === 1 && prefix[0] === "metadata" && serverFields.has(k)) continue;
        if (prefix.length === 0 && (k === "apiVersion" || k === "kind" || k === "status")) continue;
        const p = [...prefix, k];
        if (isMap(v) && Object.keys(v).length > 0) for (const [lp, lv] of leaves(v, p)) out.set(lp, lv);
        else out.set(JSON.stringify(p), v);
    }
    return out;
}

function getPath(obj: Record<string, unknown>, p: string[]): unknown {
    let cur: unknown = obj;
    for (const s of p) {
        if (!isMap(cur)) return undefined;
        cur = cur[s];
    }
    return cur;
}

function setPath(obj: Record<string, unknown>, p: string[], v: unknown): void {
    let cur = obj;
    for (const s of p.slice(0, -1)) {
        if (!isMap(cur[s])) cur[s] = {};
        cur = cur[s] as Record<string, unknown>;
    }
    cur[p[p.length - 1]] = structuredClone(v);
}

const display = (p: string) => `.${(JSON.parse(p) as string[]).join(".")}`;

function entryOf(live: LiveObject, manager: string, operation: Operation): ManagedFieldsEntry {
    let e = live.managedFields.find((m) => m.manager === manager && m.operation === operation);
    if (!e) live.managedFields.push((e = { manager, operation, fields: new Set() }));
    return e;
}

function prune(live: LiveObject): void {
    live.managedFields = live.managedFields.filter((m) => m.fields.size > 0);
}

/** A write by a client that is not an apply (create, update, patch): the manager owns what it set. */
export function clientWrite(live: LiveObject | undefined, patch: Record<string, unknown>, manager: string): LiveObject {
    const next: LiveObject = live ? { object: structuredClone(live.object), managedFields: live.managedFields.map((m) => ({ ...m, fields: new Set(m.fields) })) } : { object: {}, managedFields: [] };
    for (const key of ["apiVersion", "kind"]) if (patch[key] !== undefined) next.object[key] = patch[key];
    for (const [p, v] of leaves(patch)) {
        const before = getPath(next.object, JSON.parse(p));
        setPath(next.object, JSON.parse(p), v);
        // An Update takes a field over only when it changes it (or creates it).
        if (!live || JSON.stringify(before) !== JSON.stringify(v)) {
            for (const m of next.managedFields) m.fields.delete(p);
            entryOf(next, manager, "Update").fields.add(p);
        }
    }
    prune(next);
    return next;
}

/** `kubectl annotate <obj> key=value --overwrite`. */
export function kubectlAnnotate(live: LiveObject, key: string, value: string): LiveObject {
    return clientWrite(live, { metadata: { annotations: { [key]: value } } }, "kubectl-annotate");
}

/** The API server's server-side apply. */
export function serverSideApply(live: LiveObject | undefined, config: Record<string, unknown>, manager: string, force: boolean, apiVersion = String(config.apiVersion)): LiveObject {
    const next: LiveObject = live ? { object: structuredClone(live.object), managedFields: live.managedFields.map((m) => ({ ...m, fields: new Set(m.fields) })) } : { object: {}, managedFields: [] };
    const applied = leaves(config);
    const conflicts: { manager: string; field: string }[] = [];
    for (const [p, v] of applied) {
        const current = getPath(next.object, JSON.parse(p));
        if (JSON.stringify(current) === JSON.stringify(v)) continue; // same value: shared, no conflict
        for (const m of next.managedFields) if (m.manager !== manager && m.fields.has(p)) conflicts.push({ manager: m.manager, field: p });
    }
    if (conflicts.length > 0 && !force) {
        const byManager = new Map<string, string[]>();
        for (const c of conflicts) byManager.set(c.manager, [...(byManager.get(c.manager) ?? []), display(c.field)]);
        throw new ApiError(
            "Conflict",
            `Apply failed with ${conflicts.length} conflict${conflicts.length === 1 ? "" : "s"}: ${[...byManager].map(([m, fs]) => `conflict with "${m}" using ${apiVersion}: ${fs.join(", ")}`).join("; ")}`,
        );
    }
    for (const key of ["apiVersion", "kind"]) if (config[key] !== undefined) next.object[key] = config[key];
    const mine = entryOf(next, manager, "Apply");
    // Fields this manager applied before and no longer applies, owned by no one else, are removed.
    for (const p of mine.fields) {
        if (!applied.has(p) && !next.managedFields.some((m) => m !== mine && m.fields.has(p))) {
            const segs = JSON.parse(p) as string[];
            const parent = getPath(next.object, segs.slice(0, -1));
            if (isMap(parent)) delete parent[segs[segs.length - 1]];
        }
    }
    mine.fields = new Set(applied.keys());
    for (const [p, v] of applied) {
        setPath(next.object, JSON.parse(p), v);
        // Shared fields stay shared; forced ones are taken from the other managers.
        if (force) for (const m of next.managedFields) if (m !== mine && m.fields.has(p) && conflicts.some((c) => c.field === p && c.manager === m.manager)) m.fields.delete(p);
    }
    prune(next);
    return next;
}

/** pulumi-kubernetes' patchForce (await.go, 4.25.0). `envPatchForce`: PULUMI_K8S_ENABLE_PATCH_FORCE, when set. */
export function patchForce(inputs: Record<string, unknown>, live: LiveObject | undefined, envPatchForce: boolean | undefined, preview: boolean): boolean {
    const annotations = (getPath(inputs, ["metadata", "annotations"]) ?? {}) as Record<string, unknown>;
    if (annotations["pulumi.com/patchForce"] === "true") return true; // metadata.IsAnnotationTrue
    if (envPatchForce !== undefined) return envPatchForce;
    if (preview) {
        if (!live) return true;
        for (const m of live.managedFields) {
            if (m.operation === "Update" && ["pulumi-resource-kubernetes", "pulumi-kubernetes", "pulumi-kubernetes.exe"].includes(m.manager)) return true;
        }
    }
    if (live && live.managedFields.length === 0) return true;
    return false;
}

/** The client-side managers fixCSAFieldManagers hands to the provider's own manager (await.go). */
export const TAKEN_OVER_MANAGERS: readonly { manager: string; operation: Operation }[] = [
    { manager: "kubectl", operation: "Apply" },
    { manager: "kubectl", operation: "Update" },
    { manager: "before-first-apply", operation: "Update" },
    { manager: "pulumi-kubernetes", operation: "Update" },
    { manager: "pulumi-kubernetes.exe", operation: "Update" },
    { manager: "pulumi-resource-kubernetes", operation: "Update" },
];

/** fixCSAFieldManagers (fluxssa.PatchReplaceFieldsManagers): those managers' fields become the provider's Apply fields. */
export function fixCSAFieldManagers(live: LiveObject, fieldManager: string, preview: boolean): LiveObject {
    if (preview || live.managedFields.length === 0) return live;
    const next: LiveObject = { object: live.object, managedFields: [] };
    const taken = new Set<string>();
    for (const m of live.managedFields) {
        if (TAKEN_OVER_MANAGERS.some((t) => t.manager === m.manager && t.operation === m.operation)) for (const f of m.fields) taken.add(f);
        else next.managedFields.push({ ...m, fields: new Set(m.fields) });
    }
    if (taken.size > 0) {
        const mine = entryOf(next, fieldManager, "Apply");
        for (const f of taken) mine.fields.add(f);
    }
    return next;
}

export interface ProviderSettings {
    /** The provider's unique server-side apply manager for this resource (`pulumi-kubernetes-<random>`). */
    fieldManager: string;
    /** PULUMI_K8S_ENABLE_PATCH_FORCE on the machine that runs Pulumi, when set. */
    envPatchForce?: boolean;
    preview?: boolean;
}

/** The provider's Create (await.Creation, server-side apply enabled) against an object that may already exist. */
export function providerCreate(existing: LiveObject | undefined, inputs: Record<string, unknown>, s: ProviderSettings): LiveObject {
    return serverSideApply(existing, inputs, s.fieldManager, patchForce(inputs, undefined, s.envPatchForce, !!s.preview));
}

/** The provider's Update with server-side apply (await.ssaUpdate). */
export function providerUpdate(live: LiveObject, inputs: Record<string, unknown>, s: ProviderSettings): LiveObject {
    const fixed = fixCSAFieldManagers(live, s.fieldManager, !!s.preview);
    const force = patchForce(inputs, fixed, s.envPatchForce, !!s.preview);
    return serverSideApply(fixed, inputs, s.fieldManager, force);
}
