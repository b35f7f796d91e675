/**
 * Vault in staging: the shared assertions (test/vaultChecks.ts) with prod's audit device, protected
 * state and 20-version history, but on staging's own Vault, auth mount and KV path (runbook 002:
 * keys different from production, access limited to staging systems).
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { byType } from "./support";
import { describeVault, T } from "./vaultChecks";

describeVault({ stack: "staging", audit: true, protect: true, maxVersions: 20, authPath: "kubernetes-staging" }, (run) => {
    it("keeps every app's secret under its staging path, never a prod or dev one", () => {
        const paths = byType(run(), T.kvSecret).map((r) => String(r.outputs.path));
        assert.ok(paths.includes("secret/data/shared-infra/soma-memory/staging"));
        assert.ok(paths.includes("secret/data/shared-infra/nemo-server/staging"));
        // Shared copies of granted secrets live under their owner's staging path too.
        for (const p of paths) assert.match(p, /\/staging(\/shared\/[a-z0-9_]+)?$/, p);
        assert.ok(paths.includes("secret/data/shared-infra/gateway/staging/shared/supabase_anon_key"));
    });
});
