/**
 * Generated credentials: long enough (runbook 003: "sufficient entropy", `openssl rand -base64 32`),
 * and their values never leave a secret property.
 */
import type { PolicyResource, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { forTypes } from "../lib/dispatch";
import { field, known, stringsByProperty, UNKNOWN } from "../lib/values";
import { T } from "../types";

/** random.RandomBytesArgs / random.RandomPasswordArgs, the part read here. */
export interface GeneratorProps {
    length?: number;
}

export interface LengthConfig {
    /** Minimum RandomBytes.length (bytes) and RandomPassword.length (characters). */
    minLength?: number;
}

export const generatedCredentialLength: ResourceValidationPolicy = {
    name: "generated-credential-length",
    description: "Generated credentials have at least 16 bytes (RandomBytes.length) or 16 characters (RandomPassword.length).",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps: "Raise `bytes` (random-bytes) or `length` (password) of the secret in the stack file's catalog to 16 or more; 32 is the default for keys.",
    configSchema: {
        properties: { minLength: { type: "integer", minimum: 16, default: 16, description: "Minimum length; never below 16." } },
    },
    validateResource: forTypes<GeneratorProps>([T.randomBytes, T.randomPassword], (props, args, report) => {
        const min = Math.max(16, args.getConfig<LengthConfig>().minLength ?? 16);
        const length = props.length;
        if (typeof length !== "number" || !Number.isInteger(length) || length < min) {
            report(`length is ${JSON.stringify(length)}; a generated credential needs at least ${min}.`);
        }
    }),
};

/** The outputs of each generator type that hold its value. */
const VALUE_OUTPUTS: Record<string, string[]> = {
    [T.randomBytes]: ["base64", "hex"],
    [T.randomPassword]: ["result"],
};

/** Below this a "generated value" is too short to search for without false matches (and fails generated-credential-length anyway). */
const MIN_SEARCH_LENGTH = 12;

/** Every form a generated value travels in: as is, base64url (the catalog's encoding), percent-encoded (composed DSNs). */
export function valueForms(value: string): string[] {
    const base64url = value.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    return [...new Set([value, base64url, encodeURIComponent(value)])].filter((v) => v.length >= MIN_SEARCH_LENGTH);
}

/** The generated values of the stack, by generator; values unknown in a preview are left out. */
function generatedValues(resources: PolicyResource[]): { generator: PolicyResource; forms: string[] }[] {
    const out: { generator: PolicyResource; forms: string[] }[] = [];
    for (const r of resources) {
        for (const output of VALUE_OUTPUTS[r.type] ?? []) {
            const v = known(() => field(r.props, output));
            if (v !== UNKNOWN && typeof v === "string") out.push({ generator: r, forms: valueForms(v) });
        }
    }
    return out;
}

export const generatedValuesSecretOnly: StackValidationPolicy = {
    name: "generated-values-secret-only",
    description: "A generated credential's value appears only in properties its resource marks secret (additionalSecretOutputs, which the SDKs set for every provider-secret property), never in stack outputs or component outputs.",
    enforcementLevel: "mandatory",
    severity: "critical",
    remediationSteps: "Pass the value only to a secret property (Vault KV data_json, a Kubernetes Secret's data); if a resource must hold it elsewhere, add that property to the resource's additionalSecretOutputs. Never export it.",
    validateStack: (args, report) => {
        const generated = generatedValues(args.resources);
        const generators = args.resources.filter((r) => r.type in VALUE_OUTPUTS);
        if (generators.length === 0) return args.notApplicable("the stack generates no credentials");
        for (const r of args.resources) {
            if (r.type in VALUE_OUTPUTS) continue;
            // The analyzer receives values with their secret marks removed, so the only proof a
            // property is secret is the resource declaring it so. Stack and component outputs
            // declare nothing: a value there is a leak whether or not it was wrapped in secret().
            const secretProperties = new Set(r.opts.additionalSecretOutputs ?? []);
            const leaks = new Map<string, Set<string>>();
            for (const { property, value } of stringsByProperty(r.props)) {
                if (secretProperties.has(property)) continue;
                for (const { generator, forms } of generated) {
                    if (forms.some((f) => value.includes(f))) {
                        if (!leaks.has(property)) leaks.set(property, new Set());
                        leaks.get(property)!.add(generator.name);
                    }
                }
            }
            for (const [property, from] of leaks) {
                report(`${r.type} ${r.name}: property "${property}" holds the value of ${[...from].sort().join(", ")} and is not a secret property.`, r.urn);
            }
        }
    },
};
