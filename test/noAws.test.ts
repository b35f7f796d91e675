/**
 * AWS only where the stack needs it (issue 10): a cluster outside AWS with no backups, whose API
 * server Vault's Kubernetes auth names itself, gets no AWS provider and no AWS call at all; the
 * e2e stack is one (tools/e2e/Pulumi.e2e.yaml).
 */
import assert from "node:assert/strict";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import { readFileSync } from "node:fs";
import { parseStackFile, projectName, readStackConfig, repoRoot } from "../tools/harness/stackConfig";
import { byType, reveal, runStack, RunResult, TEST_CA_PEM } from "./support";

const K = `${projectName}:`;
const e2eStackFile = path.join(repoRoot, "tools", "e2e", "Pulumi.e2e.yaml");

function withoutAws(): Record<string, any> {
    const config = structuredClone(readStackConfig("dev")) as Record<string, any>;
    delete config[`${K}aws`];
    delete config[`${K}backup`];
    for (const app of Object.values(config[`${K}apps`] as Record<string, any>)) delete app.backups;
    Object.assign(config[`${K}vault`].kubernetesAuth, { host: "https://k8s.example.internal:6443", caCertPem: TEST_CA_PEM, issuer: "https://k8s.example.internal" });
    return config;
}

describe("a stack without AWS", () => {
    let run: RunResult;
    let e2e: RunResult;
    before(async () => {
        run = await runStack("dev", { config: withoutAws() });
        e2e = await runStack("e2e", { config: parseStackFile(readFileSync(e2eStackFile, "utf8"), e2eStackFile) });
    });

    it("registers no AWS provider and no AWS resource, and looks up no EKS cluster", () => {
        for (const r of [run, e2e]) {
            const aws = r.resources.filter((x) => x.type.startsWith("aws:") || x.type === "pulumi:providers:aws" || x.type.startsWith("platform-secrets:aws:"));
            assert.deepEqual(aws.map((x) => x.urn), []);
            assert.equal((r.outputs.providers as Record<string, unknown>).aws, undefined);
        }
    });

    it("configures Vault's Kubernetes auth with the API server it names", () => {
        const cfg = byType(run, "vault:kubernetes/authBackendConfig:AuthBackendConfig");
        assert.equal(cfg.length, 1);
        const inputs = reveal(cfg[0].inputs) as Record<string, unknown>;
        assert.equal(inputs.kubernetesHost, "https://k8s.example.internal:6443");
        assert.equal(inputs.kubernetesCaCert, TEST_CA_PEM);
        assert.equal(inputs.issuer, "https://k8s.example.internal");
    });

    it("still has everything else: Vault, credentials and the Kubernetes half", () => {
        for (const type of ["vault:kv/secretV2:SecretV2", "vault:kubernetes/authBackendRole:AuthBackendRole", "kubernetes:external-secrets.io/v1:ExternalSecret", "random:index/randomBytes:RandomBytes"]) {
            assert.ok(byType(run, type).length >= 2, type);
        }
    });
});
