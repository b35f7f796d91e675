/**
 * The resource type tokens the policies look at, as @pulumi/aws 7.48.0, @pulumi/vault 7.8.0,
 * @pulumi/random 4.21.2 and @pulumi/kubernetes 4.34.2 register them. Strings rather than the SDK
 * classes, so the pack loads with @pulumi/policy and @pulumi/pulumi alone (no provider SDKs);
 * test/policy.test.ts checks every token against the SDK class's `__pulumiType`.
 */
export const T = {
    stack: "pulumi:pulumi:Stack",

    bucket: "aws:s3/bucket:Bucket",
    bucketV2: "aws:s3/bucketV2:BucketV2",
    bucketSse: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    bucketSseV2: "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
    bucketVersioning: "aws:s3/bucketVersioning:BucketVersioning",
    bucketVersioningV2: "aws:s3/bucketVersioningV2:BucketVersioningV2",
    bucketPublicAccessBlock: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    bucketOwnershipControls: "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
    bucketPolicy: "aws:s3/bucketPolicy:BucketPolicy",
    bucketAcl: "aws:s3/bucketAcl:BucketAcl",
    bucketAclV2: "aws:s3/bucketAclV2:BucketAclV2",
    bucketWebsite: "aws:s3/bucketWebsiteConfiguration:BucketWebsiteConfiguration",
    bucketWebsiteV2: "aws:s3/bucketWebsiteConfigurationV2:BucketWebsiteConfigurationV2",
    iamRole: "aws:iam/role:Role",
    kmsKey: "aws:kms/key:Key",

    vaultPolicy: "vault:index/policy:Policy",
    vaultMount: "vault:index/mount:Mount",
    vaultKvSecretV2: "vault:kv/secretV2:SecretV2",
    vaultKvSecret: "vault:kv/secret:Secret",
    vaultGenericSecret: "vault:generic/secret:Secret",

    randomBytes: "random:index/randomBytes:RandomBytes",
    randomPassword: "random:index/randomPassword:RandomPassword",
} as const;

/** ExternalSecret and ClusterExternalSecret, any external-secrets.io version (k8s.apiextensions.CustomResource). */
export const EXTERNAL_SECRET_TYPE = /^kubernetes:external-secrets\.io\/[^:]+:(ExternalSecret|ClusterExternalSecret)$/;

export const BUCKET_TYPES: readonly string[] = [T.bucket, T.bucketV2];

/** Resources whose loss loses data or keys: what `protect` must cover in production. */
export const DEFAULT_STATEFUL_TYPES: readonly string[] = [
    T.bucket,
    T.bucketV2,
    T.kmsKey,
    T.vaultMount,
    T.vaultKvSecretV2,
    T.vaultKvSecret,
    T.vaultGenericSecret,
];
