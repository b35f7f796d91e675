/**
 * Generated credentials: enough entropy (runbook 003: "sufficient entropy", `openssl rand -base64 32`),
 * computed from what the generator may draw, and their values never leave a secret property.
 */
import type { PolicyResource, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { forTypes } from "../lib/dispatch";
import { field, known, stringsByProperty, UNKNOWN } from "../lib/values";
import { T } from "../types";

/** random.RandomBytesArgs / random.RandomPasswordArgs / random.RandomStringArgs, the part read here. */
export interface GeneratorProps {
    length?: number;
    upper?: boolean;
    lower?: boolean;
    numeric?: boolean;
    number?: boolean;
    special?: boolean;
    overrideSpecial?: string;
}
/** random.RandomIdArgs. */
export interface RandomIdProps {
    byteLength?: number;
}

export interface LengthConfig {
    /** Minimum entropy, in bytes (8 bits each): RandomBytes.length, RandomId.byteLength, a password's or string's bits / 8. */
    minLength?: number;
}

/** The random provider's character classes (terraform-provider-random), and its default specials. */
const UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const LOWER = "abcdefghijklmnopqrstuvwxyz";
const DIGITS = "0123456789";
const DEFAULT_SPECIAL = "!@#$%&*()-_=+[]{}<>:?";

/** The distinct characters a RandomPassword or RandomString may draw from (every class on unless set false). */
export function alphabetOf(p: GeneratorProps): string {
    const chars: string[] = [];
    if (p.upper !== false) chars.push(UPPER);
    if (p.lower !== false) chars.push(LOWER);
    if (p.numeric !== false && p.number !== false) chars.push(DIGITS);
    if (p.special !== false) chars.push(typeof p.overrideSpecial === "string" ? p.overrideSpecial : DEFAULT_SPECIAL);
    return [...new Set(chars.join(""))].join("");
}

/** Bits of entropy of a generator's value (0 when it cannot be computed). */
export function entropyBits(type: string, props: GeneratorProps & RandomIdProps): number {
    if (type === T.randomId) return typeof props.byteLength === "number" && Number.isInteger(props.byteLength) ? props.byteLength * 8 : 0;
    const length = props.length;
    if (typeof length !== "number" || !Number.isInteger(length) || length <= 0) return 0;
    if (type === T.randomBytes) return length * 8;
    const size = alphabetOf(props).length;
    return size > 1 ? length * Math.log2(size) : 0;
}

/** The generator types, and the outputs of each that hold its value. */
export const GENERATORS: readonly string[] = [T.randomBytes, T.randomPassword, T.randomString, T.randomId];

export const generatedCredentialLength: ResourceValidationPolicy = {
    name: "generated-credential-length",
    description:
        "Generated credentials carry at least 128 bits of entropy (16 random bytes), computed from the length and the alphabet a generator may draw from: RandomBytes.length, RandomId.byteLength, RandomPassword and RandomString length x log2(distinct characters).",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps: "Raise `bytes` (random-bytes) or `length` (password) of the secret in the stack file's catalog, and keep at least upper, lower and digits in a password's alphabet; 32 bytes is the default for keys.",
    configSchema: {
        properties: { minLength: { type: "integer", minimum: 16, default: 16, description: "Minimum entropy in bytes (x 8 bits); never below 16." } },
    },
    validateResource: forTypes<GeneratorProps & RandomIdProps>(GENERATORS, (props, args, report) => {
        const minBits = 8 * Math.max(16, args.getConfig<LengthConfig>().minLength ?? 16);
        const bits = entropyBits(args.type, props);
        if (bits < minBits) {
            const what = args.type === T.randomId ? `byteLength ${JSON.stringify(props.byteLength)}` : args.type === T.randomBytes ? `length ${JSON.stringify(props.length)}` : `length ${JSON.stringify(props.length)} over ${alphabetOf(props).length} distinct characters`;
            report(`${what} gives ${Math.floor(bits)} bits of entropy; a generated credential needs at least ${minBits}.`);
        }
    }),
};

/** The outputs of each generator type that hold its value. */
const VALUE_OUTPUTS: Record<string, string[]> = {
    [T.randomBytes]: ["base64", "hex"],
    [T.randomPassword]: ["result"],
    [T.randomString]: ["result"],
    [T.randomId]: ["b64Std", "b64Url", "hex", "dec"],
};

/** Below this a "generated value" is too short to search for without false matches (and fails generated-credential-length anyway). */
const MIN_SEARCH_LENGTH = 12;

/** Every form a generated value travels in: as is, base64url (the catalog's encoding), percent-encoded (composed DSNs). */
export function valueForms(value: string): string[] {
    const base64url = value.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    return [...new Set([value, base64url, encodeURIComponent(value)])].filter((v) => v.length >= MIN_SEARCH_LENGTH);
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** Base64 (or base64url) text decoded as Latin-1 text, or undefined when it is not base64. */
export function decodeBase64(text: string): string | undefined {
    const clean = text.replace(/-/g, "+").replace(/_/g, "/").replace(/\s+/g, "").replace(/=+$/, "");
    if (clean.length < 4 || /[^A-Za-z0-9+/]/.test(clean) || clean.length % 4 === 1) return undefined;
    let bits = 0;
    let acc = 0;
    let out = "";
    for (const c of clean) {
        acc = (acc << 6) | B64.indexOf(c);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += String.fromCharCode((acc >> bits) & 0xff);
        }
    }
    return out;
}

/** A property value as it is, and decoded when it is base64 (a ConfigMap's binaryData, a Secret's data). */
export function readings(value: string): string[] {
    const decoded = decodeBase64(value);
    return decoded === undefined ? [value] : [value, decoded];
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
                const texts = readings(value);
                for (const { generator, forms } of generated) {
                    if (forms.some((f) => texts.some((t) => t.includes(f)))) {
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

/** kubernetes.core.v1.ConfigMapArgs, the part read here. */
export interface ConfigMapProps {
    data?: Record<string, string>;
    binaryData?: Record<string, string>;
}

/** PEM blocks that are public by design (a CA bundle is what ConfigMaps legitimately carry). */
const PUBLIC_PEM = /-----BEGIN (CERTIFICATE|PUBLIC KEY|X509 CRL|TRUSTED CERTIFICATE)-----[\s\S]*?-----END \1-----/g;
const SECRET_SHAPES: { what: string; pattern: RegExp }[] = [
    { what: "a private key", pattern: /-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----/ },
    { what: "a URL with a password in it", pattern: /[a-z][a-z0-9+.-]*:\/\/[^\s/:@]*:[^\s/@]+@/i },
    { what: "a JSON Web Token", pattern: /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/ },
    { what: "an AWS access key ID", pattern: /(?<![A-Z0-9])(AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])/ },
    { what: "a provider token", pattern: /(?<![A-Za-z0-9])(hf_[A-Za-z0-9]{20,}|gh[pousr]_[A-Za-z0-9]{30,}|xox[abprs]-[A-Za-z0-9-]{10,}|sk-[A-Za-z0-9_-]{20,})/ },
];

/** Shannon entropy in bits per character. */
function shannon(text: string): number {
    const counts = new Map<string, number>();
    for (const c of text) counts.set(c, (counts.get(c) ?? 0) + 1);
    let h = 0;
    for (const n of counts.values()) h -= (n / text.length) * Math.log2(n / text.length);
    return h;
}

/** What secret a text looks like, or undefined. A long run of random-looking characters (upper, lower and digits) counts. */
export function secretShape(text: string): string | undefined {
    const scrubbed = text.replace(PUBLIC_PEM, "");
    for (const { what, pattern } of SECRET_SHAPES) if (pattern.test(scrubbed)) return what;
    for (const run of scrubbed.match(/[A-Za-z0-9+/=_-]{24,}/g) ?? []) {
        const classes = [/[A-Z]/, /[a-z]/, /[0-9]/].filter((r) => r.test(run)).length;
        if (classes === 3 && shannon(run) >= 4.2) return "a random token";
    }
    return undefined;
}

export const configMapNoSecrets: ResourceValidationPolicy = {
    name: "configmap-no-secret-values",
    description: "ConfigMaps carry no secret-shaped value in data or binaryData (decoded): no private key, password-bearing URL, JWT, access key, provider token or random token.",
    enforcementLevel: "mandatory",
    severity: "critical",
    remediationSteps: "Put the value in Vault through the stack file's catalog; the app reads it from its ExternalSecret's target Secret.",
    validateResource: forTypes<ConfigMapProps>([T.configMap], (props, _args, report) => {
        for (const [field, entries] of [["data", props.data], ["binaryData", props.binaryData]] as const) {
            for (const [key, value] of Object.entries(entries ?? {})) {
                if (typeof value !== "string") continue;
                const text = field === "binaryData" ? decodeBase64(value) ?? "" : value;
                const shape = secretShape(text);
                if (shape) report(`${field}.${key} holds ${shape}; secrets never sit in a ConfigMap.`);
            }
        }
    }),
};
