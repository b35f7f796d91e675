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
import { conditionEntries, grantsAction, isWildcardPrincipal, statementsOf, strings, type Statement } from "../lib/iam";
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

/** Problems with a bucket policy's Allow statements for everyone. */
function publicAllowStatements(statements: Statement[]): string[] {
    return statements
        .filter((s) => s.Effect === "Allow" && isWildcardPrincipal(s.Principal) && conditionEntries(s).length === 0)
        .map((s, i) => `statement ${s.Sid ?? i} allows everyone (Principal "*") without a condition`);
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
        forTypes<BucketPolicyProps>([T.bucketPolicy], (props, _args, report) => {
            const statements = statementsOf(props.policy);
            if (!statements) return; // s3-tls-only reports an unreadable policy
            for (const problem of publicAllowStatements(statements)) report(`The bucket policy's ${problem}.`);
        }),
    ],
};

/** Whether the statement denies every non-TLS request to the bucket and its objects. */
function isTlsDeny(s: Statement): boolean {
    if (s.Effect !== "Deny" || !isWildcardPrincipal(s.Principal) || !grantsAction(s, "s3:*")) return false;
    const resources = strings(s.Resource);
    const coversObjects = resources.some((r) => r.endsWith("/*") || r === "*");
    const coversBucket = resources.some((r) => r === "*" || (r.startsWith("arn:") && !r.slice(r.indexOf(":::") + 3).includes("/")));
    const insecure = conditionEntries(s).some(
        (c) => c.operator.toLowerCase() === "bool" && c.key === "aws:securetransport" && c.values.length > 0 && c.values.every((v) => String(v).toLowerCase() === "false"),
    );
    return coversObjects && coversBucket && insecure;
}

export const s3TlsOnly: ResourceValidationPolicy = {
    name: "s3-tls-only",
    description: "S3 bucket policies deny every request made without TLS (Deny s3:* to \"*\" on the bucket and its objects when aws:SecureTransport is false).",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps: "Add to the BucketPolicy: { Effect: \"Deny\", Principal: \"*\", Action: \"s3:*\", Resource: [bucket.arn, `${bucket.arn}/*`], Condition: { Bool: { \"aws:SecureTransport\": \"false\" } } }.",
    validateResource: forTypes<BucketPolicyProps>([T.bucketPolicy], (props, _args, report) => {
        const statements = statementsOf(props.policy);
        if (!statements) return report("The bucket policy is not a readable policy document.");
        if (!statements.some(isTlsDeny)) report("No statement denies s3:* on the bucket and bucket/* when aws:SecureTransport is false.");
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
