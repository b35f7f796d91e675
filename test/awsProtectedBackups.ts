/**
 * What a stack with protection on (prod, staging) must show of its backups: every bucket part and
 * the key protected and retained, no forceDestroy, object lock and retention as its stack file says,
 * and all of it coming from config (the same stack with protection off protects nothing).
 * test/aws.<stack>.test.ts passes the figures read off its own stack file.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import type { StackRun } from "./awsBackups";
import { keyOf, targetsOf } from "./awsSupport";
import { resolvedConfig, runStack, stackConfig } from "./support";

export interface ProtectedBackupFigures {
    objectLockDays: number;
    retentionDays: number;
    keyDeletionWindowDays: number;
}

export function protectedBackupChecks(stack: string, current: () => StackRun, expected: ProtectedBackupFigures): void {
    it(`${stack} buckets (with every sub-resource) and the key are protected and retained, never force-destroyed, object-locked ${expected.objectLockDays} days, kept ${expected.retentionDays}`, () => {
        const { run, config } = current();
        for (const t of targetsOf(run, config)) {
            assert.equal(t.bucket.inputs.forceDestroy, false);
            for (const r of [t.bucket, t.publicAccessBlock, t.versioning, t.encryption, t.bucketPolicy]) {
                assert.equal(r.options.protect, true, `${r.name}.protect`);
                assert.equal(r.options.retainOnDelete, true, `${r.name}.retainOnDelete`);
            }
            assert.equal(t.bucket.inputs.objectLockEnabled, true);
            assert.deepEqual(t.objectLock?.inputs.rule, { defaultRetention: { mode: "GOVERNANCE", days: expected.objectLockDays } });
            assert.equal((t.lifecycle.inputs.rules as any[])[0].expiration.days, expected.retentionDays);
        }
        assert.equal(keyOf(run).options.protect, true);
        assert.equal(keyOf(run).options.retainOnDelete, true);
        assert.equal(keyOf(run).inputs.deletionWindowInDays, expected.keyDeletionWindowDays);
    });

    it(`that is config, not the stack's name: the same ${stack} stack with protection off and forceDestroy on protects nothing`, async () => {
        const config = stackConfig(stack);
        config["platform-secrets:protection"] = { protectStateful: false, retainOnDelete: false };
        config["platform-secrets:backup"].forceDestroy = true;
        const run = await runStack(stack, { config });
        for (const t of targetsOf(run, resolvedConfig(stack, config))) {
            assert.equal(t.bucket.inputs.forceDestroy, true);
            assert.equal(t.bucket.options.protect, undefined);
            assert.equal(t.bucket.options.retainOnDelete, undefined);
        }
        assert.equal(keyOf(run).options.protect, undefined);
        assert.equal(keyOf(run).options.retainOnDelete, undefined);
    });
}
