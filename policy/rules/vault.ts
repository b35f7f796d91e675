/**
 * Vault app policies: least privilege (runbooks 000 and 003). No rule grants `sudo` or `*`; every
 * rule of an app's policy stays inside that app's own KV paths for its own environment; a read
 * policy only reads.
 *
 * Which app and environment a policy is for comes from its name, which the model derives once
 * (`<app>-secrets-<role>-<env>`, components/config/model.ts readPolicyName). A policy named any
 * other way cannot be scoped and is reported, unless config lists it in `platformPolicies`.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { forTypes } from "../lib/dispatch";
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
    /** Names of policies that are not app policies (the pipeline's): still no "*". */
    platformPolicies?: string[];
    /** Regex of the pipeline's own policy names (components/vault/pipelinePolicies.ts). */
    platformPolicyNamePattern?: string;
}

/** The rotator and preview policies the pipeline runs with: `platform-secrets-<role>-<env>`. */
export const DEFAULT_PLATFORM_POLICY_NAME = "^platform-secrets-(rotator|preview)-[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
export const DEFAULT_APP_POLICY_NAME = "^(?<app>[a-z0-9]([-a-z0-9]*[a-z0-9])?)-secrets-(?<role>[a-z]+)-(?<env>[a-z0-9]([-a-z0-9]*[a-z0-9])?)$";
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

/** Why `rule` reaches outside `<kv-subpath>/.../<app>/<env>` (undefined when it does not). */
export function outsideApp(rule: VaultPathRule, app: string, env: string): string | undefined {
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

export const vaultAppPolicyScoped: ResourceValidationPolicy = {
    name: "vault-app-policy-scoped",
    description: "Vault policies grant no sudo and no \"*\" capability, an app's policy only reaches that app's KV paths for its environment, and a read policy only reads.",
    enforcementLevel: "mandatory",
    severity: "critical",
    remediationSteps: "Grant read (and list) on <mount>/data/<prefix>/<app>/<env> and <mount>/metadata/<prefix>/<app>/<env> only, in a policy named <app>-secrets-read-<env>.",
    configSchema: {
        properties: {
            appPolicyNamePattern: { type: "string", default: DEFAULT_APP_POLICY_NAME, description: "Regex with named groups app, role and env." },
            platformPolicies: { type: "array", items: { type: "string" }, default: [], description: "Policies that are not app policies." },
            platformPolicyNamePattern: { type: "string", default: DEFAULT_PLATFORM_POLICY_NAME, description: "Regex of the pipeline's policy names." },
        },
    },
    validateResource: forTypes<VaultPolicyProps>([T.vaultPolicy], (props, args, report) => {
        const config = args.getConfig<VaultPolicyConfig>();
        let rules: VaultPathRule[];
        try {
            rules = parseVaultPolicy(String(props.policy ?? ""));
        } catch (e) {
            if (e instanceof VaultPolicyParseError) return report(`The policy document cannot be read, so it cannot be checked: ${e.message}.`);
            throw e;
        }
        for (const rule of rules) if (rule.capabilities.includes("*")) report(`path "${rule.path}" grants "*".`);
        const name = String(props.name ?? "");
        // The pipeline's own policies are not app policies: Vault requires sudo to enable an auth
        // backend or audit device, and the rotator spans every app. Their exact grants are checked
        // by the Vault tests; here they only must not grant "*".
        if ((config.platformPolicies ?? []).includes(name) || new RegExp(config.platformPolicyNamePattern ?? DEFAULT_PLATFORM_POLICY_NAME).test(name)) return;
        for (const rule of rules) if (rule.capabilities.includes("sudo")) report(`path "${rule.path}" grants sudo.`);
        const m = new RegExp(config.appPolicyNamePattern ?? DEFAULT_APP_POLICY_NAME).exec(name);
        const app = m?.groups?.app;
        const env = m?.groups?.env;
        if (!app || !env) return report(`The policy name ${JSON.stringify(name)} does not say which app and environment it is for (<app>-secrets-<role>-<env>).`);
        for (const rule of rules) {
            if (rule.capabilities.length > 0 && rule.capabilities.every((c) => c === "deny")) continue;
            const selfService = TOKEN_SELF_SERVICE[rule.path];
            if (selfService && rule.capabilities.every((c) => selfService.includes(c))) continue;
            const outside = outsideApp(rule, app, env);
            if (outside) report(`${outside}: outside app ${app} in ${env}.`);
            if (m.groups?.role === "read") {
                const writes = rule.capabilities.filter((c) => !READ_ONLY.includes(c));
                if (writes.length > 0) report(`The read policy grants ${writes.join(", ")} on path "${rule.path}".`);
            }
        }
    }),
};
