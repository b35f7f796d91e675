import * as pulumi from "@pulumi/pulumi";
import type { AppSpec, PropertySpec, SourceKind } from "../config/model";
import { renderTemplate, templateReferences } from "./compose";
import { GeneratedSecret } from "./generatedSecret";
import { epochSeconds, signJwt } from "./jwt";
import { rotationCounter, schedulePeriod } from "./rotation";
import { advance, RotationState } from "./rotationState";
import { CaBundleState, rollCaBundle, TlsState } from "./certificateRotation";
import { readCaBundleFile } from "../config/tlsRules";
import { bundleFingerprints } from "../config/certificates";
import type { IssuedCertificate } from "../vault/pki";

export interface AppCredentialsArgs {
    readonly app: AppSpec;
    /** rotation.epoch. */
    readonly epoch: string;
    /** The clock for scheduled rotation. */
    readonly now: Date;
    /** What the last deployment applied (empty for a new stack). */
    readonly previous: RotationState;
    /** vault.database.path, where the app's databases' static roles live. */
    readonly databaseMount?: string;
    /** The app's client certificates issued by Vault's PKI engine (VaultPki), by catalog key. */
    readonly certificates?: Readonly<Record<string, IssuedCertificate>>;
    /** The last deployment's TLS state: what each CA bundle held. */
    readonly previousTls?: TlsState;
    /** Days a replaced CA stays in its bundle: one rotation period (rotation.maxAgeDays, 90 when scheduling is off). */
    readonly caOverlapDays?: number;
}

/** What an auditor reads about one secret: everything but its value (runbooks 000, 003). */
export interface InventoryEntry {
    app: string;
    secret: string;
    source: SourceKind;
    vaultPath: string;
    properties: PropertySpec[];
    /** `alternating-users`: a database password, two login users whose active one follows the counter. */
    rotation: "single" | "dual-key" | "alternating-users" | "none";
    /** The manual generation from rotation.generations. */
    generation: number;
    /** The rotation counter applied (generations and scheduled periods, one step per update). */
    rotationCounter?: pulumi.Output<number>;
    maxAgeDays: number;
    /** Why the secret is exempt from scheduled rotation (maxAgeDays 0), from the stack file. */
    exemptReason?: string;
    /** Database credentials: the Vault static role (slot) each property is read from, by slot. */
    databaseRoles?: { a: string; b: string };
    /** RFC 3339 time the current value was generated (generated secrets only). */
    lastRotated?: pulumi.Output<string>;
    /** Date of the next scheduled rotation (generated secrets with a maximum age only). */
    nextScheduledRotation?: string;
    /** Whether a value is present (supplied secrets may be optional and unset). */
    present: boolean;
    /** Consumer apps the secret is granted to, each reading it at `sharedPath` only (empty: the owner's alone). */
    consumers: string[];
    /** Where a granted secret is written on its own: `<mount>/data/<prefix>/<owner>/<env>/shared/<secret>`. */
    sharedPath?: string;
    /** Derived keys: the catalog key of the signing secret. */
    signingKey?: string;
    /** Derived keys: the token's expiry (the signing secret's next scheduled rotation), YYYY-MM-DD. */
    expires?: string;
    /** Issued certificates: Vault's serial number (hex bytes joined by ':'). */
    serialNumber?: pulumi.Output<string>;
    /** Issued certificates: RFC 3339 expiry. */
    notAfter?: pulumi.Output<string>;
    /** Issued certificates: why this update issues (first issue, scheduled, expiry) or keeps it. */
    reissue?: string;
    /** CA bundles: SHA-256 fingerprints of the CAs the app receives (the previous one too, during a CA change). */
    caFingerprints?: pulumi.Output<string[]>;
}

/**
 * Every value of one app's catalog: generated ones from @pulumi/random, supplied ones from secret
 * config, composed ones rendered from those, plain settings as they are. `data` is what the app's
 * Vault KV secret holds; it is a Pulumi secret as a whole.
 */
