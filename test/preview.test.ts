/**
 * What a pull request's `pulumi preview` of a rotation shows, as the providers plan it (the harness's
 * preview mode, tools/harness/mocks/vault.ts): the KV secret's data changes, but its `metadata` (the
 * version, computed-only in terraform-provider-vault v5.8.0) keeps its prior value, so the
 * ExternalSecret's force-sync does not change in the preview. It changes in the `up`, after the write.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import { refreshKvSecretV2 } from "../tools/harness/mocks/vault";
import { projectName, repoRoot } from "../tools/harness/stackConfig";
import { reveal, runStack, RunResult, stackConfig } from "./support";

const ES = "kubernetes:external-secrets.io/v1:ExternalSecret";
const KV = "vault:kv/secretV2:SecretV2";
const forceSync = (r: RunResult, app: string) =>
    (r.resources.find((x) => x.type === ES && x.name.includes(app))!.inputs.metadata as { annotations: Record<string, string> }).annotations["force-sync"];
const kvData = (r: RunResult, app: string) => JSON.stringify(reveal(r.resources.find((x) => x.type === KV && String(x.inputs.name).includes(app))!.inputs.dataJson));

describe("a rotation's pull request preview, then its up (dev)", () => {
    let deployed: RunResult;
    let preview: RunResult;
    let up: RunResult;
    before(async () => {
        deployed = await runStack("dev");
        const config = stackConfig("dev");
        const rotation = (config[`${projectName}:rotation`] ??= {});
        rotation.generations = { ...rotation.generations, "nemo-server/session_key": (rotation.generations?.["nemo-server/session_key"] ?? 0) + 1 };
        preview = await runStack("dev", { config, preview: true });
        up = await runStack("dev", { config });
    });

    it("the preview shows the KV data changing but not the ExternalSecret's force-sync", () => {
        assert.notEqual(kvData(preview, "nemo-server"), kvData(deployed, "nemo-server"), "the KV secret's update is in the preview");
        assert.equal(forceSync(preview, "nemo-server"), forceSync(deployed, "nemo-server"), "a preview plans the old KV version: force-sync unchanged");
    });

    it("the up changes force-sync once Vault reports the new version", () => {
        assert.notEqual(forceSync(up, "nemo-server"), forceSync(deployed, "nemo-server"));
        assert.equal(forceSync(up, "soma-memory"), forceSync(deployed, "soma-memory"));
    });

    it("no doc tells a reviewer the preview shows the force-sync change", () => {
        const docs = ["README.md", "docs/guardrails.md", "docs/kubernetes.md", "docs/vault.md"].map((f) => [f, readFileSync(path.join(repoRoot, f), "utf8")] as const);
        for (const [file, text] of docs) {
            for (const paragraph of text.split(/\n\s*\n/)) {
                if (!/preview/i.test(paragraph) || !/force-sync/.test(paragraph)) continue;
                // Comment markers and line breaks removed, so a claim split over lines is still caught.
                const flat = paragraph.replace(/^\s*#\s?/gm, "").replace(/\s+/g, " ");
                assert.doesNotMatch(flat, /ExternalSecret (`)?force-sync(`)? (updated|changing)/i, `${file}: ${flat.slice(0, 240)}`);
                assert.doesNotMatch(flat, /During `pulumi preview` of a change it is unknown/, file);
            }
        }
    });
});

describe("pulumi refresh of a KV secret written outside Pulumi (dev)", () => {
    it("shows only a new metadata version, never the data: drift is detected by comparing versions", async () => {
        const run = await runStack("dev");
        const kv = run.resources.find((x) => x.type === KV && String(x.inputs.name).includes("soma-memory"))!;
        const state = { ...(reveal(kv.inputs) as Record<string, unknown>), ...(reveal(kv.outputs) as Record<string, unknown>) };
        const written = Number((state.metadata as Record<string, string>).version);
        // Someone runs `vault kv put` (or a rollback): Vault now holds other data, as a new version.
        const refreshed = refreshKvSecretV2(state, { version: written + 1, createdTime: "2026-11-23T10:00:00Z" })!;
        assert.equal(JSON.stringify(refreshed.dataJson), JSON.stringify(state.dataJson), "data_json keeps what the program wrote");
        assert.equal((refreshed.metadata as Record<string, string>).version, String(written + 1));
        // The stack output a drift check compares with Vault's current_version.
        const outputs = reveal(run.outputs) as { vault: { apps: Record<string, { dataVersion: string }> } };
        assert.equal(JSON.stringify(outputs.vault).includes(`"dataVersion":"${written}"`), true);
        const vaultDoc = readFileSync(path.join(repoRoot, "docs", "vault.md"), "utf8");
        assert.doesNotMatch(vaultDoc, /refresh` also detects out-of-band writes/);
        assert.match(vaultDoc, /compare versions/);
    });
});
