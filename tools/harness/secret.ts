/**
 * How the harness represents a Pulumi secret once it has left the engine's wire format: a
 * `SecretValue` box around the plain value. Inputs, outputs and stack outputs all use it, so a
 * test can tell a value that travels as a secret from one that does not.
 */
import * as pulumi from "@pulumi/pulumi";

const { specialSigKey, specialSecretSig } = pulumi.runtime;

export class SecretValue {
    constructor(readonly value: unknown) {}
}

/** Turns the wire format's secret sentinels into SecretValue boxes, recursively. */
export function fromWire(v: unknown): unknown {
    if (Array.isArray(v)) return v.map(fromWire);
    if (v && typeof v === "object") {
        const o = v as Record<string, unknown>;
        if (o[specialSigKey] === specialSecretSig) return new SecretValue(fromWire(o.value));
        const out: Record<string, unknown> = {};
        for (const [k, x] of Object.entries(o)) out[k] = fromWire(x);
        return out;
    }
    return v;
}

/** Wraps a plain value in the wire format's secret sentinel. */
export function toWireSecret(v: unknown): unknown {
    return { [specialSigKey]: specialSecretSig, value: v };
}

/** Removes every SecretValue box (for the mocks, which compute on plain values). */
export function reveal(v: unknown): unknown {
    if (v instanceof SecretValue) return reveal(v.value);
    if (Array.isArray(v)) return v.map(reveal);
    if (v && typeof v === "object") {
        const out: Record<string, unknown> = {};
        for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = reveal(x);
        return out;
    }
    return v;
}

/** Replaces every SecretValue with "[secret]", or with `{ "@secret": value }` when showing secrets. */
export function redact(v: unknown, showSecrets = false): unknown {
    if (v instanceof SecretValue) return showSecrets ? { "@secret": redact(v.value, true) } : "[secret]";
    if (Array.isArray(v)) return v.map((x) => redact(x, showSecrets));
    if (v && typeof v === "object") {
        const out: Record<string, unknown> = {};
        for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = redact(x, showSecrets);
        return out;
    }
    return v;
}

/** Every string reachable outside a SecretValue, with its path: where a leak would show. */
export function plaintextStrings(v: unknown, path = "$"): { path: string; value: string }[] {
    if (v instanceof SecretValue) return [];
    if (typeof v === "string") return [{ path, value: v }];
    if (Array.isArray(v)) return v.flatMap((x, i) => plaintextStrings(x, `${path}[${i}]`));
    if (v && typeof v === "object") {
        return Object.entries(v as Record<string, unknown>).flatMap(([k, x]) => plaintextStrings(x, `${path}.${k}`));
    }
    return [];
}
