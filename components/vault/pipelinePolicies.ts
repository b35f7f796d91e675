import * as pulumi from "@pulumi/pulumi";
import * as vault from "@pulumi/vault";
import type { PlatformConfig } from "../config/model";
import { pipelinePolicyNames, previewPolicyRules, rotatorPolicyRules } from "./policies";
import { renderPolicy } from "./policyHcl";

export interface PipelinePoliciesArgs {
    /** The resolved config: apps, KV mount, auth backend and audit settings the rules are derived from. */
    readonly config: PlatformConfig;
    /** The stack's Vault provider (components/vault/provider.ts), passed to every resource. */
    readonly provider: vault.Provider;
}

/**
 * The policies of the pipeline that runs this program: the rotator (`pulumi up`) and the preview
 * (`pulumi preview` on pull requests). See policies.ts for what each grants and why. Binding them
 * to the pipeline's identity (a token role or a JWT auth role) is a one-time admin step (docs/vault.md).
 */
export class PipelinePolicies extends pulumi.ComponentResource {
    readonly rotatorPolicyName: pulumi.Output<string>;
    readonly previewPolicyName: pulumi.Output<string>;

    constructor(name: string, args: PipelinePoliciesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform-secrets:vault:PipelinePolicies", name, {}, opts);
        const { config, provider } = args;
        const names = pipelinePolicyNames(config);
        const rotator = new vault.Policy(`${name}-rotator`, { name: names.rotator, policy: renderPolicy(rotatorPolicyRules(config)) }, { parent: this, provider });
        const preview = new vault.Policy(`${name}-preview`, { name: names.preview, policy: renderPolicy(previewPolicyRules()) }, { parent: this, provider });
        this.rotatorPolicyName = rotator.name;
        this.previewPolicyName = preview.name;
        this.registerOutputs({ rotatorPolicyName: this.rotatorPolicyName, previewPolicyName: this.previewPolicyName });
    }
}
