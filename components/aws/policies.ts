/**
 * The IAM documents of the backup platform, as data: trust policies (IRSA, Pod Identity), the
 * backup job's permissions, the KMS key policy and the bucket policy. Pure functions, so each
 * document is written once and the components only wire them to resources.
 */
import * as pulumi from "@pulumi/pulumi";
import { AwsAccount, s3ViaService } from "./account";

type Values = pulumi.Input<string> | pulumi.Input<string>[];

export interface PolicyStatement {
    Sid: string;
    Effect: "Allow" | "Deny";
    Principal?: "*" | { AWS?: Values; Federated?: Values; Service?: Values };
    Action: string | string[];
    Resource?: Values;
    Condition?: Record<string, Record<string, Values>>;
}

export interface PolicyDocument {
    Version: "2012-10-17";
    Statement: PolicyStatement[];
}

const document = (...Statement: PolicyStatement[]): PolicyDocument => ({ Version: "2012-10-17", Statement });

/** The JSON a resource's policy argument takes, resolving any Output inside. */
export function policyJson(doc: PolicyDocument): pulumi.Output<string> {
    return pulumi.jsonStringify(doc);
}

/** The audience EKS projects into IRSA tokens, and the only one STS may accept here. */
export const IRSA_AUDIENCE = "sts.amazonaws.com";
/** The service principal of the EKS Pod Identity agent. */
export const POD_IDENTITY_PRINCIPAL = "pods.eks.amazonaws.com";

/** The ServiceAccount a Kubernetes token names in its `sub` claim. */
export function serviceAccountSubject(namespace: string, serviceAccount: string): string {
    return `system:serviceaccount:${namespace}:${serviceAccount}`;
}

/**
 * IRSA: tokens of the cluster's OIDC issuer, for exactly one ServiceAccount, minted for STS.
 * The condition keys are the issuer host without `https://`; keyed on the URL they would never
 * match, and keyed on `sub` alone any audience's token of that ServiceAccount would do.
 */
export function irsaTrustPolicy(a: { oidcProviderArn: string; issuerHost: string; namespace: string; serviceAccount: string }): PolicyDocument {
    return document({
        Sid: "BackupServiceAccountViaIrsa",
        Effect: "Allow",
        Principal: { Federated: a.oidcProviderArn },
        Action: "sts:AssumeRoleWithWebIdentity",
        Condition: {
            StringEquals: {
                [`${a.issuerHost}:sub`]: serviceAccountSubject(a.namespace, a.serviceAccount),
                [`${a.issuerHost}:aud`]: IRSA_AUDIENCE,
            },
        },
    });
}

/**
 * EKS Pod Identity: the Pod Identity agent assumes the role and tags the session. The association
 * binds the role to one ServiceAccount; the conditions on the session tags EKS sets make the trust
 * policy say so too, so another association in the account cannot reuse this role.
 */
export function podIdentityTrustPolicy(a: { clusterName: string; namespace: string; serviceAccount: string }): PolicyDocument {
    return document({
        Sid: "BackupServiceAccountViaPodIdentity",
        Effect: "Allow",
        Principal: { Service: POD_IDENTITY_PRINCIPAL },
        Action: ["sts:AssumeRole", "sts:TagSession"],
        Condition: {
            StringEquals: {
                "aws:RequestTag/eks-cluster-name": a.clusterName,
                "aws:RequestTag/kubernetes-namespace": a.namespace,
                "aws:RequestTag/kubernetes-service-account": a.serviceAccount,
            },
        },
    });
}

/** KMS calls S3 makes for SSE-KMS: a data key to write, Decrypt to read (and to complete multipart uploads). */
export const S3_KMS_ACTIONS = ["kms:GenerateDataKey", "kms:Decrypt"];

/**
 * What a backup job may do: write, read and list its own prefix of its own bucket, abort its own
 * multipart uploads, and have S3 use the backup key for it. Nothing deletes: no DeleteObject,
 * DeleteObjectVersion or DeleteBucket; lifecycle expires old backups.
 */
