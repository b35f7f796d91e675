/**
 * What the AWS backup tests share: reading the recorded backup resources of a run, and evaluating
 * their IAM documents with the IAM policy simulator @cloud-copilot/iam-simulate (AGPL-3.0; a
 * devDependency used only here, never by the program).
 */
import assert from "node:assert/strict";
import { runSimulation, type Simulation } from "@cloud-copilot/iam-simulate";
import type { AppSpec, BackupSpec, PlatformConfig } from "../components/config/model";
import { one, ResourceRecord, RunResult } from "./support";

export type Decision = "Allowed" | "ExplicitlyDenied" | "ImplicitlyDenied";
export type Policy = { Version: string; Statement: Record<string, any>[] };


export interface AccountFacts {
    partition: string;
    accountId: string;
    region: string;
}

/** The account every backup resource must be in: the cluster's, from aws.eks.oidcProviderArn. */
export function accountOf(config: PlatformConfig): AccountFacts {
    const [, partition, , , accountId] = config.aws!.eks.oidcProviderArn.split(":");
    return { partition, accountId, region: config.aws!.region };
}

/** Every recorded resource of one backup target. */
export interface TargetRecords {
    app: AppSpec;
    spec: BackupSpec;
    bucket: ResourceRecord;
    publicAccessBlock: ResourceRecord;
    ownership: ResourceRecord;
    versioning: ResourceRecord;
    encryption: ResourceRecord;
    objectLock?: ResourceRecord;
    lifecycle: ResourceRecord;
    bucketPolicy: ResourceRecord;
    role: ResourceRecord;
    access: ResourceRecord;
    podIdentity?: ResourceRecord;
}

function maybeOne(run: RunResult, type: string, name: string): ResourceRecord | undefined {
    const found = run.resources.filter((r) => r.type === type && r.name === name);
    assert.ok(found.length <= 1, `more than one ${type} named ${name}`);
    return found[0];
}

