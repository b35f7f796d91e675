/**
 * Stateful production resources are protected, so `pulumi destroy` or a replacement stops at them
 * instead of deleting backups, keys or secrets (runbook 002: revoke and replace on purpose, never
 * by accident).
 *
 * Which stacks require it is policy configuration, not the stack's name: CI passes
 * `--policy-pack-config policy/config/<stack>.json`, and only policy/config/dev.json turns the
 * requirement off. Without a config file the requirement holds (fail closed). The program's own
 * `protection.protectStateful` setting is deliberately not the source: the guardrail must catch a
 * prod stack file that switched protection off.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { DEFAULT_STATEFUL_TYPES, T } from "../types";

/**
 * Inputs that make a delete destroy more than the resource: a bucket emptied first, every KV
 * version destroyed. `retainOnDelete` itself never reaches a policy pack (the analyzer protocol
 * carries protect but not retainOnDelete, @pulumi/pulumi 3.248), so what the pack can see of "kept
 * on delete" is these inputs; the program's tests check retainOnDelete on the recorded graph.
 */
const DESTRUCTIVE_DELETE: Record<string, { input: string; why: string }[]> = {
    [T.bucket]: [{ input: "forceDestroy", why: "deleting it first deletes every object and version in it" }],
    [T.bucketV2]: [{ input: "forceDestroy", why: "deleting it first deletes every object and version in it" }],
    [T.vaultKvSecretV2]: [{ input: "deleteAllVersions", why: "deleting it destroys every version, the rollback history included" }],
};

export interface ProtectionConfig {
    /** Whether this stack's stateful resources must be protected (true unless the stack's config says otherwise). */
    requireProtect?: boolean;
    /** The stateful resource types. */
    statefulTypes?: string[];
}

export const statefulResourcesProtected: ResourceValidationPolicy = {
    name: "stateful-resources-protected",
    description:
        "Everything that holds or guards data is protected in stacks whose policy config requires it (prod): buckets and every resource configuring them, the KMS key and its alias, Vault mounts, KV data and the audit device; and none is set to destroy its data on delete (a bucket's forceDestroy, a KV secret's deleteAllVersions).",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps: "Set platform-secrets:protection.protectStateful: true in the stack file, and pass protect: config.protection.protectStateful on the resource.",
    configSchema: {
        properties: {
            requireProtect: { type: "boolean", default: true, description: "Require protect on stateful resources in this stack." },
            statefulTypes: { type: "array", items: { type: "string" }, default: [...DEFAULT_STATEFUL_TYPES], description: "Stateful resource type tokens." },
        },
    },
    validateResource: (args, report) => {
        const config = args.getConfig<ProtectionConfig>();
        const types = config.statefulTypes ?? DEFAULT_STATEFUL_TYPES;
        if (!types.includes(args.type)) return args.notApplicable("not a stateful resource type");
        if (config.requireProtect === false) return args.notApplicable("this stack's policy config does not require protection");
        if (!args.opts.protect) report(`${args.type} ${args.name} is stateful and not protected.`);
        for (const { input, why } of DESTRUCTIVE_DELETE[args.type] ?? []) {
            if ((args.props as Record<string, unknown>)[input] === true) report(`${args.type} ${args.name} sets ${input}: ${why}.`);
        }
    },
};
