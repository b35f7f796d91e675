/**
 * The PKI part of the rotator policy: exactly the calls the Vault provider makes for VaultPki, on
 * exact paths, per app role (never `<pki>/*`, never another role's issue endpoint). Apps' read
 * policies gain nothing: the certificate and key reach an app through its KV secret and store, as
 * every other value does.
 *
 * - The managed mount: enable, read and tune, never disable (that destroys the CA's key).
 * - Its root CA: `<pki>/root/generate/internal` (update), the one call that creates it; never
 *   `DELETE <pki>/root` (sudo), so the pipeline cannot delete the CA.
 * - Per app: its role (`<pki>/roles/<role>`, written and read back, deleted when the app leaves) and
 *   its issue endpoint (`<pki>/issue/<role>`, update: vault_pki_secret_backend_cert's create).
 *   No `<pki>/revoke`: replaced certificates expire by themselves (revoke: false).
 * - An existing mount: only `read` on `sys/mounts/<pki>`, which the provider's certificate refresh
 *   calls. The root's refresh reads `<pki>/issuer/<id>/pem`, which Vault serves without a token.
 */
import type { PlatformConfig } from "../config/model";
import type { PolicyRule } from "./policyHcl";

export function pkiRotatorRules(config: PlatformConfig): PolicyRule[] {
    const apps = config.apps.filter((a) => a.pki);
    if (apps.length === 0) return [];
    const pki = config.vault.pki;
    const rules: PolicyRule[] = [];
    if (pki.manage) {
        rules.push(
            { path: `sys/mounts/${pki.path}`, capabilities: ["create", "read", "update"], why: "Enable and read the PKI mount; never disable it (that destroys the CA and its key)." },
            { path: `sys/mounts/${pki.path}/tune`, capabilities: ["read", "update"], why: "Tune the PKI mount (max_lease_ttl: the CA's validity)." },
            { path: `${pki.path}/root/generate/internal`, capabilities: ["update"], why: "Generate the root CA inside Vault (its key never leaves it); deleting it takes an admin token." },
        );
    } else {
        // terraform-provider-vault's read of vault_pki_secret_backend_cert (a refresh) looks the mount
        // up first (mountutil.GetMount: GET sys/mounts/<path>); the admins' mount is only read.
        rules.push({ path: `sys/mounts/${pki.path}`, capabilities: ["read"], why: "Read the admins' PKI mount, as the provider does when it refreshes a certificate; never change or disable it." });
    }
    for (const app of apps) {
        const p = app.pki!;
        rules.push(
            { path: `${p.mount}/roles/${p.roleName}`, capabilities: ["create", "read", "update", "delete"], why: `${app.name}: its PKI role (exactly its names, its key type, its TTL).` },
            { path: `${p.mount}/issue/${p.roleName}`, capabilities: ["update"], why: `${app.name}: issue its client certificates under its own role, and no other.` },
        );
    }
    return rules;
}
