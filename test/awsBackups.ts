/**
 * The AWS backup assertions every stack must pass, registered by test/aws.<stack>.test.ts against
 * that stack's own recorded run. Expected values come from the stack's config, never from the
 * stack's name.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import type { PlatformConfig } from "../components/config/model";
import {
    accountOf,
    assumeWithPodIdentity,
    assumeWithWebIdentity,
    decide,
    keyOf,
    Policy,
    policyOf,
    str,
    TargetRecords,
    targetsOf,
} from "./awsSupport";
import { byType, plaintextStrings, programResources, resolvedConfig, RunResult, runStack, stackConfig } from "./support";

export interface StackRun {
    run: RunResult;
    config: PlatformConfig;
}

const TLS = { "aws:SecureTransport": "true" };

/** The S3 request context of a backup job: over TLS, as the role's principal. */
function s3Request(t: TargetRecords, config: PlatformConfig) {
    const { accountId } = accountOf(config);
    const principal = str(t.role, "arn");
    return { principal, accountId, identity: [policyOf(t.access)], resourcePolicy: policyOf(t.bucketPolicy) };
}

/**
 * The backup suite of one stack: runs the stack once with its own stack file in before(), then the
 * shared tests and the file's stack-specific ones against that run.
 */
export function describeBackups(stack: string, stackSpecific: (current: () => StackRun) => void): void {
    describe(`AWS backups (${stack})`, () => {
        let recorded: StackRun;
        before(async () => {
            const config = stackConfig(stack);
            recorded = { run: await runStack(stack, { config }), config: resolvedConfig(stack, config) };
        });
        const current = () => recorded;
        sharedBackupTests(current);
        stackSpecific(current);
    });
}

