/**
 * AWS backups, staging stack: the shared assertions on staging's recorded run, and staging's
 * settings (protected and retained like prod, object-locked, a shorter retention, its own account),
 * shown to come from config by flipping it.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { describeBackups } from "./awsBackups";
import { keyOf, targetsOf } from "./awsSupport";
import { byType, resolvedConfig, runStack, stackConfig } from "./support";

const STACK = "staging";

describeBackups(STACK, (current) => {
    it("staging buckets (with every sub-resource) and the key are protected and retained like prod's, object-locked, with staging's shorter retention", () => {
        const { run, config } = current();
        for (const t of targetsOf(run, config)) {
            assert.equal(t.bucket.inputs.forceDestroy, false);
            for (const r of [t.bucket, t.publicAccessBlock, t.versioning, t.encryption, t.bucketPolicy]) {
                assert.equal(r.options.protect, true, `${r.name}.protect`);
                assert.equal(r.options.retainOnDelete, true, `${r.name}.retainOnDelete`);
            }
            assert.equal(t.bucket.inputs.objectLockEnabled, true);
            assert.deepEqual(t.objectLock?.inputs.rule, { defaultRetention: { mode: "GOVERNANCE", days: 7 } });
            assert.equal((t.lifecycle.inputs.rules as any[])[0].expiration.days, 14);
        }
        assert.equal(keyOf(run).options.protect, true);
        assert.equal(keyOf(run).options.retainOnDelete, true);
        assert.equal(keyOf(run).inputs.deletionWindowInDays, 30);
    });

    it("runs in staging's own AWS account, never dev's or prod's", () => {
        const { run } = current();
        const providers = byType(run, "pulumi:providers:aws");
        assert.ok(providers.length > 0);
        for (const p of providers) assert.deepEqual(JSON.parse(String(p.inputs.allowedAccountIds)), ["777788889999"]);
        const text = JSON.stringify(run.resources.map((r) => r.inputs));
        for (const other of ["111122223333", "444455556666"]) assert.ok(!text.includes(other), other);
    });

    it("that is config, not the stack's name: the same staging stack with protection off protects nothing", async () => {
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
