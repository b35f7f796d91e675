/**
 * Deciding what an IAM document grants with the IAM policy simulator @cloud-copilot/iam-simulate,
 * the one the AWS tests use, instead of pattern-matching statements. A guardrail asks the simulator
 * about requests an attacker would make (another account, anyone, another ServiceAccount, a
 * request without TLS) and reads the decision.
 *
 * The simulator is a devDependency of the repository (AGPL-3.0): the pack resolves it from the
 * repository's node_modules, which `npm ci` fills with devDependencies wherever the pack runs (CI's
 * stack-access action and every local checkout). The pack is never published or distributed, so it
 * is used in-house only. Without it the pack does not load at all, so `pulumi preview` fails
 * rather than run without the checks that need it (docs/guardrails.md).
 */
import { anonymousPrincipal, runSimulation } from "@cloud-copilot/iam-simulate";

export type Decision = "Allowed" | "ExplicitlyDenied" | "ImplicitlyDenied";

export interface Probe {
    /** An ARN, a service principal, or ANONYMOUS. */
    principal: string;
    action: string;
    resource: string;
    /** The account that owns the resource. */
    accountId: string;
    context?: Record<string, string | string[]>;
    /** The caller's own identity policies (an attacker grants itself everything). */
    identity?: unknown[];
    resourcePolicy: unknown;
}

/** The principal of an unauthenticated request. */
export const ANONYMOUS = "<anonymous>";

/** What an attacker grants itself in its own account. */
export const ALLOW_EVERYTHING = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] };

export class SimulationError extends Error {}

/**
 * Decisions already made, by request: the simulator is a pure function of its input, and a stack
 * asks it the same questions many times (every bucket's policy against the same probes; the tests
 * analyse many variants of one graph). Bounded, oldest dropped first.
 */
const decisions = new Map<string, Promise<Decision>>();
const DECISIONS_KEPT = 5000;

/** The simulator's decision on one request; throws SimulationError when it cannot decide. */
export function decide(p: Probe): Promise<Decision> {
    const key = JSON.stringify([p.principal, p.action, p.resource, p.accountId, p.context ?? {}, p.identity ?? [], p.resourcePolicy ?? null]);
    const known = decisions.get(key);
    if (known) return known;
    const decision = simulate(p);
    // A failure is not kept: the next caller asks again and gets its own error. (Only this entry:
    // after an eviction the key may hold a newer one.)
    decision.catch(() => {
        if (decisions.get(key) === decision) decisions.delete(key);
    });
    decisions.set(key, decision);
    if (decisions.size > DECISIONS_KEPT) decisions.delete(decisions.keys().next().value!);
    return decision;
}

async function simulate(p: Probe): Promise<Decision> {
    const result = await runSimulation(
        {
            request: {
                principal: p.principal === ANONYMOUS ? anonymousPrincipal : p.principal,
                action: p.action,
                resource: { resource: p.resource, accountId: p.accountId },
                contextVariables: p.context ?? {},
            },
            identityPolicies: (p.identity ?? []).map((policy, i) => ({ name: `probe-identity-${i}`, policy })),
            serviceControlPolicies: [],
            resourceControlPolicies: [],
            resourcePolicy: p.resourcePolicy,
        },
        {},
    );
    if (result.resultType === "error") throw new SimulationError(`the simulator rejected the document: ${JSON.stringify(result.errors).slice(0, 300)}`);
    if (result.resultType !== "single") throw new SimulationError(`${p.action} on ${p.resource} did not simulate as one request`);
    return result.overallResult as Decision;
}

/** 12-digit account IDs named anywhere in a document. */
export function accountsIn(doc: unknown): string[] {
    const found = new Set<string>();
    for (const m of JSON.stringify(doc ?? null).matchAll(/(?<![0-9])[0-9]{12}(?![0-9])/g)) found.add(m[0]);
    return [...found].sort();
}

/** An account that is none of `taken`: the "other account" of a probe. */
export function foreignAccount(taken: string[]): string {
    for (const candidate of ["999999999999", "888888888888", "777777777777"]) if (!taken.includes(candidate)) return candidate;
    return "666666666666";
}

/** The AWS provider's allowedAccountIds (a JSON string or a list), when the resource's provider says. */
export function providerAccounts(provider: { props?: Record<string, unknown> } | undefined): string[] {
    let v: unknown = provider?.props?.allowedAccountIds;
    if (typeof v === "string") {
        try {
            v = JSON.parse(v);
        } catch {
            return [];
        }
    }
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string" && /^[0-9]{12}$/.test(x)) : [];
}

/** Principal ARNs named by the document's statements (AWS principals), each as a principal a probe can use. */
export function namedAwsPrincipals(statements: { Principal?: unknown; NotPrincipal?: unknown }[]): string[] {
    const out = new Set<string>();
    for (const s of statements) {
        for (const p of [s.Principal, s.NotPrincipal]) {
            if (!p || typeof p !== "object") continue;
            const aws = (p as Record<string, unknown>).AWS;
            for (const a of Array.isArray(aws) ? aws : [aws]) {
                if (typeof a !== "string") continue;
                if (/^[0-9]{12}$/.test(a)) out.add(`arn:aws:iam::${a}:role/probe-role`);
                else if (/^arn:aws[a-z-]*:iam::[0-9]{12}:root$/.test(a)) out.add(a.replace(/:root$/, ":role/probe-role"));
                else if (/^arn:aws[a-z-]*:(iam|sts)::[0-9]{12}:/.test(a) && !a.includes("*")) out.add(a);
            }
        }
    }
    return [...out].sort();
}

/** The account of a principal ARN (undefined for service principals and anonymous). */
export function accountOfPrincipal(principal: string): string | undefined {
    return /^arn:aws[a-z-]*:(iam|sts)::([0-9]{12}):/.exec(principal)?.[2];
}
