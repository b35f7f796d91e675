/** @pulumi/aws: ids and ARNs of the right shape. */
import { ACCOUNT_ID, MockContext, Outputs, shortHash, State } from "./common";

function arn(service: string, resource: string, ctx: MockContext): string {
    return `arn:aws:${service}:${ctx.region}:${ACCOUNT_ID}:${resource}`;
}

export const awsOutputs: Record<string, Outputs> = {
    "aws:kms/key:Key": (a, i, ctx) => {
        const keyId = [8, 4, 4, 4, 12].map((n, k) => shortHash(`${a.name}${k}`, n)).join("-");
        return { id: keyId, state: { keyId, arn: arn("kms", `key/${keyId}`, ctx) } };
    },
    "aws:kms/alias:Alias": (a, i, ctx) => ({ id: String(i.name), state: { arn: arn("kms", String(i.name), ctx) } }),
    "aws:s3/bucket:Bucket": (a, i, ctx) => {
        const bucket = String(i.bucket ?? `${a.name}-${shortHash(a.name, 7)}`);
        return { id: bucket, state: { bucket, arn: `arn:aws:s3:::${bucket}`, bucketDomainName: `${bucket}.s3.amazonaws.com`, region: ctx.region } };
    },
    "aws:iam/role:Role": (a, i) => {
        const name = String(i.name ?? `${a.name}-${shortHash(a.name, 7)}`);
        return { id: name, state: { name, arn: `arn:aws:iam::${ACCOUNT_ID}:role/${name}`, uniqueId: `AROA${shortHash(name, 16).toUpperCase()}` } };
    },
    "aws:iam/policy:Policy": (a, i) => {
        const name = String(i.name ?? `${a.name}-${shortHash(a.name, 7)}`);
        const policyArn = `arn:aws:iam::${ACCOUNT_ID}:policy/${name}`;
        return { id: policyArn, state: { name, arn: policyArn } };
    },
};

/** AWS data sources the program may call. */
export function awsInvokes(ctx: MockContext): Record<string, (inputs: State) => State> {
    return {
        "aws:index/getCallerIdentity:getCallerIdentity": () => ({ accountId: ACCOUNT_ID, arn: `arn:aws:iam::${ACCOUNT_ID}:user/ci`, userId: "AIDAEXAMPLE", id: ACCOUNT_ID }),
        "aws:index/getPartition:getPartition": () => ({ partition: "aws", dnsSuffix: "amazonaws.com", id: "aws" }),
        "aws:index/getRegion:getRegion": () => ({ name: ctx.region, region: ctx.region, id: ctx.region }),
    };
}
