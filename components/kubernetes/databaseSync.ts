/**
 * What the ExternalSecret adds for an app's alternating database users (docs/database-credentials.md),
 * as pure functions: a store on Vault's database secrets engine mount (KV v1 reads of
 * `<mount>/static-creds/<role>`), one data entry per database credential of the catalog read from the
 * active slot's static role, and, when a composed value (POSTGRES_URL, REDIS_URL) references one, a
 * target template that composes it at sync time, so the DSN always carries the pair Vault holds now.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { AppSpec } from "../config/model";
import { templateReferences } from "../credentials/compose";
import type { StoreKind } from "./specs";

export interface DatabaseSyncArgs {
    readonly app: AppSpec;
    /** Per database: the static role of the active slot (resolves after Vault rotated it). */
    readonly activeRoles: Readonly<Record<string, pulumi.Input<string>>>;
    /** The app's store on the database mount. */
    readonly store: { readonly name: pulumi.Input<string>; readonly kind: StoreKind };
    /** The app's KV store (for values a sync-time template references but the Secret does not expose). */
    readonly kvStore: { readonly name: pulumi.Input<string>; readonly kind: StoreKind };
    readonly kvPath: string;
}

export interface SyncDataEntry {
    secretKey: string;
    remoteRef: { key: pulumi.Input<string>; property: string };
    sourceRef?: { storeRef: { name: pulumi.Input<string>; kind: StoreKind } };
}

export interface DatabaseSync {
    /** Extra `spec.data` entries. */
    data: SyncDataEntry[];
    /** `spec.target.template` fields to add (engineVersion, mergePolicy, data), when something is composed at sync time. */
    template?: { engineVersion: "v2"; mergePolicy: "Replace"; data: Record<string, string> };
}

/** Key under which a value only a template needs is fetched: never a key of the target Secret. */
const internalKey = (property: string) => `_ref_${property}`;

export function databaseSync(args: DatabaseSyncArgs): DatabaseSync {
    const { app } = args;
    const data: SyncDataEntry[] = [];
    /** property → the key a template reads it under. */
    const keyOf = new Map<string, string>();
    const databaseProperties = new Set<string>();
    for (const s of app.secrets) {
        if (s.source.kind !== "database") continue;
        const p = s.properties[0];
        const db = app.databases.find((d) => d.name === (s.source as { database: string }).database);
        if (!db) throw new Error(`${s.id}: no database ${(s.source as { database: string }).database}`);
        const secretKey = p.env ?? internalKey(p.property);
        data.push({ secretKey, remoteRef: { key: staticCredsKey(args.activeRoles[db.name]), property: s.source.field }, sourceRef: { storeRef: { name: args.store.name, kind: args.store.kind } } });
        keyOf.set(p.property, secretKey);
        databaseProperties.add(p.property);
    }
    const composed = app.secrets.filter((s) => s.source.kind === "composed" && templateReferences(s.source.template).some((r) => databaseProperties.has(r)));
    if (composed.length === 0) return { data };

    // With a template, the Secret holds exactly the template's keys (mergePolicy Replace): every
    // exposed value is templated as itself, values only a template needs stay out of the Secret.
    const templateData: Record<string, string> = {};
    for (const s of app.secrets) {
        if (composed.includes(s)) continue;
        for (const p of s.properties) {
            if (p.env === undefined) continue;
            if (s.source.kind === "supplied" && !s.supplied) continue;
            keyOf.set(p.property, keyOf.get(p.property) ?? p.env);
            templateData[p.env] = `{{ index . ${JSON.stringify(keyOf.get(p.property))} }}`;
        }
    }
    for (const s of composed) {
        if (s.source.kind !== "composed") continue;
        const { template, encode } = s.source;
        for (const ref of templateReferences(template)) {
            if (keyOf.has(ref)) continue;
            // A KV value the Secret does not expose: fetched under an internal key for the template only.
            keyOf.set(ref, internalKey(ref));
            data.push({ secretKey: internalKey(ref), remoteRef: { key: args.kvPath, property: ref } });
        }
        const go = template.replace(/\{([^{}]*)\}/g, (_, ref: string) => `{{ index . ${JSON.stringify(keyOf.get(ref))}${encode === "uri" ? " | urlquery" : ""} }}`);
        const env = s.properties[0].env;
        if (env !== undefined) templateData[env] = go;
    }
    return { data, template: { engineVersion: "v2", mergePolicy: "Replace", data: templateData } };
}

function staticCredsKey(role: pulumi.Input<string>): pulumi.Input<string> {
    // A plain string in tests, an Output in the program.
    if (typeof role === "string") return `static-creds/${role}`;
    return (role as pulumi.Output<string>).apply((r) => `static-creds/${r}`);
}
