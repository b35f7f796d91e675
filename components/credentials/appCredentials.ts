import * as pulumi from "@pulumi/pulumi";
import type { AppSpec, PropertySpec, SourceKind } from "../config/model";
import { renderTemplate, templateReferences } from "./compose";
import { GeneratedSecret } from "./generatedSecret";
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
    rotation: "single" | "dual-key" | "none";
    /** The manual generation from rotation.generations. */
    generation: number;
    /** The rotation counter applied (generations and scheduled periods, one step per update). */
    rotationCounter?: pulumi.Output<number>;
    maxAgeDays: number;
    /** RFC 3339 time the current value was generated (generated secrets only). */
    lastRotated?: pulumi.Output<string>;
    /** Date of the next scheduled rotation (generated secrets with a maximum age only). */
    nextScheduledRotation?: string;
    /** Whether a value is present (supplied secrets may be optional and unset). */
    present: boolean;
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
    /** What each CA bundle holds, per "<app>/<secret>" (the stack's tlsState.caBundles). */
    readonly caBundleState: pulumi.Output<Record<string, CaBundleState>>;

    constructor(name: string, args: AppCredentialsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform-secrets:credentials:AppCredentials", name, {}, opts);
        const { app, epoch, now, previous } = args;
        const values: Record<string, pulumi.Output<string>> = Object.create(null);
        const applied: pulumi.Output<[string, { applied: number; offset: number }]>[] = [];
        const bundles: pulumi.Output<[string, CaBundleState]>[] = [];
        this.inventory = [];
        this.properties = [];

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
                present: true,
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
        for (const s of app.secrets) {
            if (s.source.kind !== "composed") continue;
            const { template, encode } = s.source;
            // Only the values the template references: depending on every value of the app (each
            // composed one included) made n composed secrets cost n² outputs.
            const refs: Record<string, pulumi.Output<string>> = {};
            for (const ref of templateReferences(template)) if (Object.hasOwn(values, ref)) refs[ref] = values[ref];
            values[s.properties[0].property] = pulumi.secret(pulumi.all(refs).apply((v) => renderTemplate(template, v, encode)));
        }

        for (const s of app.secrets) for (const p of s.properties) if (Object.hasOwn(values, p.property)) this.properties.push(p);
        this.data = pulumi.secret(pulumi.all(values));
        this.rotationState = pulumi.all(applied).apply((entries) => Object.fromEntries(entries));
        this.caBundleState = pulumi.all(bundles).apply((entries) => Object.fromEntries(entries));
        this.registerOutputs({ rotationState: this.rotationState });
    }
}
