/**
 * Runs CrossGuard policies over recorded resources the way the policy engine does, so tests can
 * check the pack against the real dev/prod graphs and against hand-built bad resources.
 *
 * What it mirrors from @pulumi/policy's analyzer server (server.js) and the engine:
 * - Analyze (resource policies) sees each resource's INPUTS; AnalyzeStack sees every resource's
 *   OUTPUTS (the root Stack's are the stack outputs), with parents, explicit dependencies and, when
 *   given, property dependencies resolved to the resource objects.
 * - Secrets arrive unwrapped (the engine marshals them, the SDK deserializes them to plain values),
 *   and props go through the SDK's own unknownCheckingProxy, so a value marked unknown (a preview)
 *   throws UnknownValueError exactly as in `pulumi preview`: that becomes an advisory diagnostic.
 * - A resource policy's diagnostics carry the analyzed resource's URN (the engine attaches it; the
 *   SDK sends none), a stack policy's the URN it reported.
 * - Enforcement level: policy config, then the policy's own, then the pack's; "disabled" skips the
 *   policy. getConfig() returns the policy's config without enforcementLevel. notApplicable() is
 *   recorded, not an error.
 * What the engine does that this does not: schema defaults for config are not filled in (the
 * policies default every setting themselves), and the recorded runs carry no property
 * dependencies (the policies fall back to values, which the mocks make known).
 */
import type {
    EnforcementLevel,
    Policies,
    PolicyResource,
    PolicyResourceOptions,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
} from "@pulumi/policy";
import * as policySdk from "@pulumi/policy";
import type { ResourceRecord } from "./run";
import { reveal } from "./secret";

/** A recorded resource, optionally with the property dependencies the engine would pass (URNs by property). */
export type PolicyRecord = ResourceRecord & { propertyDependencies?: Record<string, string[]> };

/** What `--policy-pack-config <file>` holds: per policy an enforcement level or { enforcementLevel?, ...settings }. */
export type PolicyPackConfig = Record<string, EnforcementLevel | ({ enforcementLevel?: EnforcementLevel } & Record<string, unknown>)>;

export interface PolicyDiagnostic {
    policy: string;
    message: string;
    urn?: string;
    enforcementLevel: EnforcementLevel;
}

export interface PolicyNotApplicable {
    policy: string;
    urn?: string;
    reason: string;
}

export interface PolicyReport {
    /** Every reported violation, and the advisory "can't run during preview" notes for unknown values. */
    diagnostics: PolicyDiagnostic[];
    notApplicable: PolicyNotApplicable[];
    /** How many resources each resource policy ran on to completion (not counting not-applicable ones). */
    checked: Record<string, number>;
}

export interface AnalyzeOptions {
    config?: PolicyPackConfig;
    /** The pack's enforcement level (policy/index.ts passes "mandatory"). */
    packEnforcementLevel?: EnforcementLevel;
    /** The stack's outputs, the root Stack resource's props in AnalyzeStack. */
    stackOutputs?: Record<string, unknown>;
}

/** The unknown sentinel the engine puts in place of a string not known during preview. */
export const UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

const STACK_TYPE = "pulumi:pulumi:Stack";

// The SDK's own proxy and error, so unknown values behave exactly as in the engine. Both are
// exported at runtime and missing from the SDK's typings.
const sdk = policySdk as unknown as {
    unknownCheckingProxy<T extends object>(o: T): T;
    UnknownValueError: new (...args: never[]) => Error;
};
const EMPTY_TAGS: ReadonlyMap<string, string> = new Map();

class NotApplicable extends Error {
    constructor(readonly reason: string) {
        super(reason);
    }
}
const notApplicable = (reason?: string): never => {
    throw new NotApplicable(reason ?? "");
};

function isResourcePolicy(p: ResourceValidationPolicy | StackValidationPolicy): p is ResourceValidationPolicy {
    return !("validateStack" in p);
}

function pulumiTypeOf(cls: unknown): string | undefined {
    const t = (cls as { __pulumiType?: unknown } | undefined)?.__pulumiType;
    return typeof t === "string" && t.length > 0 ? t : undefined;
}

/** isType as the server implements it: the class's __pulumiType, else its isInstance. */
function isTypeOf(type: string, cls: unknown): boolean {
    const t = pulumiTypeOf(cls);
    if (t) return t === type;
    const isInstance = (cls as { isInstance?: (o: unknown) => boolean }).isInstance;
    return typeof isInstance === "function" && isInstance({ __pulumiType: type }) === true;
}

function enforcementOf(p: { name: string; enforcementLevel?: EnforcementLevel }, opts: AnalyzeOptions): EnforcementLevel {
    const c = opts.config?.[p.name];
    const fromConfig = typeof c === "string" ? c : c?.enforcementLevel;
    const level = fromConfig || p.enforcementLevel || opts.packEnforcementLevel || "advisory";
    return level === "remediate" ? "mandatory" : level;
}

function configOf(policy: string, opts: AnalyzeOptions): <T extends object>() => T {
    return <T extends object>() => {
        const c = opts.config?.[policy];
        if (!c || typeof c === "string") return {} as T;
        const { enforcementLevel: _ignored, ...settings } = c;
        return settings as T;
    };
}

function optionsOf(r: ResourceRecord): PolicyResourceOptions {
    const o = r.options;
    const opts: PolicyResourceOptions = {
        protect: o.protect === true,
        ignoreChanges: o.ignoreChanges ?? [],
        aliases: (o.aliases ?? []).filter((a): a is string => typeof a === "string"),
        customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
        additionalSecretOutputs: o.additionalSecretOutputs ?? [],
    };
    if (o.deleteBeforeReplace !== undefined) opts.deleteBeforeReplace = o.deleteBeforeReplace;
    if (r.parent) opts.parent = r.parent;
    return opts;
}

