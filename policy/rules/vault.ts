/**
 * Vault policies by content (runbooks 000 and 003: least privilege), whatever their name says:
 * - no rule grants "*"; `sudo` only on the exact paths where Vault demands it for what the pipeline
 *   manages (`sys/auth/<path>` to enable the Kubernetes auth backend, `sys/audit` and
 *   `sys/audit/<path>` for the audit device), never on a glob;
 * - no glob grants anything outside an app's own `<app>/<env>` subtree: not over `sys/`, not over a
 *   whole mount;
 * - a read-only policy (every capability read, list or deny) reaches KV data of one app only, the app
 *   its name is for (`<app>-secrets-<role>-<env>`, components/config/model.ts readPolicyName); one
 *   named for no app reaches no app's data. An app's policy stays inside its app in its environment,
 *   and its read policy only reads.
 * Kubernetes auth roles are judged too: bound to exact ServiceAccount names and namespaces (no `*`,
 * no namespace selector) and carrying only their own app's read policy.
 */
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { forTypes } from "../lib/dispatch";
import { field, known } from "../lib/values";
import { parseVaultPolicy, VaultPolicyParseError, type VaultPathRule } from "../lib/vaultPolicy";
import { T } from "../types";

/** vault.PolicyArgs. */
export interface VaultPolicyProps {
    name?: string;
    policy?: string;
}

export interface VaultPolicyConfig {
    /** Regex with named groups `app`, `role` and `env` that an app policy's name matches. */
    appPolicyNamePattern?: string;
}

export const DEFAULT_APP_POLICY_NAME = "^(?<app>[a-z0-9]([-a-z0-9]*[a-z0-9])?)-secrets-(?<role>read)-(?<env>[a-z0-9]([-a-z0-9]*[a-z0-9])?)$";
/** KV v2 sub-paths between the mount and the secret path. */
const KV_V2_SEGMENTS = ["data", "metadata", "delete", "undelete", "destroy", "subkeys"];
const READ_ONLY = ["read", "list", "deny"];
/**
 * A token's own endpoints, which an app's login token needs when it is issued without Vault's
 * default policy (the roles set token_no_default_policy): they touch only the calling token.
 */
export const TOKEN_SELF_SERVICE: Record<string, string[]> = {
    "auth/token/lookup-self": ["read"],
    "auth/token/renew-self": ["update"],
    "auth/token/revoke-self": ["update"],
};
const GLOB = /[*+]/;
/** The only paths Vault requires sudo on for what the pipeline manages: enabling an auth backend, an audit device, listing audit devices. */
const SUDO_PATHS = [/^sys\/audit$/, /^sys\/audit\/[^*+]+$/, /^sys\/auth\/[^*+]+$/];

/** Why `rule` reaches outside `<kv-subpath>/.../<app>/<env>` (undefined when it does not). */
export function outsideApp(rule: VaultPathRule, app: string, env: string): string | undefined {
    // The app's alternating database users (docs/database-credentials.md): exactly its static roles,
    // <mount>/static-creds/<app>-<database>-<env>-<a|b>, database names without '-' so no app's role
    // is another app's (soma would otherwise match soma-memory-...).
    const esc = (x: string) => x.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    if (new RegExp(`^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*/static-creds/${esc(app)}-[a-z][a-z0-9]*-${esc(env)}-[ab]$`).test(rule.path)) return undefined;
    const segments = rule.path.split("/");
    for (let i = 2; i + 1 < segments.length; i++) {
        if (segments[i] !== app || segments[i + 1] !== env) continue;
        const prefix = segments.slice(0, i + 2);
        if (!segments.slice(1, i).some((s) => KV_V2_SEGMENTS.includes(s))) continue;
        if (prefix.some((s) => GLOB.test(s) || s === "..")) return `path "${rule.path}" has a wildcard before ${app}/${env}`;
        return undefined;
    }
    return `path "${rule.path}" is not under <mount>/<data|metadata|...>/.../${app}/${env}`;
}

/**
 * A grant (issue 14, runbook 002): read, and only read, on one exact shared copy of another app's
 * secret in the same environment, `<mount>/data/.../<owner>/<env>/shared/<secret>`. Never a glob,
 * never the owner's own path (which holds all its values), never metadata or another environment.
 */
export function isExactGrant(rule: VaultPathRule, app: string, env: string): boolean {
    const segments = rule.path.split("/");
    const n = segments.length;
    if (n < 6 || segments.some((s) => GLOB.test(s) || s === ".." || s === "")) return false;
    if (segments[n - 2] !== "shared" || segments[n - 3] !== env || segments[n - 4] === app) return false;
    if (segments.slice(1, n - 4).indexOf("data") === -1) return false;
    return rule.capabilities.length > 0 && rule.capabilities.every((c) => c === "read");
}

/** Whether a path reaches KV data (a KV v2 sub-path after the mount), or could through a glob. */
function reachesKv(path: string): boolean {
    const segments = path.split("/");
    return segments.slice(1).some((s) => KV_V2_SEGMENTS.includes(s) || GLOB.test(s)) || (segments.length <= 2 && GLOB.test(path));
}

