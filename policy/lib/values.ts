/**
 * Reading resource properties the way the policy engine hands them over: plain JSON, with secrets
 * already unwrapped and, during `pulumi preview`, values that only exist after an update replaced
 * by "unknown" sentinels that throw `UnknownValueError` when read.
 *
 * Resource policies let that error escape on purpose: the engine then reports "can't run during
 * preview" as advisory, and the same policy runs on known inputs right before the resource is
 * created at `pulumi up`. Stack policies read through `known()` instead, so one unknown property
 * does not switch off the check for every other resource.
 */
import * as policySdk from "@pulumi/policy";

/** What the engine's proxy throws on reading an unknown value. @pulumi/policy exports it at runtime, not in its typings. */
export const UnknownValueError = (policySdk as unknown as { UnknownValueError: new (...args: never[]) => Error }).UnknownValueError;

/** A value the engine does not know yet. */
export const UNKNOWN: unique symbol = Symbol("unknown");
export type Maybe<T> = T | typeof UNKNOWN;

/** Runs `read`; an unknown value gives UNKNOWN instead of throwing. */
export function known<T>(read: () => T): Maybe<T> {
    try {
        return read();
    } catch (e) {
        if (e instanceof UnknownValueError) return UNKNOWN;
        throw e;
    }
}

/** A string or a list of strings (IAM's `Action`, `Resource`, condition values) as a list. */
export function asList(v: unknown): unknown[] {
    if (v === undefined || v === null) return [];
    return Array.isArray(v) ? [...v] : [v];
}

/** A JSON document given as a string (pulumi.jsonStringify) or as an object (PolicyDocument). */
export function parseJsonDocument(v: unknown): Record<string, unknown> | undefined {
    if (typeof v === "string") {
        try {
            const parsed: unknown = JSON.parse(v);
            return parsed && typeof parsed === "object" && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
        } catch {
            return undefined;
        }
    }
    return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/** A record's property, or undefined when the value is not an object. */
export function field(v: unknown, key: string): unknown {
    return v && typeof v === "object" ? (v as Record<string, unknown>)[key] : undefined;
}

/**
 * Every string reachable from `v`, with the top-level property it sits under. Unknown values are
 * skipped (they hold nothing yet); a JSON string is searched as it is, which finds values inside it.
 */
export function stringsByProperty(props: Record<string, unknown>): { property: string; value: string }[] {
    const out: { property: string; value: string }[] = [];
    const visit = (property: string, v: unknown, depth: number) => {
        if (depth > 64) return;
        if (typeof v === "string") out.push({ property, value: v });
        else if (v && typeof v === "object") {
            for (const key of Object.keys(v)) {
                const child = known(() => (v as Record<string, unknown>)[key]);
                if (child !== UNKNOWN) visit(property, child, depth + 1);
            }
        }
    };
    for (const key of Object.keys(props)) {
        const v = known(() => props[key]);
        if (v !== UNKNOWN) visit(key, v, 0);
    }
    return out;
}
