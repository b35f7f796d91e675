import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { managedLabels } from "./specs";

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
        const { provider } = args;
        const namespace = new k8s.core.v1.Namespace(
            `${name}-namespace`,
            { metadata: { name: args.namespace, labels: managedLabels() } },
            { parent: this, provider },
        );
        // helm.v3.Release rather than helm.v4.Chart: the chart's CRDs, webhook and certificates are
        // managed by Helm as one release (upgrades and rollbacks as ESO documents them).
        this.release = new k8s.helm.v3.Release(
            `${name}-release`,
            {
                name: "external-secrets",
                chart: "external-secrets",
                version: args.chartVersion,
                repositoryOpts: { repo: args.repository },
                namespace: namespace.metadata.name,
                values: { installCRDs: true },
            },
            { parent: this, provider },
        );
        this.registerOutputs({ release: this.release.status });
    }
}
