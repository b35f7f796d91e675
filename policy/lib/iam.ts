/**
 * IAM policy documents (trust policies, bucket policies) as the engine passes them: a JSON string
 * or a PolicyDocument object. Condition operators and keys are compared case-insensitively, as IAM
 * evaluates condition keys.
 */
import { asList, parseJsonDocument } from "./values";

export interface Statement {
    Sid?: string;
    Effect?: string;
    Principal?: unknown;
    NotPrincipal?: unknown;
    Action?: unknown;
    NotAction?: unknown;
    Resource?: unknown;
    NotResource?: unknown;
    Condition?: Record<string, Record<string, unknown>>;
}

/** The statements of a policy document, or undefined when it is not one. */
export function statementsOf(doc: unknown): Statement[] | undefined {
    const parsed = parseJsonDocument(doc);
    if (!parsed) return undefined;
    return asList(parsed.Statement).filter((s): s is Statement => !!s && typeof s === "object");
}

export function strings(v: unknown): string[] {
    return asList(v).filter((x): x is string => typeof x === "string");
}

/** Whether the statement's actions include `action` (exactly, or through `service:*` or `*`). */
export function grantsAction(s: Statement, action: string): boolean {
    const service = action.split(":")[0].toLowerCase();
    return strings(s.Action).some((a) => {
        const x = a.toLowerCase();
        return x === "*" || x === action.toLowerCase() || x === `${service}:*`;
    });
}

/** Whether the principal is everyone: "*" or { AWS: "*" }. */
export function isWildcardPrincipal(p: unknown): boolean {
    if (p === "*") return true;
    if (p && typeof p === "object") return strings((p as Record<string, unknown>).AWS).includes("*");
    return false;
}

/** Values of `Principal.Federated`. */
export function federatedPrincipals(s: Statement): string[] {
    return s.Principal && typeof s.Principal === "object" ? strings((s.Principal as Record<string, unknown>).Federated) : [];
}

/** The condition blocks of a statement as [operator, key, values] triples, keys lower-cased. */
export function conditionEntries(s: Statement): { operator: string; key: string; values: unknown[] }[] {
    const out: { operator: string; key: string; values: unknown[] }[] = [];
    for (const [operator, block] of Object.entries(s.Condition ?? {})) {
        if (!block || typeof block !== "object") continue;
        for (const [key, values] of Object.entries(block)) out.push({ operator, key: key.toLowerCase(), values: asList(values) });
    }
    return out;
}
