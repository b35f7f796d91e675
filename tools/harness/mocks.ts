/**
 * Realistic outputs for every resource type the program registers, computed the way the providers
 * would: random values deterministic from the resource's name and inputs (so a changed keeper gives
 * a new value, as a replacement would), ARNs and ids of the right shape, provider-declared secret
 * outputs. Invokes are a closed table: an unmocked call throws, so an unexpected lookup fails tests.
 */
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { reveal } from "./secret";

export const ACCOUNT_ID = "123456789012";

export interface MockContext {
    /** AWS region the mocked AWS provider reports. */
    region: string;
    /** The clock time.Static reads when it is created. */
    now: Date;
}

type State = Record<string, unknown>;
type Outputs = (args: pulumi.runtime.MockResourceArgs, inputs: State, ctx: MockContext) => { id?: string; state?: State };

/** Canonical JSON with sorted keys: the seed of every deterministic value. */
export function stableJson(v: unknown): string {
    if (Array.isArray(v)) return `[${v.map(stableJson).join(",")}]`;
    if (v && typeof v === "object") {
        return `{${Object.keys(v as State)
            .sort()
            .map((k) => `${JSON.stringify(k)}:${stableJson((v as State)[k])}`)
            .join(",")}}`;
    }
    return JSON.stringify(v ?? null);
}

/** `n` pseudo-random bytes, a pure function of the seed (SHA-256 in counter mode). */
export function deterministicBytes(seed: string, n: number): Buffer {
    const chunks: Buffer[] = [];
    for (let i = 0; chunks.length * 32 < n; i++) chunks.push(createHash("sha256").update(`${seed}#${i}`).digest());
    return Buffer.concat(chunks).subarray(0, n);
}

export function shortHash(s: string, n = 8): string {
    return createHash("sha256").update(s).digest("hex").slice(0, n);
}

// The character classes of terraform-provider-random's random_password (internal/random/string.go).
export const PASSWORD_CLASSES = {
    lower: "abcdefghijklmnopqrstuvwxyz",
    upper: "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    numeric: "0123456789",
    special: "!@#$%&*()-_=+[]{}<>:?",
};

/** What random_password would produce for these inputs, drawn from `seed`. */
export function mockPassword(inputs: State, seed: string): string {
    const length = Number(inputs.length);
    const on = (k: string) => inputs[k] !== false; // every class defaults to true in the provider
    const special = typeof inputs.overrideSpecial === "string" ? inputs.overrideSpecial : PASSWORD_CLASSES.special;
    const classes: [string, number][] = [];
    if (on("lower")) classes.push([PASSWORD_CLASSES.lower, Number(inputs.minLower ?? 0)]);
    if (on("upper")) classes.push([PASSWORD_CLASSES.upper, Number(inputs.minUpper ?? 0)]);
    if (on("numeric")) classes.push([PASSWORD_CLASSES.numeric, Number(inputs.minNumeric ?? 0)]);
    if (on("special") && special.length > 0) classes.push([special, Number(inputs.minSpecial ?? 0)]);
    const alphabet = classes.map(([c]) => c).join("");
    const bytes = deterministicBytes(seed, length * 2);
    const chars: string[] = [];
    let b = 0;
    for (const [cls, min] of classes) for (let i = 0; i < min; i++) chars.push(cls[bytes[b++ % bytes.length] % cls.length]);
    while (chars.length < length) chars.push(alphabet[bytes[b++ % bytes.length] % alphabet.length]);
    return chars.slice(0, length).join("");
}

function awsArn(service: string, resource: string, ctx: MockContext, regional = true): string {
    return `arn:aws:${service}:${regional ? ctx.region : ""}:${ACCOUNT_ID}:${resource}`;
}

