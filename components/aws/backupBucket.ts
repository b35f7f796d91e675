import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { BackupSettings, PlatformConfig } from "../config/model";
import { backupBucketPolicy, policyJson } from "./policies";
import { statefulOptions } from "../config/stateful";

export interface BackupBucketArgs {
    /** The stack's AWS provider. */
    readonly provider: aws.Provider;
    /** The bucket's (global) name, AppSpec.backups[].bucketName. */
    readonly bucketName: string;
    /** ARN of the backup key: the bucket's default encryption, and the only key uploads may name. */
    readonly keyArn: pulumi.Input<string>;
    /** backup.*: retention, noncurrent versions, object lock, forceDestroy. */
    readonly settings: Pick<BackupSettings, "retentionDays" | "noncurrentVersionDays" | "objectLock" | "forceDestroy">;
    /** protection.*: buckets are stateful. */
    readonly protection: PlatformConfig["protection"];
    readonly tags?: Record<string, string>;
}

/** Days after which an unfinished multipart upload is aborted: longer than any backup run, short enough not to pay for abandoned parts. */
const ABORT_INCOMPLETE_UPLOADS_DAYS = 3;

/**
 * One private, versioned, SSE-KMS encrypted backup bucket: owner-enforced, every public access
 * blocked, TLS and the backup key required by policy, backups expired after the retention period,
 * and (where the stack enables it) object lock against deletion and overwrite.
 */
export class BackupBucket extends pulumi.ComponentResource {
    readonly bucket: aws.s3.Bucket;
    readonly arn: pulumi.Output<string>;
    readonly bucketName: pulumi.Output<string>;

    constructor(name: string, args: BackupBucketArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform-secrets:aws:BackupBucket", name, {}, opts);
        const { provider, settings } = args;
        // The bucket name (S3's rules, unique across the catalog), noncurrent versions within
        // retention and object lock within retention are config rules, checked before anything registers.

        // Stateful: every resource below guards the backups. protect makes `pulumi destroy` stop before
        // touching any of them; retainOnDelete keeps them all, not only the bucket: deleting a
        // sub-resource of a retained bucket would remove its public access block, suspend its versioning
        // or reset its encryption while the bucket and its backups stay.
        const stateful = { parent: this, provider, ...statefulOptions(args.protection) };

        this.bucket = new aws.s3.Bucket(
            `${name}-bucket`,
            {
                bucket: args.bucketName,
                // Only a stack that allows it (dev) can destroy a bucket that still holds backups.
                forceDestroy: settings.forceDestroy,
                // Object lock can only be switched on when the bucket is created: flipping it later
                // replaces the bucket, which protect stops where the stack holds backups that matter.
                objectLockEnabled: settings.objectLock.enabled,
                tags: args.tags,
            },
            stateful,
        );
        const bucket = this.bucket.id;

        // S3 applies one configuration change at a time per bucket: two PUTs of bucket sub-resources
        // racing on a fresh bucket fail with 409 OperationAborted ("A conflicting conditional operation
        // is currently in progress"). So the sub-resources form one chain, each depending on the one
        // before, in an order where every step finds what it needs already in place.

        // 1. Public access block first: from the start, nothing can make this bucket public, and the
        //    bucket policy put at the end is checked against blockPublicPolicy.
        const publicAccessBlock = new aws.s3.BucketPublicAccessBlock(
            `${name}-public-access-block`,
            { bucket, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
            stateful,
        );
        // 2. Ownership: ACLs off, the account owns every object, before any object can arrive.
        const ownership = new aws.s3.BucketOwnershipControls(
            `${name}-ownership`,
            { bucket, rule: { objectOwnership: "BucketOwnerEnforced" } },
            { ...stateful, dependsOn: [publicAccessBlock] },
        );
        // 3. Versioning: object lock and noncurrent-version lifecycle rules both need it enabled first.
        const versioning = new aws.s3.BucketVersioning(
            `${name}-versioning`,
            { bucket, versioningConfiguration: { status: "Enabled" } },
            { ...stateful, dependsOn: [ownership] },
        );
        // 4. Default encryption with the backup key (and a bucket key, so S3 asks KMS for a data key
        //    per bucket rather than per object): in place before the policy enforces it.
        const encryption = new aws.s3.BucketServerSideEncryptionConfiguration(
            `${name}-encryption`,
            { bucket, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: args.keyArn }, bucketKeyEnabled: true }] },
            { ...stateful, dependsOn: [versioning] },
        );
        // 5. Object lock's default retention, where the stack enables it: after versioning, which it requires.
        let previous: pulumi.Resource = encryption;
        if (settings.objectLock.enabled) {
            previous = new aws.s3.BucketObjectLockConfiguration(
                `${name}-object-lock`,
                {
                    bucket,
                    objectLockEnabled: "Enabled",
                    rule: { defaultRetention: { mode: settings.objectLock.mode, days: settings.objectLock.days } },
                },
                { ...stateful, dependsOn: [previous] },
            );
        }
        // 6. Lifecycle: after versioning, so its noncurrent-version rule applies to a versioned bucket.
        const lifecycle = new aws.s3.BucketLifecycleConfiguration(
            `${name}-lifecycle`,
            {
                bucket,
                rules: [
                    {
                        id: "expire-backups",
                        status: "Enabled",
                        filter: {},
                        expiration: { days: settings.retentionDays },
                        noncurrentVersionExpiration: { noncurrentDays: settings.noncurrentVersionDays },
                        abortIncompleteMultipartUpload: { daysAfterInitiation: ABORT_INCOMPLETE_UPLOADS_DAYS },
                    },
                ],
            },
            { ...stateful, dependsOn: [previous] },
        );
        // 7. The policy last: it enforces TLS and the key once everything it relies on is configured.
        new aws.s3.BucketPolicy(
            `${name}-policy`,
            { bucket, policy: policyJson(backupBucketPolicy({ bucketArn: this.bucket.arn, keyArn: args.keyArn })) },
            { ...stateful, dependsOn: [lifecycle] },
        );

        this.arn = this.bucket.arn;
        this.bucketName = this.bucket.bucket;
        this.registerOutputs({ bucketName: this.bucketName, arn: this.arn });
    }
}
