/**
 * The program's Kubernetes writes as pulumi-kubernetes 4.29+ and the API server carry them out
 * (tools/harness/kubernetesApply.ts): field ownership, server-side apply conflicts, and creating an
 * object that already exists. The mocks see none of this.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import { ApiError, kubectlAnnotate, LiveObject, providerCreate, providerUpdate } from "../tools/harness/kubernetesApply";
import { projectName, repoRoot } from "../tools/harness/stackConfig";
import { reveal, runStack, RunResult, stackConfig } from "./support";

const ES = "kubernetes:external-secrets.io/v1:ExternalSecret";
const settings = { fieldManager: "pulumi-kubernetes-8d2f1c3a" };

function externalSecret(run: RunResult, name: string): Record<string, unknown> {
    const es = run.resources.find((r) => r.type === ES && (r.inputs.metadata as { name: string }).name === name);
    assert.ok(es, `no ExternalSecret ${name}`);
    return reveal(es.inputs) as Record<string, unknown>;
}
const annotations = (o: Record<string, unknown>) => (o.metadata as { annotations: Record<string, string> }).annotations;

for (const stack of ["dev", "staging", "prod"]) {
    describe(`${stack}: a manual force-sync, then the next rotation`, () => {
        let now: RunResult;
        let rotated: RunResult;
        before(async () => {
            now = await runStack(stack);
            const config = stackConfig(stack);
            const rotation = (config[`${projectName}:rotation`] ??= {});
            rotation.generations = { ...rotation.generations, "soma-memory/soma_api_token": (rotation.generations?.["soma-memory/soma_api_token"] ?? 0) + 1 };
            rotated = await runStack(stack, { config });
        });

        it("the rotation's update wins over kubectl's field manager on force-sync", () => {
            const first = externalSecret(now, "soma-memory-runtime-secrets");
            const next = externalSecret(rotated, "soma-memory-runtime-secrets");
            assert.notEqual(annotations(next)["force-sync"], annotations(first)["force-sync"], "the rotation must change force-sync");
            // First `up`: created (client-side, 4.29+). An operator then syncs by hand, as the runbooks said.
            let live: LiveObject = providerCreate(undefined, first, settings);
            live = kubectlAnnotate(live, "force-sync", "1764512345");
            assert.ok(live.managedFields.some((m) => m.manager === "kubectl-annotate"));
            // With no data change there is no diff and nothing is sent: kubectl's value stays.
            // The next rotation's `up` (and its preview, a dry run) must not fail with a conflict.
            providerUpdate(live, next, { ...settings, preview: true });
            live = providerUpdate(live, next, settings);
            assert.equal(annotations(live.object)["force-sync"], annotations(next)["force-sync"]);
            assert.ok(!live.managedFields.some((m) => m.manager === "kubectl-annotate"), "the program now owns force-sync again");
        });

        it("(the emulation is not vacuous: without the patch-force annotation the same update conflicts)", () => {
            const strip = (o: Record<string, unknown>) => {
                const c = structuredClone(o);
                delete annotations(c)["pulumi.com/patchForce"];
                return c;
            };
            let live = providerCreate(undefined, strip(externalSecret(now, "soma-memory-runtime-secrets")), settings);
            live = kubectlAnnotate(live, "force-sync", "1764512345");
            assert.throws(
                () => providerUpdate(live, strip(externalSecret(rotated, "soma-memory-runtime-secrets")), settings),
                (e: ApiError) => e.reason === "Conflict" && /conflict with "kubectl-annotate" using external-secrets.io\/v1: \.metadata\.annotations\.force-sync/.test(e.message),
            );
        });
    });
}

describe("the docs on force-sync", () => {
    const docs = ["README.md", "docs/guardrails.md", "docs/kubernetes.md", "docs/vault.md"].map((f) => [f, readFileSync(path.join(repoRoot, f), "utf8")] as const);

    it("never have an operator annotate force-sync where the up already changed it", () => {
        for (const [file, text] of docs) {
            // Command lines in code blocks: no runbook step runs `kubectl annotate ... force-sync`.
            for (const block of text.matchAll(/```(?:sh|bash)?\n([\s\S]*?)```/g)) {
                for (const line of block[1].split("\n")) assert.doesNotMatch(line.replace(/#.*$/, ""), /kubectl annotate .*force-sync/, `${file}: ${line}`);
            }
        }
    });

    it("do not claim the next up sets a manual force-sync back, and say why the next rotation wins", () => {
        for (const [file, text] of docs) assert.doesNotMatch(text.replace(/\s+/g, " "), /sets it back/, file);
        const kubernetes = docs.find(([f]) => f === "docs/kubernetes.md")![1].replace(/\s+/g, " ");
        assert.match(kubernetes, /kubectl-annotate/);
        assert.match(kubernetes, /pulumi\.com\/patchForce/);
        assert.match(kubernetes, /no diff and sends nothing/);
    });
});
