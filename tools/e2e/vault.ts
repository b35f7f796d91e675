/**
 * The Vault half of the e2e. The Pulumi Vault plugin cannot be built on these machines (README,
 * "End-to-end under the real engine"), so no engine writes to Vault here: the documents the program
 * renders for Vault (the offline plan's inputs of every vault:* resource) are sent to the real
 * OpenBao server through its HTTP API, one call per resource, as the provider's Create would. The
 * server then judges them: it parses the policies, reviews logins with the real API server, and
 * decides every read. A resource type this mapping does not know fails the run, so nothing the
 * program adds is silently left out.
 */
import type { VaultClient } from "./servers";

export interface PlanResource {
    urn: string;
    type: string;
    name: string;
    inputs: Record<string, any>;
}

/** Unwraps the plan's `{"@secret": ...}` markers (the plan was made with --show-secrets). */
export function reveal(v: any): any {
    if (v && typeof v === "object" && !Array.isArray(v)) {
        if (Object.keys(v).length === 1 && "@secret" in v) return reveal(v["@secret"]);
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, reveal(x)]));
    }
    if (Array.isArray(v)) return v.map(reveal);
    return v;
}

async function call(vault: VaultClient, method: string, path: string, body: unknown): Promise<any> {
    const r = await vault.request(method, path, body);
    if (r.status >= 300) throw new Error(`Vault ${method} ${path}: HTTP ${r.status} ${JSON.stringify(r.body.errors ?? r.body)}`);
    return r.body;
}

/** The order a provider run would follow: mounts and backends before what lives in them. */
const ORDER = [
    "vault:index/mount:Mount",
    "vault:pkiSecret/secretBackendRootCert:SecretBackendRootCert",
    "vault:kv/secretBackendV2:SecretBackendV2",
    "vault:index/authBackend:AuthBackend",
    "vault:kubernetes/authBackendConfig:AuthBackendConfig",
    "vault:index/policy:Policy",
    "vault:kubernetes/authBackendRole:AuthBackendRole",
    "vault:pkiSecret/secretBackendRole:SecretBackendRole",
    "vault:pkiSecret/secretBackendCert:SecretBackendCert",
    "vault:kv/secretV2:SecretV2",
    "vault:index/audit:Audit",
    // Alternating database users (docs/database-credentials.md): connection, rotate-root, static roles, rotate step.
    "vault:database/secretBackendConnection:SecretBackendConnection",
    "vault:generic/endpoint:Endpoint#rotate-root",
    "vault:database/secretBackendStaticRole:SecretBackendStaticRole",
    "vault:generic/endpoint:Endpoint",
];

