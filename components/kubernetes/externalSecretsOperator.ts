import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { namespacedRelease } from "./helmRelease";

export interface ExternalSecretsOperatorArgs {
    /** Exact chart version of `external-secrets` (kubernetes.externalSecrets.install.chartVersion). */
    readonly chartVersion: string;
    /** Chart repository URL. */
    readonly repository: string;
    /** Namespace the operator runs in; created here. */
    readonly namespace: string;
    /** The stack's Kubernetes provider. */
    readonly provider: k8s.Provider;
}

/**
 * The External Secrets Operator, installed from its Helm chart with its CRDs, for clusters that do
 * not run it already (kubernetes.externalSecrets.install.enabled).
 */
export class ExternalSecretsOperator extends pulumi.ComponentResource {
    /** The Helm release: stores and ExternalSecrets depend on it (its CRDs and webhook). */
    readonly release: k8s.helm.v3.Release;

    constructor(name: string, args: ExternalSecretsOperatorArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform-secrets:kubernetes:ExternalSecretsOperator", name, {}, opts);
        this.release = namespacedRelease(
            this,
            name,
            { chart: "external-secrets", version: args.chartVersion, repository: args.repository, namespace: args.namespace, values: { installCRDs: true } },
            args.provider,
        );
        this.registerOutputs({ release: this.release.status });
    }
}
