/**
 * When certificates are re-issued and what a CA bundle holds during a CA change, pure so tests can
 * drive it with any clock. The same machinery as the generated secrets (rotation.ts,
 * rotationState.ts): a counter of generation plus scheduled periods, moving by at most one per
 * `pulumi up`, recorded in the stack's rotationState output. A certificate adds one reason of its
 * own: when the certificate the last deployment holds would expire before the next scheduled
 * period plus vault.pki.graceDays (the schedule moved further out, a shorter TTL was issued), it is
 * re-issued now, whatever the counter says; so no `up` leaves an expired or about-to-expire
 * certificate in place.
 *
 * A CA bundle remembers what it held: when its CA changes, the previous CA stays in the bundle
 * for one rotation period from the change, as the dual-key JWT keeps its previous key, so clients
 * keep verifying servers whose certificates the old CA signed until those are re-issued.
 */
import { z } from "zod";
import { bundleFingerprints, parseBundle } from "../config/certificates";
import type { SchedulePeriod } from "./rotation";
import { advance, SecretRotationState } from "./rotationState";

const DAY_MS = 86_400_000;

export const TLS_STATE_OUTPUT = "tlsState";

/** What the last deployment issued, per "<app>/<secret>": public facts only (never the key). */
const certificateState = z.object({ serial: z.string(), notAfter: z.string(), rotation: z.number().int() }).strict();
export type CertificateState = z.infer<typeof certificateState>;

/** What a CA bundle held: its configured CA(s), and the previous one while it overlaps. */
const caBundleState = z
    .object({ fingerprints: z.array(z.string()), pem: z.string(), previousPem: z.string().optional(), changedAt: z.string().optional() })
    .strict();
export type CaBundleState = z.infer<typeof caBundleState>;

export const tlsStateSchema = z
    .object({ certificates: z.record(z.string(), certificateState).default({}), caBundles: z.record(z.string(), caBundleState).default({}) })
    .strict();
export type TlsState = z.infer<typeof tlsStateSchema>;

export type ReissueReason = "first issue" | "scheduled" | "expiry" | "kept";

export interface CertificateDecision {
    /** The rotation counter to apply: the certificate's replacement trigger. */
    applied: number;
    offset: number;
    reason: ReissueReason;
}

/**
 * Whether the certificate the last deployment holds would expire before the next period (plus the
 * grace days its TTL carries), with an hour's slack for the issue time Vault backdates.
 */
export function expiresTooSoon(notAfter: string, period: SchedulePeriod, graceDays: number): boolean {
    if (!period.next) return false;
    return Date.parse(notAfter) < Date.parse(`${period.next}T00:00:00Z`) + graceDays * DAY_MS - 3_600_000;
}

export function certificateDecision(args: {
    generation: number;
    period: SchedulePeriod;
    graceDays: number;
    previousRotation?: SecretRotationState;
    previousCertificate?: CertificateState;
}): CertificateDecision {
    const desired = args.generation + args.period.index;
    const step = advance(desired, args.previousRotation);
    if (!args.previousRotation) return { ...step, reason: "first issue" };
    if (step.applied > args.previousRotation.applied) return { ...step, reason: "scheduled" };
    if (args.previousCertificate && expiresTooSoon(args.previousCertificate.notAfter, args.period, args.graceDays)) {
        const applied = args.previousRotation.applied + 1;
        return { applied, offset: desired - applied, reason: "expiry" };
    }
    return { ...step, reason: "kept" };
}

/** A bundle's certificates, each once (by fingerprint), in order. */
function mergeBundles(...pems: string[]): string {
    const seen = new Set<string>();
    const out: string[] = [];
    for (const pem of pems) {
        for (const cert of parseBundle(pem)) {
            if (seen.has(cert.fingerprint256)) continue;
            seen.add(cert.fingerprint256);
            out.push(cert.toString().trim());
        }
    }
    return `${out.join("\n")}\n`;
}

/**
 * The bundle the app receives now and the state to record: the configured CA(s), plus the
 * previous ones for `overlapDays` after a change.
 */
export function rollCaBundle(current: string, previous: CaBundleState | undefined, now: Date, overlapDays: number): { bundle: string; state: CaBundleState } {
    const fingerprints = bundleFingerprints(current);
    const same = previous !== undefined && previous.fingerprints.length === fingerprints.length && previous.fingerprints.every((f) => fingerprints.includes(f));
    if (!previous) return { bundle: mergeBundles(current), state: { fingerprints, pem: mergeBundles(current) } };
    const overlapEnds = (changedAt: string) => Date.parse(changedAt) + overlapDays * DAY_MS;
    if (same) {
        const keep = previous.previousPem !== undefined && previous.changedAt !== undefined && now.getTime() < overlapEnds(previous.changedAt);
        const state: CaBundleState = { fingerprints, pem: mergeBundles(current), ...(keep ? { previousPem: previous.previousPem, changedAt: previous.changedAt } : {}) };
        return { bundle: keep ? mergeBundles(current, previous.previousPem!) : mergeBundles(current), state };
    }
    // A change: the CA(s) of the last deployment stay for one period from now.
    const state: CaBundleState = { fingerprints, pem: mergeBundles(current), previousPem: previous.pem, changedAt: now.toISOString() };
    return { bundle: mergeBundles(current, previous.pem), state };
}

/** The previous deployment's TLS state, or empty (a new stack, or one deployed before TLS material). */
export function parseTlsState(value: unknown): TlsState {
    if (value === undefined || value === null) return { certificates: {}, caBundles: {} };
    const parsed = tlsStateSchema.safeParse(value);
    if (!parsed.success) throw new Error(`stack output ${TLS_STATE_OUTPUT} of the last deployment is not a TLS state: ${parsed.error.message}`);
    return parsed.data;
}