const grants = (rule: VaultPathRule) => !(rule.capabilities.length > 0 && rule.capabilities.every((c) => c === "deny"));
const isSelfService = (rule: VaultPathRule) => {
    const allowed = TOKEN_SELF_SERVICE[rule.path];
    return !!allowed && rule.capabilities.every((c) => allowed.includes(c));
};

/** Every problem of one policy document, judged by what it grants. */
export function vaultPolicyProblems(name: string, rules: VaultPathRule[], appPattern: string): string[] {
    const problems: string[] = [];
    const m = new RegExp(appPattern).exec(name);
    const app = m?.groups?.app;
    const env = m?.groups?.env;
    const readOnly = rules.every((r) => r.capabilities.every((c) => READ_ONLY.includes(c)) || isSelfService(r));
    for (const rule of rules) {
        if (rule.capabilities.includes("*")) problems.push(`path "${rule.path}" grants "*"`);
        if (rule.capabilities.includes("sudo") && (GLOB.test(rule.path) || !SUDO_PATHS.some((p) => p.test(rule.path)))) {
            problems.push(`path "${rule.path}" grants sudo, which Vault needs only on sys/auth/<path>, sys/audit and sys/audit/<path>`);
        }
        if (!grants(rule) || isSelfService(rule)) continue;
        const inOwnApp = app && env ? outsideApp(rule, app, env) === undefined : false;
        if (GLOB.test(rule.path) && !inOwnApp) {
            problems.push(`path "${rule.path}" is a glob over ${rule.path.startsWith("sys/") ? "sys/" : "a mount or other apps' paths"}`);
            continue;
        }
        if (app && env) {
            // A read policy may also read the exact shared copies of secrets granted to its app.
            if (m?.groups?.role === "read" && isExactGrant(rule, app, env)) continue;
            const outside = outsideApp(rule, app, env);
            if (outside) problems.push(`${outside}: outside app ${app} in ${env}`);
            if (m?.groups?.role === "read") {
                const writes = rule.capabilities.filter((c) => !READ_ONLY.includes(c));
                if (writes.length > 0) problems.push(`the read policy grants ${writes.join(", ")} on path "${rule.path}"`);
            }
        } else if (readOnly && reachesKv(rule.path)) {
            problems.push(`path "${rule.path}" reaches an app's KV data from a read policy that is no app's (${JSON.stringify(name)})`);
        }
    }
    return problems;
}

export const vaultAppPolicyScoped: ResourceValidationPolicy = {
    name: "vault-app-policy-scoped",
    description:
        "Vault policies are judged by what they grant, whatever their name: no \"*\"; sudo only on the exact sys/auth/<path>, sys/audit and sys/audit/<path>; no glob over sys/ or a mount; a read-only policy reaches only its own app's KV data; an app's policy stays inside <app>/<env>, and its read policy only reads.",
    enforcementLevel: "mandatory",
    severity: "critical",
    remediationSteps: "Grant read (and list) on <mount>/data/<prefix>/<app>/<env> and <mount>/metadata/<prefix>/<app>/<env> only, in a policy named <app>-secrets-read-<env>; the pipeline's policies name exact paths and take sudo only where Vault requires it.",
    configSchema: {
        properties: {
            appPolicyNamePattern: { type: "string", default: DEFAULT_APP_POLICY_NAME, description: "Regex with named groups app, role and env." },
        },
    },
    validateResource: forTypes<VaultPolicyProps>([T.vaultPolicy], async (props, args, report) => {
        const config = args.getConfig<VaultPolicyConfig>();
        let rules: VaultPathRule[];
        try {
            rules = await parseVaultPolicy(String(props.policy ?? ""));
        } catch (e) {
            if (e instanceof VaultPolicyParseError) return report(`The policy document cannot be read, so it cannot be checked: ${e.message}.`);
            throw e;
        }
        for (const problem of vaultPolicyProblems(String(props.name ?? ""), rules, config.appPolicyNamePattern ?? DEFAULT_APP_POLICY_NAME)) report(`${problem}.`);
    }),
};

/** vault.kubernetes.AuthBackendRoleArgs, the part read here. */
export interface AuthBackendRoleProps {
    roleName?: string;
    boundServiceAccountNames?: string[];
    boundServiceAccountNamespaces?: string[];
    boundServiceAccountNamespaceSelector?: string;
    tokenPolicies?: string[];
}

export interface AuthRoleConfig {
    appPolicyNamePattern?: string;
    /** Regex with named groups `app` and `env` that a reader role's name matches. */
    roleNamePattern?: string;
}

/** A reader role (`<app>-secrets-reader-<env>`, the store's) or a workload role (`<app>-workload-<env>`, vault delivery). */
export const DEFAULT_ROLE_NAME = "^(?<app>[a-z0-9]([-a-z0-9]*[a-z0-9])?)-(secrets-reader|workload)-(?<env>[a-z0-9]([-a-z0-9]*[a-z0-9])?)$";
const K8S_NAME = /^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/;

