import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { AwsAccount } from "./account";
import { backupAccessPolicy, irsaTrustPolicy, PolicyDocument, podIdentityTrustPolicy, policyJson } from "./policies";

/** How the backup job's pod gets the role's credentials (aws.identity). */
export type BackupIdentity =
    | {
          readonly kind: "irsa";
          /** aws.eks.oidcProviderArn: the Federated principal. */
          readonly oidcProviderArn: string;
          /** The issuer without https://, as condition keys name it. */
          readonly issuerHost: string;
      }
    | {
          readonly kind: "pod-identity";
          /** aws.eks.clusterName: where the Pod Identity association is made. */
          readonly clusterName: string;
      };

export interface BackupRoleArgs {
    /** The stack's AWS provider. */
    readonly provider: aws.Provider;
    readonly account: AwsAccount;
    /** The role's fixed name, AppSpec.backups[].roleName: its ARN is what the ServiceAccount is annotated with. */
    readonly roleName: string;
    /** The one ServiceAccount that may assume the role. */
    readonly namespace: string;
    readonly serviceAccount: string;
    readonly identity: BackupIdentity;
    /** The bucket and key prefix the job writes under, and the key S3 encrypts with. */
    readonly bucketArn: pulumi.Input<string>;
    readonly prefix: string;
    readonly keyArn: pulumi.Input<string>;
    readonly tags?: Record<string, string>;
}

/**
 * The IAM role of one backup job: assumable by exactly one ServiceAccount (IRSA, or EKS Pod Identity
 * with its association), allowed only what the job does on its own bucket and prefix.
 * No access key exists for it: credentials are short-lived and issued to the pod.
 */
export class BackupRole extends pulumi.ComponentResource {
    readonly role: aws.iam.Role;
    readonly arn: pulumi.Output<string>;

    constructor(name: string, args: BackupRoleArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform-secrets:aws:BackupRole", name, {}, opts);
        const { provider, identity } = args;
        // The role name (IAM's rules, unique across the catalog) and the relative key prefix are
        // checked by the config rules before anything registers.

        const who = { namespace: args.namespace, serviceAccount: args.serviceAccount };
        const trust: PolicyDocument =
            identity.kind === "irsa"
                ? irsaTrustPolicy({ ...who, oidcProviderArn: identity.oidcProviderArn, issuerHost: identity.issuerHost })
                : podIdentityTrustPolicy({ ...who, clusterName: identity.clusterName });

        this.role = new aws.iam.Role(
            `${name}-role`,
            {
                // A fixed name, so the Kubernetes side and the key policy know the ARN without a lookup.
                name: args.roleName,
                description: `Backup job ${args.namespace}/${args.serviceAccount}: writes its own prefix of its own bucket`,
                assumeRolePolicy: policyJson(trust),
                tags: args.tags,
            },
            { parent: this, provider },
        );
        new aws.iam.RolePolicy(
            `${name}-access`,
            {
                role: this.role.name,
                name: "backup-access",
                policy: policyJson(backupAccessPolicy({ bucketArn: args.bucketArn, prefix: args.prefix, keyArn: args.keyArn, account: args.account })),
            },
            { parent: this, provider },
        );
        if (identity.kind === "pod-identity") {
            new aws.eks.PodIdentityAssociation(
                `${name}-pod-identity`,
                {
                    clusterName: identity.clusterName,
                    namespace: args.namespace,
                    serviceAccount: args.serviceAccount,
                    roleArn: this.role.arn,
                    // The trust policy's conditions read the session tags EKS sets: keep them on.
                    disableSessionTags: false,
                    tags: args.tags,
                },
                { parent: this, provider },
            );
        }
        this.arn = this.role.arn;
        this.registerOutputs({ arn: this.arn });
    }
}
