/** @pulumi/aws: ids and ARNs of the right shape, in the account the stack's provider is allowed to use. */
import { ACCOUNT_ID, MockContext, Outputs, shortHash, State } from "./common";

/**
 * The account each run's AWS provider is pinned to (its allowedAccountIds), as a real provider only
 * ever creates resources there. Resources register after their provider, so it is known by then.
 */
const accounts = new WeakMap<MockContext, string>();

function accountOf(ctx: MockContext): string {
    return accounts.get(ctx) ?? ACCOUNT_ID;
}

function arn(service: string, resource: string, ctx: MockContext): string {
    return `arn:aws:${service}:${ctx.region}:${accountOf(ctx)}:${resource}`;
}

export const awsOutputs: Record<string, Outputs> = {
    "pulumi:providers:aws": (a, i, ctx) => {
        // Provider inputs arrive JSON-encoded, as the engine passes provider config.
        const raw = i.allowedAccountIds;
        const allowed: unknown = typeof raw === "string" ? JSON.parse(raw) : raw;
        if (Array.isArray(allowed) && allowed.length > 0) accounts.set(ctx, String(allowed[0]));
        return { id: shortHash(a.name, 32) };
    },
    "aws:kms/key:Key": (a, i, ctx) => {
        const keyId = [8, 4, 4, 4, 12].map((n, k) => shortHash(`${a.name}${k}`, n)).join("-");
        return { id: keyId, state: { keyId, arn: arn("kms", `key/${keyId}`, ctx) } };
    },
    "aws:kms/alias:Alias": (a, i, ctx) => ({ id: String(i.name), state: { arn: arn("kms", String(i.name), ctx) } }),
    "aws:s3/bucket:Bucket": (a, i, ctx) => {
        const bucket = String(i.bucket ?? `${a.name}-${shortHash(a.name, 7)}`);
        return { id: bucket, state: { bucket, arn: `arn:aws:s3:::${bucket}`, bucketDomainName: `${bucket}.s3.amazonaws.com`, region: ctx.region } };
    },
    "aws:iam/role:Role": (a, i, ctx) => {
        const name = String(i.name ?? `${a.name}-${shortHash(a.name, 7)}`);
        return { id: name, state: { name, arn: `arn:aws:iam::${accountOf(ctx)}:role/${name}`, uniqueId: `AROA${shortHash(name, 16).toUpperCase()}` } };
    },
    "aws:iam/rolePolicy:RolePolicy": (a, i) => ({ id: `${i.role}:${i.name}` }),
    "aws:iam/policy:Policy": (a, i, ctx) => {
        const name = String(i.name ?? `${a.name}-${shortHash(a.name, 7)}`);
        const policyArn = `arn:aws:iam::${accountOf(ctx)}:policy/${name}`;
        return { id: policyArn, state: { name, arn: policyArn } };
    },
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": (a, i, ctx) => {
        const associationId = `a-${shortHash(`${i.clusterName}/${i.namespace}/${i.serviceAccount}`, 17)}`;
        return {
            id: `${i.clusterName},${associationId}`,
            state: { associationId, associationArn: arn("eks", `podidentityassociation/${i.clusterName}/${associationId}`, ctx) },
        };
    },
};

/** AWS data sources the program may call. */
export function awsInvokes(ctx: MockContext): Record<string, (inputs: State) => State> {
    return {
        "aws:index/getCallerIdentity:getCallerIdentity": () => ({ accountId: accountOf(ctx), arn: `arn:aws:iam::${accountOf(ctx)}:user/ci`, userId: "AIDAEXAMPLE", id: accountOf(ctx) }),
        "aws:index/getPartition:getPartition": () => ({ partition: "aws", dnsSuffix: "amazonaws.com", id: "aws" }),
        "aws:index/getRegion:getRegion": () => ({ name: ctx.region, region: ctx.region, id: ctx.region }),
    };
}
