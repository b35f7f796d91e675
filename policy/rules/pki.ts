/**
 * Vault PKI by content (runbook 001 §4, runbooks 000 and 003: TLS keys managed, least privilege):
 * - `vault-pki-role-exact`: a PKI role issues client certificates for exact names only: no any
 *   name, glob, wildcard, subdomain, IP or localhost; allowed_domains without `*`; client use only;
 *   at least RSA 2048 or EC P-256 (never `any`); a max TTL no longer than the pack's bound.
 * - `vault-pki-paths-scoped`: on a PKI mount of the stack (the backend of its roles), a policy
 *   grants nothing by glob, and only exact per-role paths: `issue/<role>` and `roles/<role>` of a
 *   role the stack defines, `root/generate/internal` only where the stack generates that mount's
 *   root. Never sign, sign-verbatim, revoke, root (delete), intermediate, config, issuer or keys
 *   endpoints. An app's read policy (`<app>-secrets-read-<env>`) grants nothing on a PKI mount.
 */
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { forTypes } from "../lib/dispatch";
import { field, known } from "../lib/values";
import { parseVaultPolicy, type VaultPathRule } from "../lib/vaultPolicy";
import { T } from "../types";
import { DEFAULT_APP_POLICY_NAME } from "./vault";

/** vault.pkiSecret.SecretBackendRoleArgs, the part read here. */
export interface PkiRoleProps {
    backend?: string;
    name?: string;
    allowedDomains?: string[];
    allowAnyName?: boolean;
    allowGlobDomains?: boolean;
    allowWildcardCertificates?: boolean;
    allowSubdomains?: boolean;
    allowIpSans?: boolean;
    allowLocalhost?: boolean;
    allowedUriSans?: string[];
    allowedOtherSans?: string[];
    serverFlag?: boolean;
    codeSigningFlag?: boolean;
    emailProtectionFlag?: boolean;
    keyType?: string;
    keyBits?: number;
    maxTtl?: string;
    ttl?: string;
}

export interface PkiRoleConfig {
    /** Longest max_ttl a role may have, in days (a rotation period plus grace). */
    maxTtlDays?: number;
}

/** Vault defaults that widen a role when unset: allow_localhost, server_flag, code/email flags are false by default only partly. */
const MUST_BE_FALSE: (keyof PkiRoleProps)[] = ["allowAnyName", "allowGlobDomains", "allowWildcardCertificates", "allowSubdomains", "allowIpSans", "allowLocalhost", "serverFlag", "codeSigningFlag", "emailProtectionFlag"];

/** A Vault duration (seconds as a number or string, or 10h, 30m) in seconds; undefined if unreadable. */
export function vaultSeconds(v: unknown): number | undefined {
    if (typeof v === "number") return v;
    if (typeof v !== "string" || v === "") return undefined;
    if (/^[0-9]+$/.test(v)) return Number(v);
    let total = 0;
    let rest = v;
    for (const m of v.matchAll(/([0-9]+)(s|m|h|d)/g)) {
        total += Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[m[2] as "s"];
        rest = rest.replace(m[0], "");
    }
    return rest === "" ? total : undefined;
}

export function pkiRoleProblems(props: PkiRoleProps, maxTtlDays: number): string[] {
    const problems: string[] = [];
    // Vault's defaults for these are true (allow_localhost, allow_ip_sans, server_flag, ...): unset widens.
    for (const k of MUST_BE_FALSE) if (props[k] !== false) problems.push(`${k} must be false (it is ${props[k] === undefined ? "unset, and Vault's default may allow it" : String(props[k])})`);
    const domains = props.allowedDomains ?? [];
    if (domains.length === 0) problems.push("allowedDomains is empty: the role must name its certificates' names exactly");
    for (const d of domains) if (typeof d !== "string" || /[*{}]/.test(d) || d === "") problems.push(`allowedDomains holds ${JSON.stringify(d)}, not one exact name`);
    for (const k of ["allowedUriSans", "allowedOtherSans"] as const) if ((props[k] ?? []).length > 0) problems.push(`${k} must be empty`);
    const type = props.keyType ?? "rsa";
    const bits = props.keyBits ?? (type === "rsa" ? 2048 : 256);
    if (type === "any") problems.push("keyType any lets a client choose a weak key: name rsa or ec");
    else if (type === "rsa" && bits < 2048) problems.push(`RSA ${bits} is below 2048 bits`);
    else if (type === "ec" && bits < 256) problems.push(`EC ${bits} is below P-256`);
    else if (type !== "rsa" && type !== "ec" && type !== "ed25519") problems.push(`keyType ${type} is not rsa, ec or ed25519`);
    const max = vaultSeconds(props.maxTtl);
    if (max === undefined || max <= 0) problems.push("maxTtl is unset: Vault would then cap certificates only at the mount's max lease TTL (years)");
    else if (max > maxTtlDays * 86400) problems.push(`maxTtl is ${Math.round(max / 86400)} days, above ${maxTtlDays} (a rotation period plus grace)`);
    return problems;
}

