/**
 * HS256 JWTs derived from a catalog secret (runbook 002: a self-hosted Supabase's anon and
 * service-role keys are JWTs signed with its JWT secret). Pure and deterministic: the same claims,
 * times and key give the same token, so a no-change `pulumi up` is a no-op.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

export type ClaimValue = string | number | boolean;

function base64url(data: Buffer | string): string {
    return Buffer.from(data).toString("base64url");
}

/**
 * The token: header `{"alg":"HS256","typ":"JWT"}`, payload the configured claims in config order
 * then `iat` and `exp` (seconds since the epoch), signed with HMAC-SHA256 keyed by the signing
 * secret's UTF-8 bytes, as GoTrue and PostgREST read a Supabase JWT secret.
 */
export function signJwt(claims: Readonly<Record<string, ClaimValue>>, iat: number, exp: number, key: string): string {
    if (!Number.isInteger(iat) || !Number.isInteger(exp)) throw new Error("iat and exp must be whole seconds");
    if (exp <= iat) throw new Error(`exp (${new Date(exp * 1000).toISOString()}) must be after iat (${new Date(iat * 1000).toISOString()})`);
    if (key.length === 0) throw new Error("the signing key is empty");
    const header = base64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
    const payload = base64url(JSON.stringify({ ...claims, iat, exp }));
    const signature = createHmac("sha256", Buffer.from(key, "utf8")).update(`${header}.${payload}`).digest("base64url");
    return `${header}.${payload}.${signature}`;
}

/** The payload of a token whose HS256 signature verifies with `key`, or undefined. */
export function verifyJwt(token: string, key: string): Record<string, unknown> | undefined {
    const parts = token.split(".");
    if (parts.length !== 3) return undefined;
    const [header, payload, signature] = parts;
    const expected = createHmac("sha256", Buffer.from(key, "utf8")).update(`${header}.${payload}`).digest();
    const given = Buffer.from(signature, "base64url");
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    const h = JSON.parse(Buffer.from(header, "base64url").toString("utf8")) as { alg?: string };
    if (h.alg !== "HS256") return undefined;
    return JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as Record<string, unknown>;
}

/** Seconds since the epoch of an RFC 3339 time or a YYYY-MM-DD day (00:00 UTC). */
export function epochSeconds(time: string): number {
    const ms = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(time) ? `${time}T00:00:00Z` : time);
    if (Number.isNaN(ms)) throw new Error(`not a time: ${time}`);
    return Math.floor(ms / 1000);
}
