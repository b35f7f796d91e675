/**
 * What every Vault policy of this program grants, as typed rules (rendered by policyHcl.ts). Pure
 * functions of the resolved config, so tests read the same rules the program writes.
 *
 * Three kinds of policy, named after runbook 003's `<app>-<secret-type>-<environment>`:
 * - `<app>-secrets-read-<env>` (AppSpec.readPolicyName): the app's External Secrets store.
 * - `<project>-rotator-<env>`: the pipeline that runs `pulumi up` for this environment.
 * - `<project>-preview-<env>`: the pipeline's `pulumi preview` (pull requests).
 */
import { AppSpec, PlatformConfig, usesExternalSecret, usesVaultLogin } from "../config/model";
import type { PolicyRule } from "./policyHcl";
import { pkiRotatorRules } from "./pkiPolicies";

export interface PipelinePolicyNames {
    rotator: string;
    preview: string;
}

export function pipelinePolicyNames(config: PlatformConfig): PipelinePolicyNames {
    return {
        rotator: `${config.project}-rotator-${config.environment}`,
        preview: `${config.project}-preview-${config.environment}`,
    };
}

/** The token self-service endpoints a client of Vault needs, granted explicitly (the roles set token_no_default_policy). */
const LOOKUP_SELF: PolicyRule = {
    path: "auth/token/lookup-self",
    capabilities: ["read"],
    why: "Token self-lookup: every Vault client checks its token with it (ESO's store validation and token reuse,\nthe Vault provider at start-up). Granted here because tokens are issued without Vault's default policy.",
};

/**
 * An app's store: `read` on its own KV v2 data path and nothing else of the KV mount.
 *
 * No metadata capability: ESO's Vault provider reads `<mount>/metadata/<path>` only for
 * `metadataPolicy: Fetch` (custom metadata) and lists it only for `dataFrom.find`; a plain
 * `remoteRef` (key + property, optionally `version`) reads `<mount>/data/<path>` only. Our
 * ExternalSecrets use remoteRef, so metadata stays closed.
 */
export function appReadPolicyRules(app: AppSpec, databaseMount = "database"): PolicyRule[] {
    return [
        {
            path: app.vaultDataPath,
            capabilities: ["read"],
            why: `${app.name}: ${app.delivery === "vault" ? "its workloads read" : app.delivery === "both" ? "its workloads and its External Secrets store read" : "its External Secrets store reads"} this one KV v2 secret (every version, for rollbacks).`,
        },
        // Grants: each granted secret's own shared path, exactly; nothing else of its owner.
        ...app.granted.map((g): PolicyRule => ({
            path: g.vaultDataPath,
            capabilities: ["read"],
            why: `${app.name}: granted ${g.id} by its owner, at its shared path alone.`,
        })),
        LOOKUP_SELF,
        {
            path: "auth/token/revoke-self",
            capabilities: ["update"],
            why: "ESO revokes its own token when it drops a Vault client, so a token never outlives its use.",
        },
        // Alternating users (docs/database-credentials.md): the current credentials of the app's own
        // two static roles, and nothing else of the database mount (no rotate, no config, no creds/).
        ...app.databases.flatMap((d) =>
            (["a", "b"] as const).map((slot) => ({
                path: `${databaseMount}/static-creds/${d.roleNames[slot]}`,
                capabilities: ["read"] as PolicyRule["capabilities"],
                why: `${app.name}: the ${d.name} login user of slot ${slot} (${d.users[slot]}), read by its database store.`,
            })),
        ),
    ];
}

/**
 * The pipeline that runs `pulumi up`: exactly the API calls the Vault provider makes for the
 * resources of this program, on exact paths (no globs), and nothing that destroys data.
 *
 * - KV data: create/read/update writes a rotation; `delete` on the data path is the provider's
 *   removal of a secret, a soft delete of the latest version that `undelete` reverses (the same
 *   power as `update` on `<mount>/delete/<path>`). Never `<mount>/destroy/...` and never `delete`
 *   on metadata, which erase versions for good.
 * - KV metadata: read (and list); no writes, which could shrink max_versions. The read is not an
 *   operator convenience: after every write the provider reads the secret back, and the data
 *   endpoint's `metadata` always carries a `custom_metadata` key, so it then reads
 *   `<mount>/metadata/<name>` (terraform-provider-vault v5.8.0, resource_kv_secret_v2.go,
 *   kvSecretV2Read / readKVV2Metadata). Without this grant every KV write, and so every rotation,
 *   fails with a permission error after Vault has stored the new version. Do not tighten it away.
 * - The mount, the auth backend and the audit device: enable, read and tune, never disable. The
 *   first `pulumi up` against a fresh Vault, and any removal of these, take an admin token.
 * - Policies: the app and preview policies in full; its own policy read-only, so the pipeline
 *   cannot widen itself (changing the rotator policy takes an admin token).
 */