/** Registers the shared backup tests; `current()` returns the run the suite's before() recorded. */
function sharedBackupTests(current: () => StackRun): void {
    it("declares backups for soma-memory's postgres and qdrant (runbook 001 §3.6), and for no other app", () => {
        const { run, config } = current();
        const targets = targetsOf(run, config);
        assert.deepEqual(
            targets.map((t) => `${t.app.name}/${t.spec.target}`),
            ["soma-memory/postgres", "soma-memory/qdrant"],
        );
        assert.equal(byType(run, "aws:s3/bucket:Bucket").length, targets.length, "a bucket that no backup target declares");
        assert.equal(byType(run, "aws:iam/role:Role").length, targets.length, "a role that no backup target declares");
    });

    it("names each role for the Kubernetes side: logical <app>-<target>-backup-role, physical <app>-<target>-backup-<env>, ARN in the cluster's account", () => {
        const { run, config } = current();
        const { accountId, partition } = accountOf(config);
        for (const t of targetsOf(run, config)) {
            assert.equal(t.role.name, `${t.app.name}-${t.spec.target}-backup-role`);
            assert.equal(t.role.inputs.name, `${t.app.name}-${t.spec.target}-backup-${config.environment}`);
            assert.equal(str(t.role, "arn"), `arn:${partition}:iam::${accountId}:role/${t.app.name}-${t.spec.target}-backup-${config.environment}`);
            assert.equal(t.bucket.inputs.bucket, `${config.backup!.bucketPrefix}-${t.app.name}-${t.spec.target}-${config.environment}`);
        }
    });

    it("exports backups per app and target, exactly the contract's fields, none of them secret", () => {
        const { run, config } = current();
        const expected: Record<string, Record<string, unknown>> = {};
        for (const t of targetsOf(run, config)) {
            expected[t.app.name] ??= {};
            expected[t.app.name][t.spec.target] = {
                bucketName: str(t.bucket, "bucket"),
                bucketArn: str(t.bucket, "arn"),
                roleArn: str(t.role, "arn"),
                serviceAccount: t.spec.serviceAccount,
                namespace: t.app.namespace,
                prefix: t.spec.prefix,
            };
        }
        assert.deepEqual(run.outputs.backups, expected);
        // Every leaf is a plain string: a SecretValue box would hide it from plaintextStrings.
        assert.equal(plaintextStrings(run.outputs.backups).length, Object.values(expected).flatMap((a) => Object.values(a)).length * 6);
        assert.equal(run.outputs.backupKeyArn, str(keyOf(run), "arn"));
    });

    it("gives every AWS resource the stack's AWS provider, pinned to the cluster's account", () => {
        const { run, config } = current();
        const provider = run.resources.find((r) => r.type === "pulumi:providers:aws")!;
        assert.deepEqual(JSON.parse(provider.inputs.allowedAccountIds as string), [accountOf(config).accountId]);
        const awsResources = programResources(run).filter((r) => r.type.startsWith("aws:"));
        assert.ok(awsResources.length > 0);
        for (const r of awsResources) assert.ok(r.provider?.startsWith(`${provider.urn}::`), `${r.name} does not use the stack's AWS provider`);
    });

    it("creates no long-lived AWS credentials: no IAM user, no access key, no managed policy", () => {
        const { run } = current();
        for (const type of ["aws:iam/user:User", "aws:iam/accessKey:AccessKey", "aws:iam/policy:Policy", "aws:iam/rolePolicyAttachment:RolePolicyAttachment"]) {
            assert.deepEqual(byType(run, type).map((r) => r.name), [], type);
        }
    });

    it("encrypts every bucket by default with the backup key (SSE-KMS) and a bucket key", () => {
        const { run, config } = current();
        const keyArn = str(keyOf(run), "arn");
        for (const t of targetsOf(run, config)) {
            assert.deepEqual(t.encryption.inputs.rules, [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: keyArn }, bucketKeyEnabled: true }]);
            assert.equal(t.encryption.inputs.bucket, str(t.bucket, "bucket"));
        }
    });

    it("versions every bucket, blocks all four kinds of public access, and enforces bucket-owner ownership (no ACLs)", () => {
        const { run, config } = current();
        for (const t of targetsOf(run, config)) {
            assert.deepEqual(t.versioning.inputs.versioningConfiguration, { status: "Enabled" });
            const pab = t.publicAccessBlock.inputs;
            for (const flag of ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"]) assert.equal(pab[flag], true, `${t.bucket.name}: ${flag}`);
            assert.deepEqual(t.ownership.inputs.rule, { objectOwnership: "BucketOwnerEnforced" });
        }
    });

    it("expires backups after backup.retentionDays and noncurrent versions after backup.noncurrentVersionDays", () => {
        const { run, config } = current();
        for (const t of targetsOf(run, config)) {
            const rules = t.lifecycle.inputs.rules as Record<string, any>[];
            assert.equal(rules.length, 1);
            assert.equal(rules[0].status, "Enabled");
            assert.deepEqual(rules[0].filter, {}, "the rule covers the whole bucket");
            assert.equal(rules[0].expiration.days, config.backup!.retentionDays);
            assert.equal(rules[0].noncurrentVersionExpiration.noncurrentDays, config.backup!.noncurrentVersionDays);
            assert.ok(rules[0].abortIncompleteMultipartUpload.daysAfterInitiation >= 1);
        }
    });

    it("configures each bucket one sub-resource at a time, in the order S3 needs (dependsOn chain)", () => {
        const { run, config } = current();
        for (const t of targetsOf(run, config)) {
            const chain = [t.publicAccessBlock, t.ownership, t.versioning, t.encryption, ...(t.objectLock ? [t.objectLock] : []), t.lifecycle, t.bucketPolicy];
            assert.equal(chain[0].options.dependsOn, undefined);
            for (let i = 1; i < chain.length; i++) assert.deepEqual(chain[i].options.dependsOn, [chain[i - 1].urn], `${chain[i].name} must wait for ${chain[i - 1].name}`);
            for (const r of chain) assert.equal(r.parent, t.bucket.parent, `${r.name} belongs to the bucket's component`);
        }
    });

    it("object-locks buckets exactly when backup.objectLock.enabled says so, with its mode and days", () => {
        const { run, config } = current();
        const lock = config.backup!.objectLock;
        for (const t of targetsOf(run, config)) {
            assert.equal(t.bucket.inputs.objectLockEnabled, lock.enabled);
            if (lock.enabled) {
                assert.ok(t.objectLock, `${t.bucket.name} has no object lock configuration`);
                assert.equal(t.objectLock.inputs.objectLockEnabled, "Enabled");
                assert.deepEqual(t.objectLock.inputs.rule, { defaultRetention: { mode: lock.mode, days: lock.days } });
            } else {
                assert.equal(t.objectLock, undefined);
            }
        }
    });

    it("takes forceDestroy and protection of buckets and the key from config", () => {
        const { run, config } = current();
        const protect = config.protection.protectStateful || undefined;
        const retain = config.protection.retainOnDelete || undefined;
        for (const t of targetsOf(run, config)) {
            assert.equal(t.bucket.inputs.forceDestroy, config.backup!.forceDestroy);
            for (const r of [t.bucket, t.publicAccessBlock, t.ownership, t.versioning, t.encryption, t.lifecycle, t.bucketPolicy, ...(t.objectLock ? [t.objectLock] : [])]) {
                assert.equal(r.options.protect, protect, `${r.name}.protect`);
                assert.equal(r.options.retainOnDelete, retain, `${r.name}.retainOnDelete`);
            }
        }
        assert.equal(keyOf(run).options.protect, protect);
        assert.equal(keyOf(run).options.retainOnDelete, retain);
    });

    it("rotates the backup key automatically, aliases it, and waits backup.kmsDeletionWindowDays before deleting it", () => {
        const { run, config } = current();
        const key = keyOf(run);
        assert.equal(key.inputs.enableKeyRotation, true);
        assert.equal(key.inputs.deletionWindowInDays, config.backup!.kmsDeletionWindowDays);
        const [alias] = byType(run, "aws:kms/alias:Alias");
        assert.equal(alias.inputs.name, `alias/${config.backup!.bucketPrefix}-backups-${config.environment}`);
        assert.equal(alias.inputs.targetKeyId, str(key, "keyId"));
        assert.equal(byType(run, "aws:kms/key:Key").length, 1, "one backup key per stack");
    });

    it("lets a backup role put, get, list and abort uploads under its own prefix only (IAM simulator)", async () => {
        const { run, config } = current();
        for (const t of targetsOf(run, config)) {
            const bucketArn = str(t.bucket, "arn");
            const req = s3Request(t, config);
            const own = `${bucketArn}/${t.spec.prefix}2026-11-22/dump.sql.gz`;
            for (const action of ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"]) {
                assert.equal(await decide({ ...req, action, resource: own, context: TLS }), "Allowed", `${t.role.name}: ${action} on its own prefix`);
            }
            assert.equal(await decide({ ...req, action: "s3:ListBucket", resource: bucketArn, context: { ...TLS, "s3:prefix": t.spec.prefix } }), "Allowed");
            // Outside its prefix, or listing the whole bucket: nothing.
            const elsewhere = `${bucketArn}/elsewhere/${t.spec.prefix}dump.sql.gz`;
            assert.equal(await decide({ ...req, action: "s3:GetObject", resource: elsewhere, context: TLS }), "ImplicitlyDenied");
            assert.equal(await decide({ ...req, action: "s3:PutObject", resource: elsewhere, context: TLS }), "ImplicitlyDenied");
            assert.equal(await decide({ ...req, action: "s3:ListBucket", resource: bucketArn, context: { ...TLS, "s3:prefix": "" } }), "ImplicitlyDenied");
        }
    });

    it("denies a backup role another target's bucket and another app's bucket (IAM simulator)", async () => {
        const { run, config } = current();
        const targets = targetsOf(run, config);
        const { accountId } = accountOf(config);
        for (const t of targets) {
            const req = s3Request(t, config);
            for (const other of targets.filter((o) => o !== t)) {
                const theirs = `${str(other.bucket, "arn")}/${other.spec.prefix}dump`;
                const resourcePolicy = policyOf(other.bucketPolicy);
                assert.equal(await decide({ ...req, resourcePolicy, action: "s3:GetObject", resource: theirs, context: TLS }), "ImplicitlyDenied", `${t.role.name} reads ${other.bucket.name}`);
                assert.equal(await decide({ ...req, resourcePolicy, action: "s3:PutObject", resource: theirs, context: TLS }), "ImplicitlyDenied");
                // Even under its own prefix name in the other bucket.
                assert.equal(await decide({ ...req, resourcePolicy, action: "s3:GetObject", resource: `${str(other.bucket, "arn")}/${t.spec.prefix}dump`, context: TLS }), "ImplicitlyDenied");
            }
            const anotherApp = `arn:aws:s3:::${config.backup!.bucketPrefix}-nemo-server-postgres-${config.environment}`;
            assert.equal(await decide({ ...req, resourcePolicy: undefined, action: "s3:GetObject", resource: `${anotherApp}/${t.spec.prefix}dump`, accountId, context: TLS }), "ImplicitlyDenied");
            assert.equal(await decide({ ...req, resourcePolicy: undefined, action: "s3:ListBucket", resource: anotherApp, accountId, context: { ...TLS, "s3:prefix": t.spec.prefix } }), "ImplicitlyDenied");
        }
    });

    it("never lets a backup role delete: no object versions, no objects, no bucket, no bucket policy change (IAM simulator)", async () => {
        const { run, config } = current();
        for (const t of targetsOf(run, config)) {
            const bucketArn = str(t.bucket, "arn");
            const req = s3Request(t, config);
            const own = `${bucketArn}/${t.spec.prefix}dump`;
            assert.equal(await decide({ ...req, action: "s3:DeleteObjectVersion", resource: own, context: TLS }), "ImplicitlyDenied");
            assert.equal(await decide({ ...req, action: "s3:DeleteObject", resource: own, context: TLS }), "ImplicitlyDenied");
            assert.equal(await decide({ ...req, action: "s3:PutObjectRetention", resource: own, context: TLS }), "ImplicitlyDenied");
            for (const action of ["s3:DeleteBucket", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy", "s3:PutLifecycleConfiguration", "s3:PutBucketVersioning"]) {
                assert.equal(await decide({ ...req, action, resource: bucketArn, context: TLS }), "ImplicitlyDenied", `${t.role.name}: ${action}`);
            }
        }
    });

    it("denies any request without TLS, even the bucket's own role's (IAM simulator)", async () => {
        const { run, config } = current();
        for (const t of targetsOf(run, config)) {
            const bucketArn = str(t.bucket, "arn");
            const req = s3Request(t, config);
            const plain = { "aws:SecureTransport": "false" };
            assert.equal(await decide({ ...req, action: "s3:GetObject", resource: `${bucketArn}/${t.spec.prefix}dump`, context: plain }), "ExplicitlyDenied");
            assert.equal(await decide({ ...req, action: "s3:PutObject", resource: `${bucketArn}/${t.spec.prefix}dump`, context: plain }), "ExplicitlyDenied");
            assert.equal(await decide({ ...req, action: "s3:ListBucket", resource: bucketArn, context: { ...plain, "s3:prefix": t.spec.prefix } }), "ExplicitlyDenied");
        }
    });

    it("denies uploads under any other encryption than the backup key; the bucket default or the key named are fine (IAM simulator)", async () => {
        const { run, config } = current();
        const keyArn = str(keyOf(run), "arn");
        const otherKey = keyArn.replace(/key\/.*$/, "key/00000000-0000-0000-0000-000000000000");
        for (const t of targetsOf(run, config)) {
            const req = { ...s3Request(t, config), action: "s3:PutObject", resource: `${str(t.bucket, "arn")}/${t.spec.prefix}dump` };
            const sse = "s3:x-amz-server-side-encryption";
            const kid = "s3:x-amz-server-side-encryption-aws-kms-key-id";
            assert.equal(await decide({ ...req, context: TLS }), "Allowed", "no header: the bucket default (the backup key) applies");
            assert.equal(await decide({ ...req, context: { ...TLS, [sse]: "aws:kms", [kid]: keyArn } }), "Allowed");
            assert.equal(await decide({ ...req, context: { ...TLS, [sse]: "aws:kms", [kid]: otherKey } }), "ExplicitlyDenied");
            assert.equal(await decide({ ...req, context: { ...TLS, [sse]: "AES256" } }), "ExplicitlyDenied");
            assert.equal(await decide({ ...req, context: { ...TLS, [sse]: "aws:kms" } }), "ExplicitlyDenied", "aws:kms without naming the backup key");
        }
    });

    it("lets the backup roles use the key only through S3, and the account only administer it (IAM simulator)", async () => {
        const { run, config } = current();
        const { accountId, region } = accountOf(config);
        const key = keyOf(run);
        const keyArn = str(key, "arn");
        const keyPolicy = policyOf(key);
        const viaS3 = { "kms:ViaService": `s3.${region}.amazonaws.com`, "kms:CallerAccount": accountId };
        for (const t of targetsOf(run, config)) {
            const role = str(t.role, "arn");
            const req = { principal: role, accountId, resource: keyArn, identity: [policyOf(t.access)], resourcePolicy: keyPolicy };
            for (const action of ["kms:GenerateDataKey", "kms:Decrypt"]) {
                assert.equal(await decide({ ...req, action, context: { ...viaS3, "aws:PrincipalArn": role } }), "Allowed", `${t.role.name}: ${action} through S3`);
                // Directly, or through another service: no.
                assert.equal(await decide({ ...req, action, context: { "kms:CallerAccount": accountId, "aws:PrincipalArn": role } }), "ImplicitlyDenied");
                assert.equal(await decide({ ...req, action, context: { ...viaS3, "kms:ViaService": `secretsmanager.${region}.amazonaws.com`, "aws:PrincipalArn": role } }), "ImplicitlyDenied");
            }
            assert.equal(await decide({ ...req, action: "kms:ScheduleKeyDeletion", context: { "aws:PrincipalArn": role } }), "ImplicitlyDenied");
        }
        // An account administrator with kms:* in IAM manages the key but cannot decrypt backups with it.
        const admin = `arn:aws:iam::${accountId}:role/platform-admin`;
        const adminReq = { principal: admin, accountId, resource: keyArn, resourcePolicy: keyPolicy, identity: [{ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "kms:*", Resource: "*" }] }] };
        assert.equal(await decide({ ...adminReq, action: "kms:PutKeyPolicy", context: { "aws:PrincipalArn": admin } }), "Allowed");
        assert.equal(await decide({ ...adminReq, action: "kms:ScheduleKeyDeletion", context: { "aws:PrincipalArn": admin } }), "Allowed");
        assert.equal(await decide({ ...adminReq, action: "kms:Decrypt", context: { ...viaS3, "aws:PrincipalArn": admin } }), "ImplicitlyDenied");
        // The key policy names exactly the recorded roles.
        const statement = keyPolicy.Statement.find((s) => s.Sid === "BackupRolesUseKeyThroughS3")!;
        assert.deepEqual(statement.Condition.ArnEquals["aws:PrincipalArn"], targetsOf(run, config).map((t) => str(t.role, "arn")));
    });

    it("under the configured identity, lets exactly the bound ServiceAccount assume its role (IAM simulator)", async () => {
        const { run, config } = current();
        for (const t of targetsOf(run, config)) await assertTrustBindsExactly(t, config);
    });
}