/** The resources of every backup target the model declares, by their logical names. */
export function targetsOf(run: RunResult, config: PlatformConfig): TargetRecords[] {
    return config.apps.flatMap((app) =>
        app.backups.map((spec) => {
            const base = `${app.name}-${spec.target}-backup`;
            return {
                app,
                spec,
                bucket: one(run, "aws:s3/bucket:Bucket", `${base}-bucket`),
                publicAccessBlock: one(run, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", `${base}-public-access-block`),
                ownership: one(run, "aws:s3/bucketOwnershipControls:BucketOwnershipControls", `${base}-ownership`),
                versioning: one(run, "aws:s3/bucketVersioning:BucketVersioning", `${base}-versioning`),
                encryption: one(run, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", `${base}-encryption`),
                objectLock: maybeOne(run, "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration", `${base}-object-lock`),
                lifecycle: one(run, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", `${base}-lifecycle`),
                bucketPolicy: one(run, "aws:s3/bucketPolicy:BucketPolicy", `${base}-policy`),
                role: one(run, "aws:iam/role:Role", `${base}-role`),
                access: one(run, "aws:iam/rolePolicy:RolePolicy", `${base}-access`),
                podIdentity: maybeOne(run, "aws:eks/podIdentityAssociation:PodIdentityAssociation", `${base}-pod-identity`),
            };
        }),
    );
}

export const keyOf = (run: RunResult) => one(run, "aws:kms/key:Key", "backups-kms-key");

/** A policy argument as recorded (a JSON string), parsed. */
export function policyOf(record: ResourceRecord, field = "policy"): Policy {
    const raw = record.inputs[field];
    assert.equal(typeof raw, "string", `${record.name}.${field} is not a JSON string`);
    return JSON.parse(raw as string) as Policy;
}

export const str = (record: ResourceRecord, field: string): string => {
    const v = record.outputs[field] ?? record.inputs[field];
    assert.equal(typeof v, "string", `${record.name}.${field}`);
    return v as string;
};

export interface Request {
    principal: string;
    action: string;
    resource: string;
    accountId: string;
    context?: Record<string, string | string[]>;
    /** The principal's identity policies. */
    identity?: Policy[];
    /** The resource's policy (bucket policy, key policy, trust policy). */
    resourcePolicy?: Policy;
}

/**
 * Runs one request through the simulator. It fails the test rather than answer when the simulator
 * rejects a policy, or ignores a context key the request sets: a key it does not apply to the action
 * would silently make a condition evaluate on nothing, and the assertion prove nothing.
 */
export async function decide(r: Request): Promise<Decision> {
    const simulation: Simulation = {
        request: { principal: r.principal, action: r.action, resource: { resource: r.resource, accountId: r.accountId }, contextVariables: r.context ?? {} },
        identityPolicies: (r.identity ?? []).map((policy, i) => ({ name: `identity-${i}`, policy })),
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        resourcePolicy: r.resourcePolicy,
    };
    const result = await runSimulation(simulation, {});
    if (result.resultType === "error") assert.fail(`the simulator rejected ${r.action} on ${r.resource}: ${JSON.stringify(result.errors)}`);
    assert.equal(result.resultType, "single", `${r.action} on ${r.resource} did not simulate as one request`);
    if (result.resultType !== "single") throw new Error("unreachable");
    assert.deepEqual(result.result.ignoredContextKeys ?? [], [], `the simulator ignored context keys of ${r.action} on ${r.resource}`);
    return result.overallResult;
}

/**
 * A stand-in OIDC provider from the simulator's condition-key catalog. The simulator only evaluates
 * the OIDC keys of providers it catalogs (Google, Cognito, GitHub, ...), and ignores an EKS issuer's
 * `<host>/id/<id>:sub` as unknown. So the trust test renames exactly the keys of the stack's issuer
 * (`<issuer host>:sub` and `:aud`) to this provider's, which StringEquals compares the same way, in
 * the policy and the request alike. Any other key is left as it is: a policy keyed on the
 * `https://` URL or another cluster's issuer keeps a key no request carries, and is denied.
 */
const OIDC_STAND_IN = "cognito-identity.amazonaws.com";

function renameIssuerKeys<T>(value: T, issuerHost: string): T {
    const rename = (key: string) => (key === `${issuerHost}:sub` || key === `${issuerHost}:aud` ? `${OIDC_STAND_IN}:${key.slice(issuerHost.length + 1)}` : key);
    if (Array.isArray(value)) return value.map((v) => renameIssuerKeys(v, issuerHost)) as T;
    if (value && typeof value === "object") {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [rename(k), renameIssuerKeys(v, issuerHost)])) as T;
    }
    return value;
}

/** An IRSA token's claims, as STS sees them when a pod exchanges its projected token. */
export interface IrsaToken {
    namespace: string;
    serviceAccount: string;
    audience: string;
    /** The OIDC provider the token is presented through; the stack's by default. */
    provider?: string;
}

/** Whether STS lets a token with these claims assume the role under this trust policy. */
export async function assumeWithWebIdentity(trust: Policy, role: string, config: PlatformConfig, token: IrsaToken): Promise<Decision> {
    const host = config.aws!.eks.oidcIssuerUrl.replace(/^https:\/\//, "");
    const context = { [`${host}:sub`]: `system:serviceaccount:${token.namespace}:${token.serviceAccount}`, [`${host}:aud`]: token.audience };
    return decide({
        principal: token.provider ?? config.aws!.eks.oidcProviderArn,
        action: "sts:AssumeRoleWithWebIdentity",
        resource: role,
        accountId: accountOf(config).accountId,
        context: renameIssuerKeys(context, host),
        resourcePolicy: renameIssuerKeys(trust, host),
    });
}

/** The session tags EKS Pod Identity sets when it assumes a role for a pod. */
export interface PodIdentitySession {
    cluster: string;
    namespace: string;
    serviceAccount: string;
}

/** Whether the Pod Identity agent may assume the role and tag the session for this pod (both are needed). */
export async function assumeWithPodIdentity(trust: Policy, role: string, config: PlatformConfig, session: PodIdentitySession, principal = "pods.eks.amazonaws.com"): Promise<Decision[]> {
    const context = {
        "aws:RequestTag/eks-cluster-name": session.cluster,
        "aws:RequestTag/kubernetes-namespace": session.namespace,
        "aws:RequestTag/kubernetes-service-account": session.serviceAccount,
    };
    const accountId = accountOf(config).accountId;
    return Promise.all(["sts:AssumeRole", "sts:TagSession"].map((action) => decide({ principal, action, resource: role, accountId, context, resourcePolicy: trust })));
}
