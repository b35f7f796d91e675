/**
 * Dev's stack file asks for no TLS (security.requireTls: false, plaintext URLs): no PKI mount,
 * role, root or certificate is created, and no policy names a PKI path. What dev would need to
 * add is the same catalog entries as staging and prod (README "TLS files for an app").
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import type { PlatformConfig } from "../components/config/model";
import { byType, resolvedConfig, reveal, RunResult, runStack } from "./support";
import { PKI } from "./tlsChecks";
import { parsePolicy, T } from "./vaultChecks";

describe("TLS material in dev", () => {
    let run: RunResult;
    let config: PlatformConfig;
    before(async () => {
        config = resolvedConfig("dev");
        run = await runStack("dev");
    });

    it("has no certificate in its catalog, so nothing of Vault PKI is created", () => {
        assert.equal(config.security.requireTls, false);
        assert.deepEqual(config.apps.filter((a) => a.pki).map((a) => a.name), []);
        assert.deepEqual([...byType(run, PKI.root), ...byType(run, PKI.role), ...byType(run, PKI.cert), ...byType(run, PKI.mount).filter((m) => m.inputs.type === "pki")], []);
        assert.equal(run.resources.filter((r) => r.type === "platform-secrets:vault:VaultPki").length, 0);
        assert.deepEqual(reveal(run.outputs.tlsState), { certificates: {}, caBundles: {} });
    });

    it("no Vault policy names the PKI mount", async () => {
        for (const p of byType(run, T.policy)) {
            const rules = await parsePolicy(String(p.inputs.name), String(p.inputs.policy));
            for (const path of rules.keys()) assert.ok(!path.startsWith(`${config.vault.pki.path}/`) && path !== `sys/mounts/${config.vault.pki.path}`, `${p.inputs.name}: ${path}`);
        }
    });
});
