/**
 * S3 backup buckets: encrypted with a customer-managed KMS key, versioned, fully private and
 * TLS-only (runbooks 002 and 003: encrypted at rest, minimal access).
 *
 * In @pulumi/aws 7 a bucket's settings are separate resources (BucketServerSideEncryptionConfiguration,
 * BucketVersioning, BucketPublicAccessBlock, BucketOwnershipControls, BucketPolicy). The resource
 * policies check what each of those says; the stack policy checks that every bucket has all of
 * them, since a missing resource is invisible to a resource policy.
 */
import type { PolicyResource, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { forTypes } from "../lib/dispatch";
import { statementsOf, type Statement } from "../lib/iam";
import { accountOfPrincipal, accountsIn, ALLOW_EVERYTHING, ANONYMOUS, decide, foreignAccount, namedAwsPrincipals, providerAccounts, SimulationError, type Probe } from "../lib/simulate";
import { field, known, UNKNOWN } from "../lib/values";
import { BUCKET_TYPES, T } from "../types";

/** The aws.s3.Bucket inputs read here (the v7 inline arguments are deprecated but still accepted). */
export interface BucketProps {
    bucket?: string;
    acl?: string;
    grants?: { uri?: string; permissions?: string[]; type?: string }[];
    serverSideEncryptionConfiguration?: { rule?: SseRule };
    versioning?: { enabled?: boolean };
    website?: object;
}
interface SseRule {
    applyServerSideEncryptionByDefault?: { sseAlgorithm?: string; kmsMasterKeyId?: string };
    bucketKeyEnabled?: boolean;
}
/** aws.s3.BucketServerSideEncryptionConfigurationArgs. */
export interface BucketSseProps {
    bucket?: string;
    rules?: SseRule[];
}
/** aws.s3.BucketVersioningArgs. */
export interface BucketVersioningProps {
    bucket?: string;
    versioningConfiguration?: { status?: string };
}
/** aws.s3.BucketPublicAccessBlockArgs. */
export interface BucketPublicAccessBlockProps {
    bucket?: string;
    blockPublicAcls?: boolean;
    blockPublicPolicy?: boolean;
    ignorePublicAcls?: boolean;
    restrictPublicBuckets?: boolean;
}
/** aws.s3.BucketOwnershipControlsArgs. */
export interface BucketOwnershipControlsProps {
    bucket?: string;
    rule?: { objectOwnership?: string };
}
/** aws.s3.BucketAclArgs. */
export interface BucketAclProps {
    bucket?: string;
    acl?: string;
    accessControlPolicy?: { grants?: { grantee?: { uri?: string } }[] };
}
/** aws.s3.BucketPolicyArgs. */
export interface BucketPolicyProps {
    bucket?: string;
    policy?: unknown;
}

const KMS_ALGORITHMS = ["aws:kms", "aws:kms:dsse"];
const PUBLIC_GRANTEES = ["http://acs.amazonaws.com/groups/global/AllUsers", "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"];
const PAB_FLAGS = ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"] as const;

function sseRuleProblem(rule: SseRule | undefined): string | undefined {
    const byDefault = rule?.applyServerSideEncryptionByDefault;
    if (!byDefault) return "has no applyServerSideEncryptionByDefault";
    if (!KMS_ALGORITHMS.includes(String(byDefault.sseAlgorithm))) return `uses sseAlgorithm ${JSON.stringify(byDefault.sseAlgorithm)}, not aws:kms`;
    if (typeof byDefault.kmsMasterKeyId !== "string" || byDefault.kmsMasterKeyId === "") {
        return "uses aws:kms without kmsMasterKeyId, i.e. the AWS-managed aws/s3 key, whose key policy nobody here controls";
    }
    if (/(^|:)alias\/aws\//.test(byDefault.kmsMasterKeyId)) return `uses the AWS-managed key ${JSON.stringify(byDefault.kmsMasterKeyId)}, whose key policy nobody here controls`;
    return undefined;
}

export const s3KmsEncryption: ResourceValidationPolicy = {
    name: "s3-kms-encryption",
    description: "S3 buckets are encrypted by default with a customer-managed KMS key (sseAlgorithm aws:kms and kmsMasterKeyId).",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps: "Set rules[].applyServerSideEncryptionByDefault = { sseAlgorithm: \"aws:kms\", kmsMasterKeyId: key.arn } on the bucket's BucketServerSideEncryptionConfiguration.",
    validateResource: [
        forTypes<BucketSseProps>([T.bucketSse, T.bucketSseV2], (props, _args, report) => {
            const rules = props.rules ?? [];
            if (rules.length === 0) report("The encryption configuration has no rules.");
            rules.forEach((rule, i) => {
                const problem = sseRuleProblem(rule);
                if (problem) report(`rules[${i}] ${problem}.`);
            });
        }),
        forTypes<BucketProps>(BUCKET_TYPES, (props, _args, report) => {
            const inline = props.serverSideEncryptionConfiguration;
            if (inline === undefined) return;
            const problem = sseRuleProblem(inline.rule);
            if (problem) report(`The bucket's inline serverSideEncryptionConfiguration ${problem}.`);
        }),
    ],
};

export const s3Versioning: ResourceValidationPolicy = {
    name: "s3-versioning",
    description: "S3 buckets keep every version of an object (versioning Enabled), so an overwritten or deleted backup can be restored.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps: "Set versioningConfiguration.status = \"Enabled\" on the bucket's BucketVersioning.",
    validateResource: [
        forTypes<BucketVersioningProps>([T.bucketVersioning, T.bucketVersioningV2], (props, _args, report) => {
            const status = props.versioningConfiguration?.status;
            if (status !== "Enabled") report(`versioningConfiguration.status is ${JSON.stringify(status)}, not "Enabled".`);
        }),
        forTypes<BucketProps>(BUCKET_TYPES, (props, _args, report) => {
            if (props.versioning && props.versioning.enabled !== true) report("The bucket's inline versioning is disabled.");
        }),
    ],
};

/** Object and bucket actions an outsider must never be granted, and administrative ones nobody is granted by the bucket policy. */
const OUTSIDER_ACTIONS = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket", "s3:GetObjectVersion"];
const ADMIN_ACTIONS = [
    "s3:PutBucketPolicy",
    "s3:DeleteBucketPolicy",
    "s3:DeleteBucket",
    "s3:PutBucketAcl",
    "s3:PutObjectAcl",
    "s3:PutEncryptionConfiguration",
    "s3:PutBucketVersioning",
    "s3:PutLifecycleConfiguration",
    "s3:PutBucketObjectLockConfiguration",
    "s3:BypassGovernanceRetention",
    "s3:DeleteObjectVersion",
    "s3:PutBucketPublicAccessBlock",
];
/** What a request from the internet or another account satisfies at will (a "trivial" condition). */
const OUTSIDER_CONTEXT: Record<string, string> = { "aws:SecureTransport": "true" };
/** Context a TLS-only Deny must not depend on: a Deny narrowed by any of these lets the others through. */
const NARROWING_CONTEXTS: Record<string, string>[] = [
    {},
    { "aws:SourceIp": "203.0.113.10", "aws:SourceVpce": "vpce-0probe", "aws:SourceVpc": "vpc-0probe", "aws:PrincipalOrgID": "o-probe", "aws:UserAgent": "probe" },
];

interface BucketPolicyView {
    doc: Record<string, unknown>;
    statements: Statement[];
    bucketArn: string;
    owner: string;
    foreign: string;
    named: string[];
}

function bucketPolicyView(props: BucketPolicyProps, provider: { props?: Record<string, unknown> } | undefined): BucketPolicyView | undefined {
    const statements = statementsOf(props.policy);
    if (!statements) return undefined;
    const doc = JSON.parse(JSON.stringify({ Version: "2012-10-17", Statement: statements })) as Record<string, unknown>;
    const bucket = String(props.bucket ?? "");
    const owner = providerAccounts(provider)[0] ?? "000000000000";
    return { doc, statements, bucketArn: `arn:aws:s3:::${bucket}`, owner, foreign: foreignAccount([owner, ...accountsIn(doc)]), named: namedAwsPrincipals(statements) };
}

/** Runs probes; the ones whose decision `bad` rejects, by what they stand for. */
async function failing(probes: { what: string; probe: Probe }[], bad: (d: string) => boolean): Promise<string[]> {
    const out = new Set<string>();
    for (const { what, probe } of probes) if (bad(await decide(probe))) out.add(what);
    return [...out];
}

const summary = (items: string[]) => `${items.slice(0, 6).join("; ")}${items.length > 6 ? `; and ${items.length - 6} more` : ""}`;

/** What the bucket policy itself grants to anyone outside the account, or administratively to anyone. */
async function bucketPolicyGrants(v: BucketPolicyView): Promise<string[]> {
    const probes: { what: string; probe: Probe }[] = [];
    const object = `${v.bucketArn}/probe/object`;
    const resourceOf = (action: string) => (action === "s3:ListBucket" || action.startsWith("s3:PutBucket") || action.startsWith("s3:DeleteBucket") || action === "s3:PutEncryptionConfiguration" || action === "s3:PutLifecycleConfiguration" ? v.bucketArn : object);
    const outsiders = [ANONYMOUS, `arn:aws:iam::${v.foreign}:role/probe-role`, ...v.named.filter((p) => accountOfPrincipal(p) !== v.owner)];
    for (const principal of outsiders) {
        for (const action of [...OUTSIDER_ACTIONS, ...ADMIN_ACTIONS]) {
            const who = principal === ANONYMOUS ? "anyone (anonymous)" : principal;
            probes.push({
                what: `${who} may ${action}`,
                probe: { principal, action, resource: resourceOf(action), accountId: v.owner, context: OUTSIDER_CONTEXT, identity: principal === ANONYMOUS ? [] : [ALLOW_EVERYTHING], resourcePolicy: v.doc },
            });
        }
    }
    // Inside the account, the bucket policy alone (no identity policy) grants nothing administrative.
    for (const principal of [`arn:aws:iam::${v.owner}:role/probe-role`, ...v.named.filter((p) => accountOfPrincipal(p) === v.owner)]) {
        for (const action of ADMIN_ACTIONS) {
            probes.push({ what: `${principal} may ${action} through the bucket policy alone`, probe: { principal, action, resource: resourceOf(action), accountId: v.owner, context: OUTSIDER_CONTEXT, resourcePolicy: v.doc } });
        }
    }
    return failing(probes, (d) => d === "Allowed");
}

/** Requests without TLS that the bucket policy does not explicitly deny. */
async function plaintextGaps(v: BucketPolicyView): Promise<string[]> {
    const probes: { what: string; probe: Probe }[] = [];
    const principals = [ANONYMOUS, `arn:aws:iam::${v.owner}:role/probe-role`, `arn:aws:iam::${v.owner}:user/probe-user`, `arn:aws:iam::${v.foreign}:role/probe-role`, ...v.named];
    const requests: [string, string][] = [
        ["s3:GetObject", `${v.bucketArn}/probe/object`],
        ["s3:PutObject", `${v.bucketArn}/any-key`],
        ["s3:DeleteObject", `${v.bucketArn}/probe/object`],
        ["s3:ListBucket", v.bucketArn],
        ["s3:PutBucketPolicy", v.bucketArn],
    ];
    for (const principal of principals) {
        for (const [action, resource] of requests) {
            for (const extra of NARROWING_CONTEXTS) {
                const who = principal === ANONYMOUS ? "anyone" : principal;
                probes.push({
                    what: `${action} on ${resource === v.bucketArn ? "the bucket" : "its objects"} by ${who}${Object.keys(extra).length ? " (from another network or organization)" : ""}`,
                    probe: { principal, action, resource, accountId: v.owner, context: { ...extra, "aws:SecureTransport": "false" }, identity: principal === ANONYMOUS ? [] : [ALLOW_EVERYTHING], resourcePolicy: v.doc },
                });
            }
        }
    }
    return failing(probes, (d) => d !== "ExplicitlyDenied");
}

export const s3Private: ResourceValidationPolicy = {
    name: "s3-private",
    description: "S3 buckets are fully private: all four public access blocks on, ACLs disabled (BucketOwnerEnforced), no public ACL, grant, policy statement or website.",
    enforcementLevel: "mandatory",
    severity: "critical",
    remediationSteps: "Give the bucket a BucketPublicAccessBlock with all four flags true and BucketOwnershipControls with objectOwnership BucketOwnerEnforced; remove public ACLs, grants, Allow-to-\"*\" statements and website configuration.",
    validateResource: [
        forTypes<BucketPublicAccessBlockProps>([T.bucketPublicAccessBlock], (props, _args, report) => {
            const off = PAB_FLAGS.filter((flag) => props[flag] !== true);
            if (off.length > 0) report(`${off.join(", ")} must be true.`);
        }),
        forTypes<BucketOwnershipControlsProps>([T.bucketOwnershipControls], (props, _args, report) => {
            const ownership = props.rule?.objectOwnership;
            if (ownership !== "BucketOwnerEnforced") report(`rule.objectOwnership is ${JSON.stringify(ownership)}; BucketOwnerEnforced disables ACLs entirely.`);
        }),
        forTypes<BucketAclProps>([T.bucketAcl, T.bucketAclV2], (props, _args, report) => {
            if (props.acl !== undefined && props.acl !== "private") report(`The bucket ACL is ${JSON.stringify(props.acl)}.`);
            const grants = props.accessControlPolicy?.grants ?? [];
            if (grants.some((g) => PUBLIC_GRANTEES.includes(String(g.grantee?.uri)))) report("The bucket ACL grants access to AllUsers or AuthenticatedUsers.");
        }),
        forTypes<BucketProps>(BUCKET_TYPES, (props, _args, report) => {
            if (props.acl !== undefined && props.acl !== "private") report(`The bucket's inline acl is ${JSON.stringify(props.acl)}.`);
            if ((props.grants ?? []).some((g) => PUBLIC_GRANTEES.includes(String(g.uri)))) report("The bucket's inline grants include AllUsers or AuthenticatedUsers.");
            if (props.website !== undefined) report("The bucket has an inline website configuration.");
        }),
        forTypes<Record<string, unknown>>([T.bucketWebsite, T.bucketWebsiteV2], (_props, _args, report) => {
            report("A backup bucket must not serve a website.");
        }),
        forTypes<BucketPolicyProps>([T.bucketPolicy], async (props, args, report) => {
            const view = bucketPolicyView(props, args.provider);
            if (!view) return; // s3-tls-only reports an unreadable policy
            try {
                const grants = await bucketPolicyGrants(view);
                if (grants.length > 0) report(`The bucket policy grants what it must not (IAM policy simulator): ${summary(grants)}.`);
            } catch (e) {
                if (e instanceof SimulationError) return report(`The bucket policy cannot be evaluated, so it cannot be trusted: ${e.message}.`);
                throw e;
            }
        }),
    ],
};

export const s3TlsOnly: ResourceValidationPolicy = {
    name: "s3-tls-only",
    description: "S3 bucket policies deny every request made without TLS: the IAM policy simulator shows a request with aws:SecureTransport false explicitly denied on the bucket and its objects, for every principal, whatever else the request carries.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps: "Add to the BucketPolicy: { Effect: \"Deny\", Principal: \"*\", Action: \"s3:*\", Resource: [bucket.arn, `${bucket.arn}/*`], Condition: { Bool: { \"aws:SecureTransport\": \"false\" } } }.",
    validateResource: forTypes<BucketPolicyProps>([T.bucketPolicy], async (props, args, report) => {
        const view = bucketPolicyView(props, args.provider);
        if (!view) return report("The bucket policy is not a readable policy document.");
        try {
            const gaps = await plaintextGaps(view);
            if (gaps.length > 0) report(`Requests without TLS are not explicitly denied (IAM policy simulator): ${summary(gaps)}.`);
        } catch (e) {
            if (e instanceof SimulationError) return report(`The bucket policy cannot be evaluated, so it cannot be trusted: ${e.message}.`);
            throw e;
        }
    }),
};

/** The companion resources every bucket needs, by control. */
const CONTROLS: { control: string; types: string[] }[] = [
    { control: "default encryption (BucketServerSideEncryptionConfiguration)", types: [T.bucketSse, T.bucketSseV2] },
    { control: "versioning (BucketVersioning)", types: [T.bucketVersioning, T.bucketVersioningV2] },
    { control: "public access block (BucketPublicAccessBlock)", types: [T.bucketPublicAccessBlock] },
    { control: "ownership controls (BucketOwnershipControls)", types: [T.bucketOwnershipControls] },
    { control: "TLS-only bucket policy (BucketPolicy)", types: [T.bucketPolicy] },
];

/**
 * The bucket a companion configures: through the engine's property dependencies (known even in a
 * preview of a new bucket), else by the bucket name the companion's `bucket` input holds.
 */
export function bucketOf(companion: PolicyResource, buckets: PolicyResource[]): PolicyResource | undefined {
    const deps = companion.propertyDependencies?.bucket ?? [];
    const byDependency = buckets.find((b) => deps.some((d) => d.urn === b.urn));
    if (byDependency) return byDependency;
    const name = known(() => field(companion.props, "bucket"));
    if (typeof name !== "string") return undefined;
    return buckets.find((b) => {
        const bucketName = known(() => field(b.props, "bucket"));
        const id = known(() => field(b.props, "id"));
        return (bucketName !== UNKNOWN && bucketName === name) || (id !== UNKNOWN && id === name);
    });
}

export const s3BucketControlsPresent: StackValidationPolicy = {
    name: "s3-bucket-controls-present",
    description: "Every S3 bucket has its encryption, versioning, public access block, ownership controls and bucket policy resources.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps: "Create the missing resource with `bucket: bucket.id` next to the bucket (components/aws).",
    validateStack: (args, report) => {
        const buckets = args.resources.filter((r) => BUCKET_TYPES.includes(r.type));
        if (buckets.length === 0) return args.notApplicable("the stack has no S3 buckets");
        for (const { control, types } of CONTROLS) {
            const configured = new Set(
                args.resources
                    .filter((r) => types.includes(r.type))
                    .map((r) => bucketOf(r, buckets)?.urn)
                    .filter((u): u is string => !!u),
            );
            for (const b of buckets) if (!configured.has(b.urn)) report(`Bucket ${b.name} has no ${control}.`, b.urn);
        }
    },
};

export interface StackKeyConfig {
    /** KMS key ARNs (or alias ARNs) managed elsewhere that this stack may encrypt buckets with. */
    allowedKeyArns?: string[];
}

/** What identifies a stack's KMS key in kmsMasterKeyId: its ARN and ID, its aliases' names and ARNs. */
function stackKeyIds(resources: PolicyResource[]): { ids: Set<string>; urns: Set<string> } {
    const ids = new Set<string>();
    const urns = new Set<string>();
    for (const r of resources) {
        if (r.type !== T.kmsKey && r.type !== T.kmsAlias) continue;
        urns.add(r.urn);
        for (const f of ["arn", "id", "keyId", "name"]) {
            const v = known(() => field(r.props, f));
            if (typeof v === "string" && v !== "") ids.add(v);
        }
    }
    return { ids, urns };
}

export const s3KmsStackKey: StackValidationPolicy = {
    name: "s3-kms-stack-key",
    description:
        "Buckets are encrypted with the stack's own KMS key (a kms.Key or kms.Alias of this stack, or a key the stack's policy config names in allowedKeyArns): not the AWS-managed aws/s3 key, not a key of another account or another stack.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps: "kmsMasterKeyId: the backup key's ARN (components/aws BackupKey); list a key managed elsewhere in s3-kms-stack-key.allowedKeyArns.",
    configSchema: {
        properties: { allowedKeyArns: { type: "array", items: { type: "string" }, default: [], description: "KMS key or alias ARNs managed outside this stack that buckets may use." } },
    },
    validateStack: (args, report) => {
        const configs = args.resources.filter((r) => r.type === T.bucketSse || r.type === T.bucketSseV2 || BUCKET_TYPES.includes(r.type));
        if (configs.length === 0) return args.notApplicable("the stack has no S3 buckets");
        const { ids, urns } = stackKeyIds(args.resources);
        for (const a of args.getConfig<StackKeyConfig>().allowedKeyArns ?? []) ids.add(a);
        const linkedToStackKey = (r: PolicyResource) => Object.values(r.propertyDependencies ?? {}).some((deps) => deps.some((d) => urns.has(d.urn)));
        for (const r of configs) {
            const bucketLevel = BUCKET_TYPES.includes(r.type);
            const rules = bucketLevel ? [known(() => field(field(r.props, "serverSideEncryptionConfiguration"), "rule"))] : (known(() => field(r.props, "rules")) as unknown);
            if (rules === UNKNOWN) continue;
            for (const rule of Array.isArray(rules) ? rules : []) {
                if (rule === UNKNOWN || rule === undefined) continue;
                const algorithm = known(() => field(field(rule, "applyServerSideEncryptionByDefault"), "sseAlgorithm"));
                if (algorithm !== UNKNOWN && !KMS_ALGORITHMS.includes(String(algorithm))) continue; // s3-kms-encryption reports a non-KMS algorithm
                const key = known(() => field(field(rule, "applyServerSideEncryptionByDefault"), "kmsMasterKeyId"));
                if (key === UNKNOWN) {
                    if (!linkedToStackKey(r)) report(`${r.name}: the encryption key is not known yet and does not come from a KMS key of this stack.`, r.urn);
                    continue;
                }
                if (typeof key !== "string" || key === "") {
                    report(`${r.name} encrypts without naming a key: the AWS-managed aws/s3 key, not the stack's.`, r.urn);
                } else if (!ids.has(key)) {
                    const account = /^arn:aws[a-z-]*:kms:[^:]*:([0-9]{12}):/.exec(key)?.[1];
                    report(`${r.name} encrypts with ${/alias\/aws\//.test(key) ? "the AWS-managed key" : account ? `a key of account ${account} that is not this stack's` : "a key that is not this stack's"} (${key}).`, r.urn);
                }
            }
        }
    },
};