/** rotate-root endpoints run before the static roles (their dependsOn in the program). */
const orderKey = (r: PlanResource) => (r.type === "vault:generic/endpoint:Endpoint" && /\/rotate-root\//.test(String(reveal(r.inputs).path)) ? `${r.type}#rotate-root` : r.type);

/** A comma-joined list, as the provider sends list fields the PKI API takes as strings. */
const csv = (v: unknown): string | undefined => (Array.isArray(v) && v.length > 0 ? v.join(",") : undefined);

/**
 * Applies the plan's Vault resources; returns each KV secret's new version by `<mount>/<name>`.
 * `issued`, when given, receives what Vault's PKI engine answered for each certificate (by resource
 * name): the real certificate, issuing CA, private key and serial.
 */
export async function applyVaultDocuments(
    vault: VaultClient,
    resources: PlanResource[],
    only?: (r: PlanResource) => boolean,
    issued?: Record<string, { certificate: string; issuing_ca: string; ca_chain?: string[]; private_key: string; private_key_type: string; serial_number: string; expiration: number }>,
): Promise<Record<string, number>> {
    const vaultResources = resources.filter((r) => r.type.startsWith("vault:") && (only ? only(r) : true));
    const unknown = vaultResources.filter((r) => !ORDER.includes(orderKey(r)));
    if (unknown.length) throw new Error(`the e2e's Vault mapping does not know ${[...new Set(unknown.map((r) => r.type))].join(", ")}: add it to tools/e2e/vault.ts`);
    const versions: Record<string, number> = {};
    for (const type of ORDER) {
        for (const r of vaultResources.filter((x) => orderKey(x) === type)) {
            const i = reveal(r.inputs);
            switch (r.type) {
                case "vault:index/mount:Mount":
                    await call(vault, "POST", `sys/mounts/${i.path}`, {
                        type: i.type,
                        description: i.description,
                        options: i.options,
                        config: i.maxLeaseTtlSeconds || i.defaultLeaseTtlSeconds ? { max_lease_ttl: i.maxLeaseTtlSeconds, default_lease_ttl: i.defaultLeaseTtlSeconds } : undefined,
                    });
                    break;
                // terraform-provider-vault v5 (resource_pki_secret_backend_root_cert.go): POST <backend>/root/generate/<type>.
                case "vault:pkiSecret/secretBackendRootCert:SecretBackendRootCert":
                    await call(vault, "POST", `${i.backend}/root/generate/${i.type}`, {
                        common_name: i.commonName,
                        ttl: i.ttl,
                        key_type: i.keyType,
                        key_bits: i.keyBits,
                        format: i.format,
                        issuer_name: i.issuerName,
                        alt_names: csv(i.altNames),
                    });
                    break;
                // resource_pki_secret_backend_role.go: POST <backend>/roles/<name>.
                case "vault:pkiSecret/secretBackendRole:SecretBackendRole":
                    await call(vault, "POST", `${i.backend}/roles/${i.name}`, {
                        allowed_domains: i.allowedDomains,
                        allow_bare_domains: i.allowBareDomains,
                        allow_subdomains: i.allowSubdomains,
                        allow_glob_domains: i.allowGlobDomains,
                        allow_wildcard_certificates: i.allowWildcardCertificates,
                        allow_any_name: i.allowAnyName,
                        allow_ip_sans: i.allowIpSans,
                        allow_localhost: i.allowLocalhost,
                        allowed_uri_sans: i.allowedUriSans,
                        allowed_other_sans: i.allowedOtherSans,
                        enforce_hostnames: i.enforceHostnames,
                        require_cn: i.requireCn,
                        key_type: i.keyType,
                        key_bits: i.keyBits,
                        key_usage: i.keyUsages,
                        client_flag: i.clientFlag,
                        server_flag: i.serverFlag,
                        code_signing_flag: i.codeSigningFlag,
                        email_protection_flag: i.emailProtectionFlag,
                        ttl: i.ttl,
                        max_ttl: i.maxTtl,
                        generate_lease: i.generateLease,
                    });
                    break;
                // resource_pki_secret_backend_cert.go: POST <backend>/issue/<name>; the answer is the state.
                case "vault:pkiSecret/secretBackendCert:SecretBackendCert": {
                    const body = await call(vault, "POST", `${i.backend}/issue/${i.name}`, {
                        common_name: i.commonName,
                        alt_names: csv(i.altNames),
                        ttl: i.ttl,
                        format: i.format,
                        private_key_format: i.privateKeyFormat,
                        exclude_cn_from_sans: i.excludeCnFromSans,
                    });
                    if (issued) issued[r.name] = body.data;
                    break;
                }
                case "vault:kv/secretBackendV2:SecretBackendV2":
                    await call(vault, "POST", `${i.mount}/config`, { max_versions: i.maxVersions, cas_required: i.casRequired, delete_version_after: i.deleteVersionAfter });
                    break;
                case "vault:index/authBackend:AuthBackend":
                    await call(vault, "POST", `sys/auth/${i.path}`, { type: i.type, description: i.description });
                    break;
                case "vault:kubernetes/authBackendConfig:AuthBackendConfig":
                    await call(vault, "POST", `auth/${i.backend}/config`, {
                        kubernetes_host: i.kubernetesHost,
                        kubernetes_ca_cert: i.kubernetesCaCert,
                        issuer: i.issuer,
                        disable_iss_validation: i.disableIssValidation,
                        disable_local_ca_jwt: i.disableLocalCaJwt,
                        token_reviewer_jwt: i.tokenReviewerJwt,
                    });
                    break;
                case "vault:index/policy:Policy":
                    await call(vault, "PUT", `sys/policies/acl/${i.name}`, { policy: i.policy });
                    break;
                case "vault:kubernetes/authBackendRole:AuthBackendRole":
                    await call(vault, "POST", `auth/${i.backend}/role/${i.roleName}`, {
                        bound_service_account_names: i.boundServiceAccountNames,
                        bound_service_account_namespaces: i.boundServiceAccountNamespaces,
                        audience: i.audience,
                        alias_name_source: i.aliasNameSource,
                        token_ttl: i.tokenTtl,
                        token_max_ttl: i.tokenMaxTtl,
                        token_policies: i.tokenPolicies,
                        token_no_default_policy: i.tokenNoDefaultPolicy,
                        token_type: i.tokenType,
                        token_bound_cidrs: i.tokenBoundCidrs,
                    });
                    break;
                case "vault:kv/secretV2:SecretV2": {
                    const body = await call(vault, "POST", `${i.mount}/data/${i.name}`, { data: JSON.parse(i.dataJson) });
                    versions[`${i.mount}/${i.name}`] = body.data.version;
                    break;
                }
                case "vault:index/audit:Audit":
                    await call(vault, "PUT", `sys/audit/${i.path}`, { type: i.type, description: i.description, options: i.options, local: i.local });
                    break;
                // terraform-provider-vault resource_database_secret_backend_connection.go: one POST of
                // the plugin's fields flattened next to the common ones.
                case "vault:database/secretBackendConnection:SecretBackendConnection": {
                    const plugin = i.postgresql
                        ? { connection_url: i.postgresql.connectionUrl, username: i.postgresql.username, password: i.postgresql.passwordWo ?? i.postgresql.password }
                        : i.redis
                          ? { host: i.redis.host, port: i.redis.port, username: i.redis.username, password: i.redis.password, tls: i.redis.tls ?? false, insecure_tls: i.redis.insecureTls, ca_cert: i.redis.caCert }
                          : undefined;
                    if (!plugin) throw new Error(`${r.name}: the e2e's Vault mapping knows postgresql and redis connections only`);
                    await call(vault, "POST", `${i.backend}/config/${i.name}`, {
                        plugin_name: i.pluginName,
                        allowed_roles: i.allowedRoles,
                        verify_connection: i.verifyConnection,
                        root_rotation_statements: i.rootRotationStatements,
                        ...plugin,
                    });
                    break;
                }
                case "vault:database/secretBackendStaticRole:SecretBackendStaticRole":
                    await call(vault, "POST", `${i.backend}/static-roles/${i.name}`, {
                        db_name: i.dbName,
                        username: i.username,
                        rotation_period: i.rotationPeriod,
                        rotation_statements: i.rotationStatements,
                    });
                    break;
                // generic.Endpoint: a write of dataJson to path (disableRead: no read back).
                case "vault:generic/endpoint:Endpoint":
                    await call(vault, "POST", i.path, JSON.parse(i.dataJson));
                    break;
            }
        }
    }
    return versions;
}