export const vaultAuthRoleBound: ResourceValidationPolicy = {
    name: "vault-auth-role-bound",
    description:
        "Kubernetes auth roles are bound to exact ServiceAccount names and namespaces (no \"*\", no namespace selector) and carry only their own app's read policy (<app>-secrets-read-<env>, the app and environment of the role).",
    enforcementLevel: "mandatory",
    severity: "critical",
    remediationSteps: "bound_service_account_names = [\"<app>-secrets-reader\"], bound_service_account_namespaces = [\"<app namespace>\"], token_policies = [\"<app>-secrets-read-<env>\"].",
    configSchema: {
        properties: {
            appPolicyNamePattern: { type: "string", default: DEFAULT_APP_POLICY_NAME, description: "Regex with named groups app, role and env." },
            roleNamePattern: { type: "string", default: DEFAULT_ROLE_NAME, description: "Regex with named groups app and env of a reader role's name." },
        },
    },
    validateResource: forTypes<AuthBackendRoleProps>([T.vaultKubernetesAuthRole], (props, args, report) => {
        const config = args.getConfig<AuthRoleConfig>();
        for (const [field, values] of [["boundServiceAccountNames", props.boundServiceAccountNames], ["boundServiceAccountNamespaces", props.boundServiceAccountNamespaces]] as const) {
            const list = values ?? [];
            if (list.length === 0) report(`${field} is empty: the role must name its ServiceAccount exactly.`);
            for (const v of list) if (typeof v !== "string" || !K8S_NAME.test(v)) report(`${field} holds ${JSON.stringify(v)}, not one exact name (no "*").`);
        }
        if (props.boundServiceAccountNamespaceSelector) report("boundServiceAccountNamespaceSelector admits every namespace its labels match; bind exact namespaces.");
        const policies = props.tokenPolicies ?? [];
        if (policies.length === 0) report("tokenPolicies is empty: the role must carry its app's read policy.");
        const role = new RegExp(config.roleNamePattern ?? DEFAULT_ROLE_NAME).exec(String(props.roleName ?? ""));
        const apps = new Set<string>();
        for (const p of policies) {
            const m = new RegExp(config.appPolicyNamePattern ?? DEFAULT_APP_POLICY_NAME).exec(String(p));
            if (!m?.groups || m.groups.role !== "read") {
                report(`tokenPolicies includes ${JSON.stringify(p)}, which is no app's read policy.`);
                continue;
            }
            apps.add(`${m.groups.app}/${m.groups.env}`);
            if (role?.groups && (role.groups.app !== m.groups.app || role.groups.env !== m.groups.env)) {
                report(`tokenPolicies includes ${JSON.stringify(p)}, the policy of ${m.groups.app} in ${m.groups.env}, on the role of ${role.groups.app} in ${role.groups.env}.`);
            }
        }
        if (apps.size > 1) report(`tokenPolicies spans ${apps.size} apps or environments (${[...apps].sort().join(", ")}); a role is for one app.`);
    }),
};

export const vaultSudoScoped: StackValidationPolicy = {
    name: "vault-sudo-scoped",
    description:
        "sudo, where a Vault policy grants it, is on what this stack manages: sys/auth/<path> only for an auth backend the stack defines, sys/audit/<path> only for an audit device it defines, sys/audit only when it defines one.",
    enforcementLevel: "mandatory",
    severity: "critical",
    remediationSteps: "Grant sudo on sys/auth/<the stack's Kubernetes auth path> and sys/audit[/<the stack's audit path>] only; enabling any other auth method or audit device is the Vault admins' job.",
    validateStack: async (args, report) => {
        const policies = args.resources.filter((r) => r.type === T.vaultPolicy);
        if (policies.length === 0) return args.notApplicable("the stack defines no Vault policy");
        const pathsOf = (type: string) =>
            new Set(
                args.resources
                    .filter((r) => r.type === type)
                    .map((r) => known(() => field(r.props, "path")))
                    .filter((p): p is string => typeof p === "string")
                    .map((p) => p.replace(/^\/+|\/+$/g, "")),
            );
        const authPaths = pathsOf(T.vaultAuthBackend);
        const auditPaths = pathsOf(T.vaultAudit);
        for (const r of policies) {
            const text = known(() => field(r.props, "policy"));
            if (typeof text !== "string") continue;
            let rules: VaultPathRule[];
            try {
                rules = await parseVaultPolicy(text);
            } catch {
                continue; // vault-app-policy-scoped reports an unreadable policy
            }
            // Sudo anywhere else is vault-app-policy-scoped's to report; here: is the allowed shape about something of this stack?
            for (const rule of rules.filter((x) => x.capabilities.includes("sudo") && !GLOB.test(x.path) && SUDO_PATHS.some((p) => p.test(x.path)))) {
                const auth = /^sys\/auth\/(.+)$/.exec(rule.path);
                const audit = /^sys\/audit\/(.+)$/.exec(rule.path);
                const managed = auth ? authPaths.has(auth[1]) : audit ? auditPaths.has(audit[1]) : rule.path === "sys/audit" ? auditPaths.size > 0 : false;
                if (!managed) report(`Vault policy ${r.name} grants sudo on "${rule.path}", which is nothing this stack manages.`, r.urn);
            }
        }
    },
};