/** Per-type outputs; a type not listed echoes its inputs, which is what most resources do. */
const outputs: Record<string, Outputs> = {
    "random:index/randomBytes:RandomBytes": (a, i) => {
        const bytes = deterministicBytes(`${a.type}|${a.name}|${stableJson(i)}`, Number(i.length));
        return { id: "none", state: { base64: bytes.toString("base64"), hex: bytes.toString("hex") } };
    },
    "random:index/randomPassword:RandomPassword": (a, i) => {
        const result = mockPassword(i, `${a.type}|${a.name}|${stableJson(i)}`);
        return { id: "none", state: { result, bcryptHash: `$2a$10$${shortHash(result, 53)}` } };
    },
    "time:index/static:Static": (a, i, ctx) => {
        const at = new Date(typeof i.rfc3339 === "string" ? i.rfc3339 : ctx.now.toISOString().replace(/\.\d{3}Z$/, "Z"));
        return {
            id: at.toISOString().replace(/\.\d{3}Z$/, "Z"),
            state: { rfc3339: at.toISOString().replace(/\.\d{3}Z$/, "Z"), unix: Math.floor(at.getTime() / 1000), year: at.getUTCFullYear() },
        };
    },
    "aws:kms/key:Key": (a, i, ctx) => {
        const keyId = [8, 4, 4, 4, 12].map((n, k) => shortHash(`${a.name}${k}`, n)).join("-");
        return { id: keyId, state: { keyId, arn: awsArn("kms", `key/${keyId}`, ctx) } };
    },
    "aws:kms/alias:Alias": (a, i, ctx) => ({ id: String(i.name), state: { arn: awsArn("kms", String(i.name), ctx) } }),
    "aws:s3/bucket:Bucket": (a, i, ctx) => {
        const bucket = String(i.bucket ?? `${a.name}-${shortHash(a.name, 7)}`);
        return {
            id: bucket,
            state: { bucket, arn: `arn:aws:s3:::${bucket}`, bucketDomainName: `${bucket}.s3.amazonaws.com`, region: ctx.region },
        };
    },
    "aws:iam/role:Role": (a, i) => {
        const name = String(i.name ?? `${a.name}-${shortHash(a.name, 7)}`);
        return { id: name, state: { name, arn: `arn:aws:iam::${ACCOUNT_ID}:role/${name}`, uniqueId: `AROA${shortHash(name, 16).toUpperCase()}` } };
    },
    "aws:iam/policy:Policy": (a, i) => {
        const name = String(i.name ?? `${a.name}-${shortHash(a.name, 7)}`);
        const arn = `arn:aws:iam::${ACCOUNT_ID}:policy/${name}`;
        return { id: arn, state: { name, arn } };
    },
    "vault:index/mount:Mount": (a, i) => ({ id: String(i.path), state: { accessor: `kv_${shortHash(String(i.path))}` } }),
    "vault:kubernetes/authBackendRole:AuthBackendRole": (a, i) => ({ id: `auth/${i.backend}/role/${i.roleName}` }),
    "vault:index/authBackend:AuthBackend": (a, i) => ({ id: String(i.path ?? i.type), state: { accessor: `auth_${shortHash(String(i.path))}` } }),
    "vault:index/policy:Policy": (a, i) => ({ id: String(i.name) }),
    "vault:kv/secretV2:SecretV2": (a, i) => ({ id: `${i.mount}/data/${i.name}`, state: { path: `${i.mount}/data/${i.name}` } }),
    "vault:index/audit:Audit": (a, i) => ({ id: String(i.path ?? i.type) }),
};

/** Kubernetes objects: metadata.name as the provider sets it (autonamed with a suffix if absent). */
function kubernetesOutputs(a: pulumi.runtime.MockResourceArgs, i: State): { id: string; state: State } {
    const metadata = { ...((i.metadata as State | undefined) ?? {}) };
    metadata.name ??= `${a.name}-${shortHash(a.name, 8)}`;
    const ns = metadata.namespace ? `${metadata.namespace}/` : "";
    return { id: `${ns}${metadata.name}`, state: { metadata } };
}

function helmReleaseOutputs(a: pulumi.runtime.MockResourceArgs, i: State): { id: string; state: State } {
    const name = String(i.name ?? `${a.name}-${shortHash(a.name, 8)}`);
    return {
        id: `${i.namespace ?? "default"}/${name}`,
        state: { name, status: { name, namespace: i.namespace, chart: i.chart, version: i.version, status: "deployed", revision: 1 } },
    };
}

/** Invokes the program may make, and what they return; anything else is an error. */
export function invokes(ctx: MockContext): Record<string, (inputs: State) => State> {
    return {
        "aws:index/getCallerIdentity:getCallerIdentity": () => ({
            accountId: ACCOUNT_ID,
            arn: `arn:aws:iam::${ACCOUNT_ID}:user/ci`,
            userId: "AIDAEXAMPLE",
            id: ACCOUNT_ID,
        }),
        "aws:index/getPartition:getPartition": () => ({ partition: "aws", dnsSuffix: "amazonaws.com", id: "aws" }),
        "aws:index/getRegion:getRegion": () => ({ name: ctx.region, region: ctx.region, id: ctx.region }),
    };
}

export function createMocks(ctx: MockContext): pulumi.runtime.Mocks {
    const table = invokes(ctx);
    return {
        newResource(args) {
            const inputs = reveal(args.inputs) as State;
            let computed: { id?: string; state?: State };
            if (outputs[args.type]) computed = outputs[args.type](args, inputs, ctx);
            else if (args.type.startsWith("kubernetes:helm.sh/v3:Release")) computed = helmReleaseOutputs(args, inputs);
            else if (args.type.startsWith("kubernetes:")) computed = kubernetesOutputs(args, inputs);
            else if (args.type.startsWith("pulumi:providers:")) computed = { id: shortHash(args.name, 32) };
            else computed = {};
            // Inputs come back as outputs, as they do from a provider; keep their secret markers.
            return { id: computed.id ?? `${args.name}-id`, state: { ...args.inputs, ...(computed.state ?? {}) } };
        },
        call(args) {
            const fn = table[args.token];
            if (!fn) throw new Error(`unmocked invoke ${args.token}: add it to tools/harness/mocks.ts if the program really needs it`);
            return fn(reveal(args.inputs) as State);
        },
    };
}