export class AppCredentials extends pulumi.ComponentResource {
    /** Vault property → value, secret. Absent optional supplied secrets are left out. */
    readonly data: pulumi.Output<Record<string, string>>;
    /** The properties `data` holds, with the env var / Secret key each is exposed as. */
    readonly properties: PropertySpec[];
    /** The rotation counters applied, per "<app>/<secret>": a stack output the next update reads. */
    readonly rotationState: pulumi.Output<RotationState>;
    readonly inventory: InventoryEntry[];
    /** Per granted secret (catalog key): its properties alone, secret, for its shared path. */
    readonly sharedData: Record<string, pulumi.Output<Record<string, string>>>;
    /**
     * Per database of the app: the rotation counter applied to its password (the active user is
     * slot a at even counters, slot b at odd ones; docs/database-credentials.md).
     */
    readonly databaseCounters: Record<string, number>;
    /**
     * Composed secrets that reference a database credential: composed by ESO at sync time from the
     * active user's credentials, never in Vault KV or in the program's state.
     */
    readonly syncComposed: string[];
    /** What each CA bundle holds, per "<app>/<secret>" (the stack's tlsState.caBundles). */
    readonly caBundleState: pulumi.Output<Record<string, CaBundleState>>;

    constructor(name: string, args: AppCredentialsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform-secrets:credentials:AppCredentials", name, {}, opts);
        const { app, epoch, now, previous } = args;
        const values: Record<string, pulumi.Output<string>> = Object.create(null);
        const applied: pulumi.Output<[string, { applied: number; offset: number }]>[] = [];
        const signers: Record<string, { value: pulumi.Output<string>; lastRotated: pulumi.Output<string>; next?: string }> = Object.create(null);
        const bundles: pulumi.Output<[string, CaBundleState]>[] = [];
        this.inventory = [];
        this.properties = [];
        this.databaseCounters = {};
        this.syncComposed = [];
        const databaseProperties = new Set<string>();

        // Generated, supplied and plain values first: composed values reference them.
        for (const s of app.secrets) {
            const entry: InventoryEntry = {
                app: app.name,
                secret: s.key,
                source: s.source.kind,
                vaultPath: app.vaultDataPath,
                properties: s.properties,
                rotation: s.generated ? s.rotation : "none",
                generation: s.generation,
                maxAgeDays: s.maxAgeDays,
                ...(s.exemptReason !== undefined ? { exemptReason: s.exemptReason } : {}),
                present: true,
                consumers: s.grants.map((g) => g.app),
                sharedPath: s.shared?.vaultDataPath,
            };
            if (s.source.kind === "random-bytes" || s.source.kind === "password") {
                const period = schedulePeriod(now, epoch, s.maxAgeDays);
                const state = advance(rotationCounter(s.generation, period), previous[s.id]);
                const g = new GeneratedSecret(`${name}-${s.key}`, { secret: s, rotation: state.applied }, { parent: this });
                Object.assign(values, g.values);
                // Record what the provider holds, with the offset intended: a rotation an update did
                // not apply (a targeted update) is then taken up, once, by the next full update.
                applied.push(g.appliedRotation.apply((a): [string, { applied: number; offset: number }] => [s.id, { applied: a, offset: state.offset }]));
                entry.rotationCounter = g.appliedRotation;
                entry.lastRotated = g.lastRotated;
                entry.nextScheduledRotation = period.next;
                // What a derived key signed with this secret needs: the current (primary) value,
                // when it was generated, and when it is next rotated.
                const current = s.properties.find((p) => p.slot === "value" || p.slot === "primary")!;
                signers[s.key] = { value: g.values[current.property], lastRotated: g.lastRotated, next: period.next };
            } else if (s.source.kind === "database") {
                // Not a value of the program: Vault's database secrets engine sets the password, ESO reads it.
                for (const p of s.properties) databaseProperties.add(p.property);
                const source = s.source;
                const db = app.databases.find((d) => d.name === source.database);
                if (db) entry.databaseRoles = db.roleNames;
                if (db) entry.vaultPath = `${args.databaseMount ?? "database"}/static-creds/${db.roleNames.a} (even counters), .../${db.roleNames.b} (odd)`;
                if (source.field === "password") {
                    const period = schedulePeriod(now, epoch, s.maxAgeDays);
                    const state = advance(rotationCounter(s.generation, period), previous[s.id]);
                    this.databaseCounters[source.database] = state.applied;
                    applied.push(pulumi.output<[string, { applied: number; offset: number }]>([s.id, { applied: state.applied, offset: state.offset }]));
                    entry.rotation = "alternating-users";
                    entry.rotationCounter = pulumi.output(state.applied);
                    entry.nextScheduledRotation = period.next;
                }
            } else if (s.source.kind === "supplied") {
                if (s.supplied) values[s.properties[0].property] = pulumi.secret(s.supplied.reveal());
                else entry.present = false;
            } else if (s.source.kind === "plain") {
                values[s.properties[0].property] = pulumi.output(s.source.value);
            } else if (s.source.kind === "vault-pki-cert") {
                const cert = args.certificates?.[s.key];
                if (!cert) throw new Error(`${s.id}: no certificate was issued for it`);
                for (const p of s.properties) values[p.property] = p.slot === "private-key" ? cert.privateKey : cert.certificate;
                entry.rotation = "single";
                entry.rotationCounter = pulumi.output(cert.rotation);
                entry.serialNumber = cert.serialNumber;
                entry.notAfter = cert.notAfter;
                entry.reissue = cert.reason;
                entry.nextScheduledRotation = cert.nextScheduledRotation;
            } else if (s.source.kind === "ca-bundle") {
                const src = s.source;
                const parts: pulumi.Output<string>[] = [];
                if (src.pem !== undefined) parts.push(pulumi.output(src.pem));
                if (src.file !== undefined) {
                    const { pem, problem } = readCaBundleFile(src.file);
                    if (pem === undefined) throw new Error(`${s.id}: ${problem}`); // rules.ts reported it before
                    parts.push(pulumi.output(pem));
                }
                if (src.includePkiCa) {
                    const first = Object.values(args.certificates ?? {})[0];
                    if (!first) throw new Error(`${s.id}: includePkiCa without a certificate of the app`);
                    parts.push(first.issuingCa);
                }
                const prev = args.previousTls?.caBundles[s.id];
                const rolled = pulumi.all(parts).apply((pems) => rollCaBundle(pems.join("\n"), prev, now, args.caOverlapDays ?? 90));
                // Public material: never marked secret on its own.
                values[s.properties[0].property] = rolled.apply((r) => r.bundle);
                bundles.push(rolled.apply((r): [string, CaBundleState] => [s.id, r.state]));
                entry.caFingerprints = rolled.apply((r) => bundleFingerprints(r.bundle));
            }
            this.inventory.push(entry);
        }
        // Derived keys, after the generated ones they are signed with (rules.ts: a generated secret of
        // this app with scheduled rotation). iat is when the signing secret was generated and exp its
        // next scheduled rotation: both change exactly when the key does (or a period ends), so the
        // token is re-derived in the same `up` as its key and a no-change `up` leaves it as it is.
        for (const s of app.secrets) {
            if (s.source.kind !== "jwt") continue;
            const { signingKey, claims } = s.source;
            const signer = signers[signingKey];
            if (!signer?.next) throw new Error(`${s.id}: signing key ${signingKey} is not a generated secret with scheduled rotation`);
            const exp = epochSeconds(signer.next);
            values[s.properties[0].property] = pulumi.secret(
                pulumi.all([signer.value, signer.lastRotated]).apply(([key, rotated]) => signJwt(claims, epochSeconds(rotated), exp, key)),
            );
            const entry = this.inventory.find((e) => e.secret === s.key)!;
            entry.signingKey = signingKey;
            entry.expires = signer.next;
        }
        for (const s of app.secrets) {
            if (s.source.kind !== "composed") continue;
            const { template, encode } = s.source;
            if (templateReferences(template).some((r) => databaseProperties.has(r))) {
                this.syncComposed.push(s.key);
                continue;
            }
            // Only the values the template references: depending on every value of the app (each
            // composed one included) made n composed secrets cost n² outputs.
            const refs: Record<string, pulumi.Output<string>> = {};
            for (const ref of templateReferences(template)) if (Object.hasOwn(values, ref)) refs[ref] = values[ref];
            values[s.properties[0].property] = pulumi.secret(pulumi.all(refs).apply((v) => renderTemplate(template, v, encode)));
        }

        for (const s of app.secrets) for (const p of s.properties) if (Object.hasOwn(values, p.property)) this.properties.push(p);
        this.data = pulumi.secret(pulumi.all(values));
        this.sharedData = {};
        for (const s of app.secrets) {
            if (!s.shared) continue;
            const own: Record<string, pulumi.Output<string>> = {};
            for (const p of s.properties) if (Object.hasOwn(values, p.property)) own[p.property] = values[p.property];
            this.sharedData[s.key] = pulumi.secret(pulumi.all(own));
        }
        this.rotationState = pulumi.all(applied).apply((entries) => Object.fromEntries(entries));
        this.caBundleState = pulumi.all(bundles).apply((entries) => Object.fromEntries(entries));
        this.registerOutputs({ rotationState: this.rotationState });
    }
}
