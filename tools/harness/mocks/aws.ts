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

/**
 * An EKS cluster as DescribeCluster reports it: endpoint `https://<32 hex>.gr7.<region>.eks.amazonaws.com`,
 * the OIDC issuer with the same id, and a CA in `certificateAuthorities[0].data` (base64 of a PEM) that
 * is PEM-shaped but obviously fake: its body decodes to text, not to a certificate.
 */
export function mockEksCluster(name: string, region: string, account: string): State & { endpoint: string; caPem: string } {
    const id = shortHash(`eks/${region}/${name}`, 32).toUpperCase();
    const body = Buffer.from(`MOCK EKS CLUSTER CA OF ${name} - NOT A CERTIFICATE - `.repeat(4)).toString("base64");
    const caPem = `-----BEGIN CERTIFICATE-----\n${body.match(/.{1,64}/g)!.join("\n")}\n-----END CERTIFICATE-----\n`;
    return {
        id: name,
        name,
        arn: `arn:aws:eks:${region}:${account}:cluster/${name}`,
        endpoint: `https://${id}.gr7.${region}.eks.amazonaws.com`,
        caPem,
        certificateAuthorities: [{ data: Buffer.from(caPem, "utf8").toString("base64") }],
        identities: [{ oidcs: [{ issuer: `https://oidc.eks.${region}.amazonaws.com/id/${id}` }] }],
        status: "ACTIVE",
        version: "1.33",
        platformVersion: "eks.9",
        roleArn: `arn:aws:iam::${account}:role/${name}-cluster`,
        createdAt: "2026-01-05T10:00:00Z",
        accessConfigs: [{ authenticationMode: "API", bootstrapClusterCreatorAdminPermissions: false }],
        kubernetesNetworkConfigs: [{ ipFamily: "ipv4", serviceIpv4Cidr: "172.20.0.0/16", serviceIpv6Cidr: "", elasticLoadBalancings: [{ enabled: false }] }],
        vpcConfigs: [{ endpointPrivateAccess: true, endpointPublicAccess: false, publicAccessCidrs: [], clusterSecurityGroupId: `sg-${shortHash(name, 17)}`, securityGroupIds: [], subnetIds: [], vpcId: `vpc-${shortHash(name, 17)}` }],
        tags: {},
    };
}

/** AWS data sources the program may call. */
export function awsInvokes(ctx: MockContext): Record<string, (inputs: State) => State> {
    return {
        "aws:eks/getCluster:getCluster": (inputs) => {
            const name = String(inputs.name);
            const { caPem: _pem, ...described } = mockEksCluster(name, String(inputs.region ?? ctx.region), accountOf(ctx));
            return described;
        },
        "aws:index/getCallerIdentity:getCallerIdentity": () => ({ accountId: accountOf(ctx), arn: `arn:aws:iam::${accountOf(ctx)}:user/ci`, userId: "AIDAEXAMPLE", id: accountOf(ctx) }),
        "aws:index/getPartition:getPartition": () => ({ partition: "aws", dnsSuffix: "amazonaws.com", id: "aws" }),
        "aws:index/getRegion:getRegion": () => ({ name: ctx.region, region: ctx.region, id: ctx.region }),
    };
}
