/**
 * The policy pack's view of grants (issue 14): an app's read policy may read the exact shared copy
 * of another app's secret in the same environment, and nothing wider. Policies are parsed from HCL
 * (policy/lib/vaultPolicy.ts, @cdktf/hcl2json) and judged by vault-app-policy-scoped's logic.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseVaultPolicy } from "../policy/lib/vaultPolicy";
import { DEFAULT_APP_POLICY_NAME, DEFAULT_ROLE_NAME, vaultPolicyProblems } from "../policy/rules/vault";

const hcl = (path: string, caps: string[]) => `path "auth/token/lookup-self" {\n  capabilities = ["read"]\n}\npath "secret/data/shared-infra/web-frontend/dev" {\n  capabilities = ["read"]\n}\npath "${path}" {\n  capabilities = [${caps.map((c) => `"${c}"`).join(", ")}]\n}\n`;
const problems = async (path: string, caps = ["read"], name = "web-frontend-secrets-read-dev") => vaultPolicyProblems(name, await parseVaultPolicy(hcl(path, caps)), DEFAULT_APP_POLICY_NAME);

describe("grants in the policy pack", () => {
    it("passes read on the exact shared copy of a granted secret", async () => {
        assert.deepEqual(await problems("secret/data/shared-infra/gateway/dev/shared/supabase_anon_key"), []);
    });

    it("refuses the owner's own path, a glob, another environment, metadata, a write, and its own path as a 'grant'", async () => {
        for (const [path, caps] of [
            ["secret/data/shared-infra/gateway/dev", ["read"]],
            ["secret/data/shared-infra/gateway/dev/shared/*", ["read"]],
            ["secret/data/shared-infra/gateway/dev/shared/+", ["read"]],
            ["secret/data/shared-infra/gateway/prod/shared/supabase_anon_key", ["read"]],
            ["secret/metadata/shared-infra/gateway/dev/shared/supabase_anon_key", ["read"]],
            ["secret/data/shared-infra/gateway/dev/shared/supabase_anon_key", ["read", "update"]],
            ["secret/data/shared-infra/gateway/dev/shared/supabase_anon_key", ["read", "list"]],
            ["secret/data/shared-infra/gateway/dev/other/supabase_anon_key", ["read"]],
        ] as const) {
            assert.ok((await problems(path, [...caps])).length > 0, `${path} ${caps.join(",")} passed`);
        }
    });

    it("judges workload roles by the same rule as readers: <app>-workload-<env> names its app and environment", () => {
        const m = new RegExp(DEFAULT_ROLE_NAME).exec("gateway-workload-prod");
        assert.deepEqual([m?.groups?.app, m?.groups?.env], ["gateway", "prod"]);
        assert.deepEqual(new RegExp(DEFAULT_ROLE_NAME).exec("soma-memory-secrets-reader-dev")?.groups?.app, "soma-memory");
    });
});
