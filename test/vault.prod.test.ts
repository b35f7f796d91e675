/**
 * Vault in prod: the shared assertions (test/vaultChecks.ts) with the audit device and protected
 * state, and runbook 001's path for soma-memory.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { byType } from "./support";
import { describeVault, T } from "./vaultChecks";

describeVault({ stack: "prod", audit: true, protect: true, maxVersions: 20, authPath: "kubernetes-prod" }, (run) => {
    it("keeps soma-memory's secret where runbook 001 reads it: secret/data/shared-infra/soma-memory/prod", () => {
        const soma = byType(run(), T.kvSecret).filter((r) => r.outputs.path === "secret/data/shared-infra/soma-memory/prod");
        assert.equal(soma.length, 1);
        assert.deepEqual([soma[0].inputs.mount, soma[0].inputs.name], ["secret", "shared-infra/soma-memory/prod"]);
    });
});
