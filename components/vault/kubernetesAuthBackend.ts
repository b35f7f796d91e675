import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as vault from "@pulumi/vault";

/** The EKS cluster whose API server Vault reviews tokens against. */
export interface EksClusterRef {
    /** aws.eks.clusterName. */
    readonly name: string;
    /** The stack's AWS provider (components/aws/provider.ts): the lookup is eks:DescribeCluster in the stack's account and region. */
    readonly provider: aws.Provider;
}

export interface KubernetesAuthBackendArgs {
    /** Auth backend path (vault.kubernetesAuth.path). */
    readonly path: string;
    /** Kubernetes API server Vault sends TokenReviews to; absent: the EKS cluster's endpoint. */
    readonly host?: string;
    /** PEM CA bundle of that API server; absent: the EKS cluster's CA. */
    readonly caCertPem?: string;
    /** Service account token issuer; Vault validates every login's `iss` claim against it. */
    readonly issuer: string;
    /** The cluster the host and CA are read from when they are not configured. */
    readonly cluster?: EksClusterRef;
    /** The stack's Vault provider (components/vault/provider.ts), passed to every resource. */
    readonly provider: vault.Provider;
}

/**
 * The PEM text of an EKS cluster's CA (DescribeCluster's `certificateAuthority.data` is base64 of
 * the PEM). Anything that does not decode to PEM certificates is refused: Vault would otherwise
 * accept a config it can never verify the API server with, and fail only at the first login.
 */
export function eksCaPem(data: string | undefined, cluster: string): string {
    const pem = Buffer.from(data ?? "", "base64").toString("utf8").trim();
    if (!/^-----BEGIN CERTIFICATE-----\n[\s\S]+\n-----END CERTIFICATE-----$/.test(pem)) {
        throw new Error(`EKS cluster ${cluster}: certificateAuthority.data is not a base64 PEM certificate bundle`);
    }
    return `${pem}\n`;
}

/**
 * A Kubernetes auth backend this program owns (vault.kubernetesAuth.manage: true) and its config.
 * With manage: false the backend and its config belong to someone else and this is not built; the
 * app roles are then created on the existing backend.
 *
 * The API host and CA default to the EKS cluster's (aws.eks.getCluster through the stack's AWS
 * provider): an EKS API server's certificate is signed by the cluster's private CA, so Vault, which
 * runs outside the cluster, could not verify it against its system roots. The lookup happens only
 * when one of the two is not configured.
 *
 * No token reviewer JWT is configured: Vault reviews each login with the logging-in token itself,
 * so the reader tokens carry the API server's audience next to Vault's, and each reader service
 * account has the `system:auth-delegator` ClusterRole (both the Kubernetes component's job). A
 * reviewer JWT would be a long-lived credential that can review any token, stored in Vault.
 */
export class KubernetesAuthBackend extends pulumi.ComponentResource {
    /** The backend path, resolved once the backend is configured: roles depend on it. */
    readonly path: pulumi.Output<string>;

    constructor(name: string, args: KubernetesAuthBackendArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform-secrets:vault:KubernetesAuthBackend", name, {}, opts);
        const { provider } = args;
        // host and issuer are https URLs with ASCII hosts: the config schema checks them before anything registers.

        // Only what is not configured is read from the cluster, so a stack that configures both
        // needs no eks:DescribeCluster.
        // rules.ts: without aws.eks, host and CA are both configured and no lookup happens.
        const needsLookup = args.host === undefined || args.caCertPem === undefined;
        if (needsLookup && !args.cluster) throw new Error("Kubernetes auth: no EKS cluster to read the API host and CA from, and not both configured");
        const eks = args.cluster as EksClusterRef;
        const cluster =
            args.host === undefined || args.caCertPem === undefined
                ? aws.eks.getClusterOutput({ name: eks.name }, { parent: this, provider: eks.provider })
                : undefined;
        const host: pulumi.Output<string> =
            args.host !== undefined
                ? pulumi.output(args.host)
                : cluster!.endpoint.apply((endpoint) => {
                      if (!endpoint?.startsWith("https://")) throw new Error(`EKS cluster ${eks.name} reports no https endpoint (got ${JSON.stringify(endpoint)})`);
                      return endpoint;
                  });
        const caCertPem: pulumi.Output<string> =
            args.caCertPem !== undefined ? pulumi.output(args.caCertPem) : cluster!.certificateAuthorities.apply((cas) => eksCaPem(cas?.[0]?.data, eks.name));

        const backend = new vault.AuthBackend(
            `${name}-backend`,
            { type: "kubernetes", path: args.path, description: "Kubernetes auth for the External Secrets stores (platform-secrets)." },
            { parent: this, provider },
        );
        const config = new vault.kubernetes.AuthBackendConfig(
            `${name}-config`,
            {
                backend: backend.path,
                kubernetesHost: host,
                kubernetesCaCert: caCertPem,
                issuer: args.issuer,
                // Always validate the issuer: a token of another cluster is refused even if that
                // cluster's API server were reachable with the same CA.
                disableIssValidation: false,
                // Never the pod's own service account token, should Vault run in some other
                // Kubernetes cluster: each login's token is the TokenReview bearer (docs/vault.md).
                disableLocalCaJwt: true,
            },
            { parent: this, provider },
        );
        this.path = pulumi.all([backend.path, config.backend]).apply(([path]) => path);
        this.registerOutputs({ path: this.path });
    }
}
