/**
 * AWS backups, staging stack: the shared assertions on staging's recorded run, and staging's
 * settings (protected and retained like prod, object-locked, a shorter retention, its own account),
 * shown to come from config by flipping it.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { describeBackups } from "./awsBackups";
import { protectedBackupChecks } from "./awsProtectedBackups";
import { byType } from "./support";

const STACK = "staging";

describeBackups(STACK, (current) => {
    protectedBackupChecks(STACK, current, { objectLockDays: 7, retentionDays: 14, keyDeletionWindowDays: 30 });

    it("runs in staging's own AWS account, never dev's or prod's", () => {
        const { run } = current();
        const providers = byType(run, "pulumi:providers:aws");
        assert.ok(providers.length > 0);
        for (const p of providers) assert.deepEqual(JSON.parse(String(p.inputs.allowedAccountIds)), ["777788889999"]);
        const text = JSON.stringify(run.resources.map((r) => r.inputs));
        for (const other of ["111122223333", "444455556666"]) assert.ok(!text.includes(other), other);
    });
});
