/**
 * AWS backups, dev stack: the shared assertions on dev's recorded run, what dev's settings make
 * different (force-destroyable, unprotected, no object lock), the Pod Identity alternative, and
 * proof that the IAM checks catch the classic mistakes.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { assertTrustBindsExactly, describeBackups, mutate } from "./awsBackups";
import { assumeWithWebIdentity, decide, keyOf, policyOf, str, targetsOf } from "./awsSupport";
import { byType, resolvedConfig, runStack, stackConfig } from "./support";

const STACK = "dev";

describeBackups(STACK, (current) => {
    it("dev buckets are force-destroyable, unprotected and not object-locked, as Pulumi.dev.yaml says", () => {
        const { run, config } = current();
        assert.equal(config.backup!.forceDestroy, true);
        for (const t of targetsOf(run, config)) {
            assert.equal(t.bucket.inputs.forceDestroy, true);
            assert.equal(t.bucket.options.protect, undefined);
            assert.equal(t.bucket.options.retainOnDelete, undefined);
            assert.equal(t.bucket.inputs.objectLockEnabled, false);
            assert.equal(t.objectLock, undefined);
        }
        assert.equal(keyOf(run).options.protect, undefined);
        assert.equal(keyOf(run).inputs.deletionWindowInDays, 7);
    });

    it("that is config, not the stack's name: the same dev stack with forceDestroy off and protection on keeps its buckets", async () => {
        const config = stackConfig(STACK);
        config["platform-secrets:backup"].forceDestroy = false;
        config["platform-secrets:protection"] = { protectStateful: true, retainOnDelete: true };
        const run = await runStack(STACK, { config });
        const model = resolvedConfig(STACK, config);
        for (const t of targetsOf(run, model)) {
            assert.equal(t.bucket.inputs.forceDestroy, false);
            assert.equal(t.bucket.options.protect, true);
            assert.equal(t.bucket.options.retainOnDelete, true);
        }
        assert.equal(keyOf(run).options.protect, true);
    });

    it("object lock follows backup.objectLock too: enabling it in dev locks dev's buckets", async () => {
        const config = stackConfig(STACK);
        config["platform-secrets:backup"].objectLock = { enabled: true, mode: "COMPLIANCE", days: 5 };
        const run = await runStack(STACK, { config });
        for (const t of targetsOf(run, resolvedConfig(STACK, config))) {
            assert.equal(t.bucket.inputs.objectLockEnabled, true);
            assert.deepEqual(t.objectLock?.inputs.rule, { defaultRetention: { mode: "COMPLIANCE", days: 5 } });
        }
    });

    it("with aws.identity pod-identity, each role trusts the Pod Identity agent for its one ServiceAccount and has its association", async () => {
        const config = stackConfig(STACK);
        config["platform-secrets:aws"].identity = "pod-identity";
        const run = await runStack(STACK, { config });
        const model = resolvedConfig(STACK, config);
        const targets = targetsOf(run, model);
        assert.equal(byType(run, "aws:eks/podIdentityAssociation:PodIdentityAssociation").length, targets.length);
        for (const t of targets) {
            assert.equal(t.role.inputs.name, `${t.app.name}-${t.spec.target}-backup-dev`, "the role's name does not depend on the identity mode");
            await assertTrustBindsExactly(t, model);
        }
    });

    describe("the IAM checks have teeth: each classic mistake, applied to dev's real documents, flips a decision", () => {
        it("a trust policy keyed on the issuer URL (with https://) lets nobody in", async () => {
            const { run, config } = current();
            const [t] = targetsOf(run, config);
            const host = config.aws!.eks.oidcIssuerUrl.replace(/^https:\/\//, "");
            const wrong = mutate(policyOf(t.role, "assumeRolePolicy"), "BackupServiceAccountViaIrsa", (s) => {
                s.Condition.StringEquals = Object.fromEntries(Object.entries(s.Condition.StringEquals).map(([k, v]) => [k.replace(host, `https://${host}`), v]));
            });
            const token = { namespace: t.app.namespace, serviceAccount: t.spec.serviceAccount, audience: "sts.amazonaws.com" };
            assert.equal(await assumeWithWebIdentity(policyOf(t.role, "assumeRolePolicy"), str(t.role, "arn"), config, token), "Allowed");
            assert.equal(await assumeWithWebIdentity(wrong, str(t.role, "arn"), config, token), "ImplicitlyDenied");
        });

        it("a trust policy without the audience condition lets a token minted for another audience in", async () => {
            const { run, config } = current();
            const [t] = targetsOf(run, config);
            const host = config.aws!.eks.oidcIssuerUrl.replace(/^https:\/\//, "");
            const loose = mutate(policyOf(t.role, "assumeRolePolicy"), "BackupServiceAccountViaIrsa", (s) => delete s.Condition.StringEquals[`${host}:aud`]);
            const token = { namespace: t.app.namespace, serviceAccount: t.spec.serviceAccount, audience: "vault" };
            assert.equal(await assumeWithWebIdentity(loose, str(t.role, "arn"), config, token), "Allowed");
        });

        it("s3:* on the prefix would let the job delete object versions; a bucket policy without the TLS statement would allow plain HTTP", async () => {
            const { run, config } = current();
            const [t] = targetsOf(run, config);
            const own = `${str(t.bucket, "arn")}/${t.spec.prefix}dump`;
            const base = { principal: str(t.role, "arn"), accountId: config.aws!.eks.oidcProviderArn.split(":")[4], resource: own, resourcePolicy: policyOf(t.bucketPolicy) };
            const greedy = mutate(policyOf(t.access), "ReadWriteOwnPrefix", (s) => (s.Action = "s3:*"));
            assert.equal(await decide({ ...base, identity: [greedy], action: "s3:DeleteObjectVersion", context: { "aws:SecureTransport": "true" } }), "Allowed");
            const noTls = { ...policyOf(t.bucketPolicy), Statement: policyOf(t.bucketPolicy).Statement.filter((s) => s.Sid !== "DenyInsecureTransport") };
            assert.equal(await decide({ ...base, identity: [policyOf(t.access)], resourcePolicy: noTls, action: "s3:GetObject", context: { "aws:SecureTransport": "false" } }), "Allowed");
        });
    });
});
