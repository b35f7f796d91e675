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
    bucketLifecycle: "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    bucketLifecycleV2: "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2",
    bucketObjectLock: "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
    bucketObjectLockV2: "aws:s3/bucketObjectLockConfigurationV2:BucketObjectLockConfigurationV2",
    iamRole: "aws:iam/role:Role",
    kmsKey: "aws:kms/key:Key",
    kmsAlias: "aws:kms/alias:Alias",

    vaultPolicy: "vault:index/policy:Policy",
    vaultMount: "vault:index/mount:Mount",
    vaultKvSecretV2: "vault:kv/secretV2:SecretV2",
    vaultDatabaseConnection: "vault:database/secretBackendConnection:SecretBackendConnection",
    vaultKvSecret: "vault:kv/secret:Secret",
    vaultGenericSecret: "vault:generic/secret:Secret",
    vaultAudit: "vault:index/audit:Audit",
    vaultAuthBackend: "vault:index/authBackend:AuthBackend",
    vaultKubernetesAuthRole: "vault:kubernetes/authBackendRole:AuthBackendRole",
    vaultPkiRole: "vault:pkiSecret/secretBackendRole:SecretBackendRole",
    vaultPkiCert: "vault:pkiSecret/secretBackendCert:SecretBackendCert",
    vaultPkiRootCert: "vault:pkiSecret/secretBackendRootCert:SecretBackendRootCert",

    randomBytes: "random:index/randomBytes:RandomBytes",
    randomPassword: "random:index/randomPassword:RandomPassword",
    randomString: "random:index/randomString:RandomString",
    randomId: "random:index/randomId:RandomId",

    configMap: "kubernetes:core/v1:ConfigMap",
    helmRelease: "kubernetes:helm.sh/v3:Release",
    helmChartV4: "kubernetes:helm.sh/v4:Chart",
} as const;

/** SecretStore and ClusterSecretStore, any external-secrets.io version. */
export const SECRET_STORE_TYPE = /^kubernetes:external-secrets\.io\/[^:]+:(SecretStore|ClusterSecretStore)$/;

/** ExternalSecret and ClusterExternalSecret, any external-secrets.io version (k8s.apiextensions.CustomResource). */
export const EXTERNAL_SECRET_TYPE = /^kubernetes:external-secrets\.io\/[^:]+:(ExternalSecret|ClusterExternalSecret)$/;

export const BUCKET_TYPES: readonly string[] = [T.bucket, T.bucketV2];

/** The resources that configure a bucket's data protection: deleting one strips the bucket of it. */
export const BUCKET_SUBRESOURCE_TYPES: readonly string[] = [
    T.bucketSse,
    T.bucketSseV2,
    T.bucketVersioning,
    T.bucketVersioningV2,
    T.bucketPublicAccessBlock,
    T.bucketOwnershipControls,
    T.bucketPolicy,
    T.bucketAcl,
    T.bucketAclV2,
    T.bucketLifecycle,
    T.bucketLifecycleV2,
    T.bucketObjectLock,
    T.bucketObjectLockV2,
];

/**
 * Resources that hold or guard data or keys: what `protect` must cover in production. A bucket and
 * every resource configuring it, the KMS key and its alias, Vault mounts and KV data, the audit device.
 */
export const DEFAULT_STATEFUL_TYPES: readonly string[] = [
    T.bucket,
    T.bucketV2,
    ...BUCKET_SUBRESOURCE_TYPES,
    T.kmsKey,
    T.kmsAlias,
    T.vaultMount,
    T.vaultKvSecretV2,
    T.vaultKvSecret,
    T.vaultGenericSecret,
    T.vaultAudit,
    T.vaultPkiRootCert,
];