/** Plain JSON, secrets unwrapped, behind the SDK's unknown-checking proxy. */
function engineProps(v: unknown): Record<string, any> {
    return sdk.unknownCheckingProxy(reveal(v ?? {}) as Record<string, unknown>);
}

function providerOf(r: ResourceRecord, byUrn: Map<string, ResourceRecord>) {
    if (!r.provider) return undefined;
    const urn = r.provider.slice(0, r.provider.lastIndexOf("::"));
    const p = byUrn.get(urn);
    return p ? { type: p.type, props: engineProps(p.inputs), urn: p.urn, name: p.name } : undefined;
}

/** What Analyze and AnalyzeStack both say about a resource: identity, props, options, provider, type tests. */
function resourceView(r: ResourceRecord, props: Record<string, any>, byUrn: Map<string, ResourceRecord>) {
    return {
        type: r.type,
        props,
        urn: r.urn,
        name: r.name,
        opts: optionsOf(r),
        provider: providerOf(r, byUrn),
        isType: (cls: unknown) => isTypeOf(r.type, cls),
        // asType hands back the props when the type matches; its SDK signature is generic per class.
        asType: ((cls: unknown) => (isTypeOf(r.type, cls) ? props : undefined)) as ResourceValidationArgs["asType"] & PolicyResource["asType"],
    };
}

function diagnosticFor(policy: string, e: unknown): PolicyDiagnostic {
    if (e instanceof sdk.UnknownValueError) {
        return { policy, enforcementLevel: "advisory", message: `can't run policy '${policy}' during preview: ${e.message}` };
    }
    throw e;
}

/** Runs every resource policy on every resource and every stack policy on the stack, as `pulumi preview` would. */
export async function analyze(policies: Policies, resources: PolicyRecord[], opts: AnalyzeOptions = {}): Promise<PolicyReport> {
    const byUrn = new Map(resources.map((r) => [r.urn, r]));
    const report: PolicyReport = { diagnostics: [], notApplicable: [], checked: {} };
    const reporter = (policy: string, level: EnforcementLevel, fixedUrn?: string): ReportViolation => {
        return (message: string, urn?: string) => {
            report.diagnostics.push({ policy, message, urn: fixedUrn ?? urn, enforcementLevel: level });
        };
    };

    for (const p of policies) {
        const level = enforcementOf(p, opts);
        if (level === "disabled") continue;
        if (isResourcePolicy(p)) {
            if (!p.validateResource) continue;
            const validations = Array.isArray(p.validateResource) ? p.validateResource : [p.validateResource];
            for (const r of resources) {
                let ran = false;
                for (const validate of validations) {
                    const fastType = Array.isArray(p.validateResource) ? undefined : pulumiTypeOf(validate);
                    if (fastType && fastType !== r.type) {
                        report.notApplicable.push({ policy: p.name, urn: r.urn, reason: `Policy only applies to resources of type '${fastType}'` });
                        continue;
                    }
                    const args: ResourceValidationArgs = {
                        ...resourceView(r, engineProps(r.inputs), byUrn),
                        stackTags: EMPTY_TAGS,
                        getConfig: configOf(p.name, opts),
                        notApplicable,
                    };
                    try {
                        await validate(args, reporter(p.name, level, r.urn));
                        ran = true;
                    } catch (e) {
                        if (e instanceof NotApplicable) report.notApplicable.push({ policy: p.name, urn: r.urn, reason: e.reason });
                        else report.diagnostics.push(diagnosticFor(p.name, e));
                    }
                }
                if (ran) report.checked[p.name] = (report.checked[p.name] ?? 0) + 1;
            }
        } else {
            const stackResources = toPolicyResources(resources, opts);
            const args: StackValidationArgs = {
                resources: stackResources,
                stackTags: EMPTY_TAGS,
                getConfig: configOf(p.name, opts),
                notApplicable,
            };
            try {
                await p.validateStack(args, reporter(p.name, level));
                report.checked[p.name] = (report.checked[p.name] ?? 0) + 1;
            } catch (e) {
                if (e instanceof NotApplicable) report.notApplicable.push({ policy: p.name, reason: e.reason });
                else report.diagnostics.push(diagnosticFor(p.name, e));
            }
        }
    }
    return report;
}

/** The AnalyzeStack view: outputs, parents, dependencies and property dependencies as objects. */
function toPolicyResources(resources: PolicyRecord[], opts: AnalyzeOptions): PolicyResource[] {
    const byUrn = new Map(resources.map((r) => [r.urn, r]));
    const out = new Map<string, PolicyResource>();
    for (const r of resources) {
        const props = engineProps(r.type === STACK_TYPE ? (opts.stackOutputs ?? r.outputs) : r.outputs);
        out.set(r.urn, { ...resourceView(r, props, byUrn), dependencies: [], propertyDependencies: {} });
    }
    for (const r of resources) {
        const pr = out.get(r.urn)!;
        if (r.parent && out.has(r.parent)) pr.parent = out.get(r.parent);
        pr.dependencies = (r.options.dependsOn ?? []).map((u) => out.get(u)).filter((x): x is PolicyResource => !!x);
        for (const [prop, urns] of Object.entries(r.propertyDependencies ?? {})) {
            pr.propertyDependencies[prop] = urns.map((u) => out.get(u)).filter((x): x is PolicyResource => !!x);
        }
    }
    return [...out.values()];
}

/** The diagnostics that fail a preview: mandatory violations. */
export function mandatory(report: PolicyReport): PolicyDiagnostic[] {
    return report.diagnostics.filter((d) => d.enforcementLevel === "mandatory");
}
