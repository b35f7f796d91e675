/**
 * The AWS account a stack provisions into, read off stack config: no invoke, so a preview needs no
 * credentials to know it, and the offline plan and tests see the same account the real run uses.
 */
import type { AwsSettings } from "../config/model";

export interface AwsAccount {
    /** aws, aws-cn, aws-us-gov. */
    readonly partition: string;
    readonly accountId: string;
    readonly region: string;
    /** amazonaws.com (amazonaws.com.cn in China): the suffix of service endpoints such as kms:ViaService. */
    readonly dnsSuffix: string;
}

/**
 * The stack's account: the one its cluster's IAM OIDC provider lives in. IRSA only works with a
 * provider in the role's own account, so this is also the account every backup role is in.
 */
export function stackAccount(config: { aws: AwsSettings }): AwsAccount {
    const match = /^arn:(aws[a-z-]*):iam::([0-9]{12}):oidc-provider\//.exec(config.aws.eks.oidcProviderArn);
    if (!match) throw new Error(`aws.eks.oidcProviderArn ${config.aws.eks.oidcProviderArn} is not an IAM OIDC provider ARN`);
    const partition = match[1];
    return { partition, accountId: match[2], region: config.aws.region, dnsSuffix: partition === "aws-cn" ? "amazonaws.com.cn" : "amazonaws.com" };
}

/** The issuer as IAM condition keys name it: without `https://` (the most common IRSA mistake) and without a trailing slash. */
export function issuerHost(oidcIssuerUrl: string): string {
    return oidcIssuerUrl.replace(/^https:\/\//, "").replace(/\/+$/, "");
}

/** An IAM role's ARN from its name: roles with a fixed name have a predictable ARN. */
export function roleArn(account: AwsAccount, roleName: string): string {
    return `arn:${account.partition}:iam::${account.accountId}:role/${roleName}`;
}

/** The endpoint S3 calls KMS from on the caller's behalf (the value of kms:ViaService). */
export function s3ViaService(account: AwsAccount): string {
    return `s3.${account.region}.${account.dnsSuffix}`;
}
