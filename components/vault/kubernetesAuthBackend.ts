import * as pulumi from "@pulumi/pulumi";
import * as vault from "@pulumi/vault";

export interface KubernetesAuthBackendArgs {
    /** Auth backend path (vault.kubernetesAuth.path). */
    readonly path: string;
    /** Kubernetes API server Vault sends TokenReviews to. */
    readonly host: string;
    /** PEM CA bundle of that API server. */
    readonly caCertPem?: string;
    /** Service account token issuer; when set, Vault validates the `iss` claim against it. */
    readonly issuer?: string;
    /** The stack's Vault provider (components/vault/provider.ts), passed to every resource. */
    readonly provider: vault.Provider;
}

/**
 * A Kubernetes auth backend this program owns (vault.kubernetesAuth.manage: true) and its config.
 * With manage: false the backend and its config belong to someone else and this is not built; the
 * app roles are then created on the existing backend.
 *
 * No token reviewer JWT is configured: Vault then reviews each login with the logging-in token
 * itself (or, when Vault runs in the cluster, its own service account), so the reader service
 * accounts need the `system:auth-delegator` ClusterRole unless Vault runs in-cluster.
 */
export class KubernetesAuthBackend extends pulumi.ComponentResource {
    /** The backend path, resolved once the backend is configured: roles depend on it. */
    readonly path: pulumi.Output<string>;

    constructor(name: string, args: KubernetesAuthBackendArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform-secrets:vault:KubernetesAuthBackend", name, {}, opts);
        const { provider } = args;
        if (!args.host.startsWith("https://")) throw new Error(`the Kubernetes API host must be https://, got ${args.host}`);

        const backend = new vault.AuthBackend(
            `${name}-backend`,
            { type: "kubernetes", path: args.path, description: "Kubernetes auth for the External Secrets stores (platform-secrets)." },
            { parent: this, provider },
        );
        const config = new vault.kubernetes.AuthBackendConfig(
            `${name}-config`,
            {
                backend: backend.path,
                kubernetesHost: args.host,
                kubernetesCaCert: args.caCertPem,
                issuer: args.issuer,
                // Validate the issuer whenever one is configured: a token from another cluster is refused.
                disableIssValidation: args.issuer === undefined,
            },
            { parent: this, provider },
        );
        this.path = pulumi.all([backend.path, config.backend]).apply(([path]) => path);
        this.registerOutputs({ path: this.path });
    }
}