export function rotatorPolicyRules(config: PlatformConfig): PolicyRule[] {
    const { kv, kubernetesAuth, audit } = config.vault;
    const names = pipelinePolicyNames(config);
    const rules: PolicyRule[] = [];
    for (const app of config.apps) {
        rules.push(
            {
                path: app.vaultDataPath,
                capabilities: ["create", "read", "update", "delete"],
                why: `${app.name}: write rotations; delete is the provider's soft delete of the latest version, reversed by undelete.`,
            },
            {
                path: app.vaultMetadataPath,
                capabilities: ["read", "list"],
                why: `${app.name}: the provider reads metadata back after every write (custom_metadata), so every write needs it; read-only.`,
            },
            { path: `${kv.path}/delete/${app.kvPath}`, capabilities: ["update"], why: `${app.name}: soft-delete a bad version (reversible).` },
            { path: `${kv.path}/undelete/${app.kvPath}`, capabilities: ["update"], why: `${app.name}: restore a soft-deleted version.` },
        );
        for (const s of app.secrets) {
            if (!s.shared) continue;
            rules.push(
                { path: s.shared.vaultDataPath, capabilities: ["create", "read", "update", "delete"], why: `${s.id}: write the granted secret at its shared path (rotations reach every consumer).` },
                { path: s.shared.vaultMetadataPath, capabilities: ["read", "list"], why: `${s.id}: the provider reads metadata back after every write; read-only.` },
                { path: `${kv.path}/delete/${s.shared.kvPath}`, capabilities: ["update"], why: `${s.id}: soft-delete a bad version (reversible).` },
                { path: `${kv.path}/undelete/${s.shared.kvPath}`, capabilities: ["update"], why: `${s.id}: restore a soft-deleted version.` },
            );
        }
    }
    const database = config.vault.database;
    for (const app of config.apps) {
        for (const d of app.databases) {
            rules.push(
                {
                    path: `${database.path}/config/${d.connectionName}`,
                    capabilities: ["create", "read", "update", "delete"],
                    why: `${app.name}/${d.name}: the connection as its least-privilege manager.`,
                },
                { path: `${database.path}/rotate-root/${d.connectionName}`, capabilities: ["update"], why: `${app.name}/${d.name}: replace the manager's bootstrap password with one only Vault knows.` },
                ...(["a", "b"] as const).flatMap((slot) => [
                    { path: `${database.path}/static-roles/${d.roleNames[slot]}`, capabilities: ["create", "read", "update", "delete"] as PolicyRule["capabilities"], why: `${app.name}/${d.name}: slot ${slot}'s static role.` },
                    { path: `${database.path}/rotate-role/${d.roleNames[slot]}`, capabilities: ["update"] as PolicyRule["capabilities"], why: `${app.name}/${d.name}: rotate slot ${slot} when it becomes active.` },
                ]),
            );
        }
    }
    if (database.manage && config.apps.some((a) => a.databases.length > 0)) {
        rules.push({ path: `sys/mounts/${database.path}`, capabilities: ["create", "read", "update"], why: "Enable and read the database secrets engine mount; never disable it." });
        rules.push({ path: `sys/mounts/${database.path}/tune`, capabilities: ["read", "update"], why: "Tune the database secrets engine mount." });
    }
    if (kv.manage) {
        rules.push(
            { path: `sys/mounts/${kv.path}`, capabilities: ["create", "read", "update"], why: "Enable and read the KV v2 mount; never disable it (that erases every secret)." },
            { path: `sys/mounts/${kv.path}/tune`, capabilities: ["read", "update"], why: "Tune the KV v2 mount (description, options)." },
            { path: `${kv.path}/config`, capabilities: ["create", "read", "update"], why: "KV v2 engine settings: max_versions, cas_required." },
        );
    }
    if (kubernetesAuth.manage) {
        rules.push(
            {
                path: `sys/auth/${kubernetesAuth.path}`,
                capabilities: ["create", "read", "update", "sudo"],
                why: "Enable and read the Kubernetes auth backend (Vault requires sudo here); never disable it.",
            },
            { path: `sys/mounts/auth/${kubernetesAuth.path}/tune`, capabilities: ["read", "update"], why: "Tune the Kubernetes auth backend." },
            { path: `auth/${kubernetesAuth.path}/config`, capabilities: ["create", "read", "update"], why: "Kubernetes auth config: API host, CA, issuer." },
        );
    }
    for (const app of config.apps) {
        if (usesExternalSecret(app)) {
            rules.push({
                path: `auth/${kubernetesAuth.path}/role/${app.vaultRoleName}`,
                capabilities: ["create", "read", "update", "delete"],
                why: `${app.name}: its Kubernetes auth role.`,
            });
        }
        if (usesVaultLogin(app)) {
            rules.push({
                path: `auth/${kubernetesAuth.path}/role/${app.workloadRoleName}`,
                capabilities: ["create", "read", "update", "delete"],
                why: `${app.name}: its workloads' Kubernetes auth role (vault delivery).`,
            });
        }
    }
    for (const app of config.apps) {
        rules.push({
            path: `sys/policies/acl/${app.readPolicyName}`,
            capabilities: ["create", "read", "update", "delete"],
            why: `${app.name}: its read policy.`,
        });
    }
    rules.push(
        { path: `sys/policies/acl/${names.preview}`, capabilities: ["create", "read", "update", "delete"], why: "The preview pipeline's policy." },
        { path: `sys/policies/acl/${names.rotator}`, capabilities: ["read"], why: "This policy itself: read-only, so the pipeline cannot widen its own rights." },
    );
    if (audit.enabled) {
        rules.push(
            { path: `sys/audit/${audit.path}`, capabilities: ["create", "update", "sudo"], why: "Enable the audit device (Vault requires sudo); never disable it." },
            { path: "sys/audit", capabilities: ["read", "sudo"], why: "List audit devices: how the provider reads one back (Vault requires sudo)." },
        );
    }
    rules.push(...pkiRotatorRules(config));
    rules.push(LOOKUP_SELF);
    return rules;
}

/**
 * `pulumi preview` (without --refresh) diffs the program against Pulumi's state and calls no Vault
 * API but the provider's token self-lookup; so the preview token can read no secret and change
 * nothing. A `preview --refresh` would need read on every KV data path (the secrets themselves) and
 * is deliberately not supported with this token.
 */
export function previewPolicyRules(): PolicyRule[] {
    return [LOOKUP_SELF];
}