export const vaultPkiRoleExact: ResourceValidationPolicy = {
    name: "vault-pki-role-exact",
    description:
        "A Vault PKI role issues client certificates for exact names only (no any name, glob, wildcard, subdomain, IP, localhost, URI or other SANs), client use only, at least RSA 2048 or EC P-256, and a max TTL within a rotation period plus grace.",
    enforcementLevel: "mandatory",
    severity: "critical",
    remediationSteps: "allowed_domains = the app's exact names, allow_bare_domains = true and every allow_* widening false, client_flag true and server/code/email flags false, key_type rsa (>= 2048) or ec (>= 256), max_ttl <= maxTtlDays.",
    configSchema: { properties: { maxTtlDays: { type: "number", default: 120, description: "Longest max_ttl a PKI role may have, in days." } } },
    validateResource: forTypes<PkiRoleProps>([T.vaultPkiRole], (props, args, report) => {
        const config = args.getConfig<PkiRoleConfig>();
        for (const p of pkiRoleProblems(props, config.maxTtlDays ?? 120)) report(`${p}.`);
    }),
};

/** Why a rule on a PKI mount is not one of the exact per-role paths this stack needs (undefined when it is). */
export function pkiRuleProblem(rule: VaultPathRule, mount: string, roles: Set<string>, rootGenerated: boolean, readPolicy: boolean): string | undefined {
    if (!(rule.path === mount || rule.path.startsWith(`${mount}/`) || (/[*+]/.test(rule.path) && mount.startsWith(rule.path.replace(/[*+].*$/, ""))))) return undefined;
    if (rule.capabilities.every((c) => c === "deny")) return undefined;
    if (readPolicy) return `the app read policy grants ${rule.capabilities.join(", ")} on "${rule.path}" of the PKI mount ${mount}: an app reads its certificate from its KV secret, never from PKI`;
    if (/[*+]/.test(rule.path)) return `"${rule.path}" is a glob over the PKI mount ${mount}: name each role's issue and roles paths`;
    const rest = rule.path.slice(mount.length + 1);
    const m = /^(issue|roles)\/([^/]+)$/.exec(rest);
    if (m) {
        if (!roles.has(m[2])) return `"${rule.path}" names role ${m[2]}, which this stack does not define`;
        if (m[1] === "issue" && rule.capabilities.some((c) => c !== "update" && c !== "create")) return `"${rule.path}" grants ${rule.capabilities.join(", ")}; issuing needs update only`;
        return undefined;
    }
    if (rest === "root/generate/internal" && rootGenerated) return undefined;
    return `"${rule.path}" is a PKI endpoint the pipeline never needs (only issue/<role>, roles/<role>${rootGenerated ? " and root/generate/internal" : ""})`;
}

export const vaultPkiPathsScoped: StackValidationPolicy = {
    name: "vault-pki-paths-scoped",
    description:
        "On the stack's PKI mounts, a Vault policy grants only exact per-role paths (issue/<role> and roles/<role> of roles the stack defines, root/generate/internal where it generates the root): no glob, no sign, revoke, root, config or issuer endpoint; an app's read policy grants nothing there.",
    enforcementLevel: "mandatory",
    severity: "critical",
    remediationSteps: "Grant update on <pki>/issue/<role> and create/read/update/delete on <pki>/roles/<role> for each role the stack defines, nothing else on the mount.",
    validateStack: async (args, report) => {
        const roles = args.resources.filter((r) => r.type === T.vaultPkiRole);
        if (roles.length === 0) return args.notApplicable("the stack defines no PKI role");
        const byMount = new Map<string, Set<string>>();
        for (const r of roles) {
            const backend = known(() => field(r.props, "backend"));
            const name = known(() => field(r.props, "name"));
            if (typeof backend !== "string" || typeof name !== "string") continue;
            const mount = backend.replace(/^\/+|\/+$/g, "");
            if (!byMount.has(mount)) byMount.set(mount, new Set());
            byMount.get(mount)!.add(name);
        }
        const rooted = new Set(
            args.resources
                .filter((r) => r.type === T.vaultPkiRootCert)
                .map((r) => known(() => field(r.props, "backend")))
                .filter((b): b is string => typeof b === "string")
                .map((b) => b.replace(/^\/+|\/+$/g, "")),
        );
        for (const r of args.resources.filter((x) => x.type === T.vaultPolicy)) {
            const text = known(() => field(r.props, "policy"));
            const name = String(known(() => field(r.props, "name")) ?? "");
            if (typeof text !== "string") continue;
            let rules: VaultPathRule[];
            try {
                rules = await parseVaultPolicy(text);
            } catch {
                continue; // vault-app-policy-scoped reports an unreadable policy
            }
            const readPolicy = new RegExp(DEFAULT_APP_POLICY_NAME).exec(name)?.groups?.role === "read";
            for (const [mount, names] of byMount) {
                for (const rule of rules) {
                    const why = pkiRuleProblem(rule, mount, names, rooted.has(mount), readPolicy);
                    if (why) report(`Vault policy ${name}: ${why}.`, r.urn);
                }
            }
        }
    },
};