/** The trust policy admits the bound ServiceAccount and nobody near it, for IRSA or Pod Identity. */
export async function assertTrustBindsExactly(t: TargetRecords, config: PlatformConfig): Promise<void> {
    const trust = policyOf(t.role, "assumeRolePolicy");
    const role = str(t.role, "arn");
    const ns = t.app.namespace;
    const sa = t.spec.serviceAccount;
    const token = { namespace: ns, serviceAccount: sa, audience: "sts.amazonaws.com" };
    const session = { cluster: config.aws!.eks.clusterName, namespace: ns, serviceAccount: sa };
    const denied = ["ImplicitlyDenied", "ImplicitlyDenied"];
    if (config.aws!.identity === "irsa") {
        assert.equal(await assumeWithWebIdentity(trust, role, config, token), "Allowed", `${sa} cannot assume ${role}`);
        assert.equal(await assumeWithWebIdentity(trust, role, config, { ...token, serviceAccount: `${sa}-other` }), "ImplicitlyDenied", "another ServiceAccount");
        assert.equal(await assumeWithWebIdentity(trust, role, config, { ...token, serviceAccount: "default" }), "ImplicitlyDenied", "the namespace's default ServiceAccount");
        assert.equal(await assumeWithWebIdentity(trust, role, config, { ...token, namespace: `${ns}-other` }), "ImplicitlyDenied", "another namespace");
        assert.equal(await assumeWithWebIdentity(trust, role, config, { ...token, audience: "vault" }), "ImplicitlyDenied", "another audience");
        const otherCluster = config.aws!.eks.oidcProviderArn.replace(/\/id\/.*$/, "/id/0THERC1USTER");
        assert.equal(await assumeWithWebIdentity(trust, role, config, { ...token, provider: otherCluster }), "ImplicitlyDenied", "another cluster's issuer");
        assert.deepEqual(await assumeWithPodIdentity(trust, role, config, session), denied, "IRSA roles do not trust Pod Identity");
        assert.equal(t.podIdentity, undefined, "no Pod Identity association under IRSA");
    } else {
        assert.deepEqual(await assumeWithPodIdentity(trust, role, config, session), ["Allowed", "Allowed"], `${sa} cannot assume ${role}`);
        assert.deepEqual(await assumeWithPodIdentity(trust, role, config, { ...session, serviceAccount: `${sa}-other` }), denied, "another ServiceAccount");
        assert.deepEqual(await assumeWithPodIdentity(trust, role, config, { ...session, namespace: `${ns}-other` }), denied, "another namespace");
        assert.deepEqual(await assumeWithPodIdentity(trust, role, config, { ...session, cluster: "another-cluster" }), denied, "another cluster");
        assert.deepEqual(await assumeWithPodIdentity(trust, role, config, session, "ec2.amazonaws.com"), denied, "another service");
        assert.equal(await assumeWithWebIdentity(trust, role, config, token), "ImplicitlyDenied", "Pod Identity roles do not trust IRSA tokens");
        assert.ok(t.podIdentity, `no Pod Identity association for ${sa}`);
        assert.deepEqual(
            { clusterName: t.podIdentity.inputs.clusterName, namespace: t.podIdentity.inputs.namespace, serviceAccount: t.podIdentity.inputs.serviceAccount, roleArn: t.podIdentity.inputs.roleArn, disableSessionTags: t.podIdentity.inputs.disableSessionTags },
            { clusterName: config.aws!.eks.clusterName, namespace: ns, serviceAccount: sa, roleArn: role, disableSessionTags: false },
        );
    }
}

/** A copy of a policy with one statement's field replaced: what a plausible mistake would look like. */
export function mutate(policy: Policy, sid: string, edit: (statement: Record<string, any>) => void): Policy {
    const copy = structuredClone(policy);
    const statement = copy.Statement.find((s) => s.Sid === sid);
    assert.ok(statement, `no statement ${sid}`);
    edit(statement);
    return copy;
}
