/**
 * AWS backups, prod stack: the shared assertions on prod's recorded run, and what prod's settings
 * make different (protected and retained buckets and key, no forceDestroy, object lock), shown to
 * come from config by flipping it.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { describeBackups } from "./awsBackups";
import { keyOf, targetsOf } from "./awsSupport";
import { resolvedConfig, runStack, stackConfig } from "./support";

const STACK = "prod";

describeBackups(STACK, (current) => {
    it("prod buckets (with every sub-resource) and the key are protected and retained, never force-destroyed, and object-locked", () => {
        const { run, config } = current();
        for (const t of targetsOf(run, config)) {
            assert.equal(t.bucket.inputs.forceDestroy, false);
            for (const r of [t.bucket, t.publicAccessBlock, t.versioning, t.encryption, t.bucketPolicy]) {
                assert.equal(r.options.protect, true, `${r.name}.protect`);
                assert.equal(r.options.retainOnDelete, true, `${r.name}.retainOnDelete`);
            }
            assert.equal(t.bucket.inputs.objectLockEnabled, true);
            assert.deepEqual(t.objectLock?.inputs.rule, { defaultRetention: { mode: "GOVERNANCE", days: 14 } });
            assert.equal((t.lifecycle.inputs.rules as any[])[0].expiration.days, 35);
        }
        assert.equal(keyOf(run).options.protect, true);
        assert.equal(keyOf(run).options.retainOnDelete, true);
        assert.equal(keyOf(run).inputs.deletionWindowInDays, 30);
    });

    it("that is config, not the stack's name: the same prod stack with protection off and forceDestroy on protects nothing", async () => {
        const config = stackConfig(STACK);
        config["platform-secrets:protection"] = { protectStateful: false, retainOnDelete: false };
        config["platform-secrets:backup"].forceDestroy = true;
        const run = await runStack(STACK, { config });
        for (const t of targetsOf(run, resolvedConfig(STACK, config))) {
            assert.equal(t.bucket.inputs.forceDestroy, true);
            assert.equal(t.bucket.options.protect, undefined);
            assert.equal(t.bucket.options.retainOnDelete, undefined);
        }
        assert.equal(keyOf(run).options.protect, undefined);
        assert.equal(keyOf(run).options.retainOnDelete, undefined);
    });
});
