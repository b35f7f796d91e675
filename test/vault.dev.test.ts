/**
 * Vault in dev: the shared assertions (test/vaultChecks.ts), no audit device, nothing protected,
 * and the existing-mount / existing-backend variants.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { byType, eksClusterLookups, RunResult, runStack, stackConfig } from "./support";
import { renderPolicy } from "../components/vault/policyHcl";
import { eksCaPem } from "../components/vault/kubernetesAuthBackend";
import { describeVault, parsePolicy, granted, resolvedConfig, sharedSecrets, T } from "./vaultChecks";

describeVault({ stack: "dev", audit: false, protect: false, maxVersions: 5, authPath: "kubernetes-dev" });

describe("Vault (dev) with an existing KV mount and auth backend", () => {
    let result: RunResult;
    let lookups: string[];
    before(async () => {
        const config = stackConfig("dev");
        config["platform-secrets:vault"].kv.manage = false;
        config["platform-secrets:vault"].kubernetesAuth.manage = false;
        result = await runStack("dev", { config });
        lookups = eksClusterLookups(result);
    });

    it("creates neither the mount, its settings, the backend nor its config, and looks no EKS cluster up", () => {
        for (const type of [T.kvSettings, T.authBackend, T.authConfig]) assert.deepEqual(byType(result, type), [], type);
        // The only mount left is the database secrets engine's (vault.database.manage, docs/database-credentials.md).
        assert.deepEqual(byType(result, T.mount).map((m) => m.inputs.type), ["database"]);
        assert.deepEqual(lookups, [], "the backend's config is its owner's: nothing to read from the cluster");
    });

    it("still writes each app's secret and role on the existing mount and backend", () => {
        const c = resolvedConfig("dev");
        const paths = [...c.apps.map((a) => a.vaultDataPath), ...sharedSecrets(c).map((x) => x.shared.vaultDataPath)];
        assert.deepEqual(byType(result, T.kvSecret).map((r) => [r.inputs.mount, r.outputs.path]).sort(), paths.map((p) => ["secret", p]).sort());
        assert.ok(byType(result, T.role).length >= c.apps.length);
        for (const r of byType(result, T.role)) assert.equal(r.inputs.backend, "kubernetes-dev");
    });

    it("drops the rotator's rights on the mount and backend it does not own", async () => {
        const r = byType(result, T.policy).find((p) => p.inputs.name === "platform-secrets-rotator-dev")!;
        const rotator = await parsePolicy("rotator", String(r.inputs.policy));
        for (const p of ["sys/mounts/secret", "sys/mounts/secret/tune", "secret/config", "sys/auth/kubernetes-dev", "auth/kubernetes-dev/config"]) {
            assert.deepEqual(granted(rotator, p), [], p);
        }
        assert.deepEqual(granted(rotator, "auth/kubernetes-dev/role/soma-memory-secrets-reader-dev"), ["create", "delete", "read", "update"]);
    });
});

describe("the EKS CA decoder", () => {
    const pem = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUTestOnlyNotARealCertificate0wCgYIKoZIzj0EAwIw\n-----END CERTIFICATE-----\n";
    const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64");

    it("turns certificateAuthority.data (base64 of the PEM) into the PEM Vault expects, bundles included", () => {
        assert.equal(eksCaPem(b64(pem), "c"), pem);
        assert.equal(eksCaPem(b64(`${pem}${pem}`), "c"), `${pem}${pem}`);
    });

    it("refuses anything else: Vault would take it and fail at the first login", () => {
        for (const data of [undefined, "", pem, b64("not a certificate"), b64("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")]) {
            assert.throws(() => eksCaPem(data, "platform-dev"), /platform-dev: certificateAuthority.data is not a base64 PEM certificate bundle/, String(data));
        }
    });
});

describe("the policy renderer", () => {
    it("renders rules HCL parses back to the same paths and capabilities, in canonical order", async () => {
        const hcl = renderPolicy([
            { path: "secret/data/a/dev", capabilities: ["update", "read"], why: "one\ntwo lines" },
            { path: "secret/metadata/+/dev", capabilities: ["list"], why: "glob" },
        ]);
        const parsed = await parsePolicy("rendered", hcl);
        assert.deepEqual([...parsed.entries()], [
            ["secret/data/a/dev", ["read", "update"]],
            ["secret/metadata/+/dev", ["list"]],
        ]);
    });

    it("refuses what Vault would read differently from how it looks", () => {
        const why = "x";
        assert.throws(() => renderPolicy([]), /at least one rule/);
        assert.throws(() => renderPolicy([{ path: "a/b", capabilities: ["read"], why }, { path: "a/b", capabilities: ["list"], why }]), /appears twice/);
        assert.throws(() => renderPolicy([{ path: "a/b", capabilities: [], why }]), /no capabilities/);
        assert.throws(() => renderPolicy([{ path: "a/b", capabilities: ["root" as never], why }]), /unknown capability/);
        for (const path of ['a/"b', "a/${var.x}", "a/%{if}", "/a", "a//b", "a b", "a/*/b"]) {
            assert.throws(() => renderPolicy([{ path, capabilities: ["read"], why }]), /not a plain Vault path/, path);
        }
    });
});