export function backupAccessPolicy(a: { bucketArn: pulumi.Input<string>; prefix: string; keyArn: pulumi.Input<string>; account: AwsAccount }): PolicyDocument {
    return document(
        {
            Sid: "ListOwnPrefix",
            Effect: "Allow",
            Action: "s3:ListBucket",
            Resource: a.bucketArn,
            Condition: { StringLike: { "s3:prefix": [`${a.prefix}*`] } },
        },
        {
            Sid: "ReadWriteOwnPrefix",
            Effect: "Allow",
            Action: ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"],
            Resource: pulumi.interpolate`${a.bucketArn}/${a.prefix}*`,
        },
        {
            Sid: "UseBackupKeyThroughS3",
            Effect: "Allow",
            Action: S3_KMS_ACTIONS,
            Resource: a.keyArn,
            Condition: { StringEquals: { "kms:ViaService": s3ViaService(a.account) } },
        },
    );
}

/** Everything that manages a key and nothing that encrypts or decrypts with it (AWS's "key administrators" set). */
export const KMS_ADMIN_ACTIONS = [
    "kms:Create*",
    "kms:Describe*",
    "kms:Enable*",
    "kms:List*",
    "kms:Put*",
    "kms:Update*",
    "kms:Revoke*",
    "kms:Disable*",
    "kms:Get*",
    "kms:Delete*",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
    "kms:RotateKeyOnDemand",
];

/**
 * The backup key's policy. The account administers the key (through IAM), so it can never become
 * unmanageable; data-plane use is granted to the backup roles only, and only through S3.
 *
 * The roles are named by `aws:PrincipalArn` under the account principal rather than as principals:
 * a role principal in a key policy is pinned to the role's unique id, so a re-created role would
 * silently lose the key, and KMS rejects a policy naming a role that does not exist yet. As the
 * account principal, the grant also still needs the role's own IAM policy (backupAccessPolicy).
 */
export function backupKeyPolicy(a: { account: AwsAccount; roleArns: string[] }): PolicyDocument {
    const root = `arn:${a.account.partition}:iam::${a.account.accountId}:root`;
    return document(
        { Sid: "AccountAdministersKey", Effect: "Allow", Principal: { AWS: root }, Action: KMS_ADMIN_ACTIONS, Resource: "*" },
        {
            Sid: "BackupRolesUseKeyThroughS3",
            Effect: "Allow",
            Principal: { AWS: root },
            Action: S3_KMS_ACTIONS,
            Resource: "*",
            Condition: {
                ArnEquals: { "aws:PrincipalArn": a.roleArns },
                StringEquals: { "kms:ViaService": s3ViaService(a.account), "kms:CallerAccount": a.account.accountId },
            },
        },
    );
}

/**
 * The bucket policy: nothing over plain HTTP, and nothing written under another encryption than
 * the backup key. An upload that names no encryption gets the bucket default (the backup key), and
 * multipart parts carry no encryption headers, so a header is only judged when it is there: each
 * deny pairs `Null: false` with the comparison, since a negated operator (StringNotEquals, and its
 * IfExists form too) is true for an absent key and would deny every upload without the header.
 */
export function backupBucketPolicy(a: { bucketArn: pulumi.Input<string>; keyArn: pulumi.Input<string> }): PolicyDocument {
    const objects = pulumi.interpolate`${a.bucketArn}/*`;
    const SSE = "s3:x-amz-server-side-encryption";
    const SSE_KEY = "s3:x-amz-server-side-encryption-aws-kms-key-id";
    return document(
        {
            Sid: "DenyInsecureTransport",
            Effect: "Deny",
            Principal: "*",
            Action: "s3:*",
            Resource: [a.bucketArn, objects],
            Condition: { Bool: { "aws:SecureTransport": "false" } },
        },
        {
            Sid: "DenyUploadsNotSseKms",
            Effect: "Deny",
            Principal: "*",
            Action: "s3:PutObject",
            Resource: objects,
            Condition: { Null: { [SSE]: "false" }, StringNotEquals: { [SSE]: "aws:kms" } },
        },
        {
            // The key is named by its ARN, as S3 recommends (an alias would resolve in the caller's account).
            Sid: "DenyUploadsWithAnotherKey",
            Effect: "Deny",
            Principal: "*",
            Action: "s3:PutObject",
            Resource: objects,
            Condition: { Null: { [SSE_KEY]: "false" }, StringNotEquals: { [SSE_KEY]: a.keyArn } },
        },
        {
            // aws:kms without a key id leaves the choice of key to S3 rather than to this bucket.
            Sid: "DenyUploadsSseKmsWithoutTheKey",
            Effect: "Deny",
            Principal: "*",
            Action: "s3:PutObject",
            Resource: objects,
            Condition: { StringEquals: { [SSE]: "aws:kms" }, Null: { [SSE_KEY]: "true" } },
        },
    );
}
