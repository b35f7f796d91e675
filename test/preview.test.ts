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
                assert.doesNotMatch(paragraph, /preview (comment )?shows[^.]*force-sync (updated|changing|changes)/i, `${file}: ${paragraph.slice(0, 200)}`);
                assert.doesNotMatch(paragraph, /During `pulumi preview` of a change it is unknown/, file);
            }
        }
    });
});
