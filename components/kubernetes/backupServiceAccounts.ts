import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { namedObjectOptions } from "./provider";
import type { AppSpec } from "../config/model";
import { IRSA_ROLE_ANNOTATION, managedLabels } from "./specs";

export interface BackupServiceAccountsArgs {
    readonly app: AppSpec;
    /** The app's namespace, as an Output of the Namespace when this program creates it. */
    readonly namespace: pulumi.Input<string>;
    /** IAM role ARN per backup target (postgres, qdrant), from the AWS component. */
    readonly roleArns: Readonly<Record<string, pulumi.Input<string>>>;
    /** aws.identity is irsa: annotate with the role ARN. With EKS Pod Identity an association binds the role instead. */
    readonly annotateRoleArn: boolean;
    /** The stack's Kubernetes provider. */
    readonly provider: k8s.Provider;
}

/** What a backup CronJob's owner needs: which ServiceAccount to run as, and its role. */
export interface BackupServiceAccountInfo {
    namespace: string;
    serviceAccount: string;
    roleArn: pulumi.Output<string>;
    /** true: created here, annotated. false: the app's chart owns it and must set the annotation. */
    managed: boolean;
}

/**
 * The ServiceAccounts the app's backup CronJobs run as (runbook 001 §3.6, IRSA instead of static
 * AWS keys), one per backup target, each annotated with its own role. Targets whose chart owns the
 * ServiceAccount (manageServiceAccount: false) are only reported, with their role ARN.
 */
export class BackupServiceAccounts extends pulumi.ComponentResource {
    /** Per target. */
    readonly accounts: Record<string, BackupServiceAccountInfo>;

    constructor(name: string, args: BackupServiceAccountsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform-secrets:kubernetes:BackupServiceAccounts", name, {}, opts);
        const { app, provider } = args;
        const missing = app.backups.filter((b) => args.roleArns[b.target] === undefined).map((b) => b.target);
        if (missing.length > 0) throw new Error(`${app.name}: no IAM role ARN for backup target(s) ${missing.join(", ")}`);

        this.accounts = {};
        for (const b of app.backups) {
            const roleArn = pulumi.output(args.roleArns[b.target]);
            if (b.manageServiceAccount) {
                new k8s.core.v1.ServiceAccount(
                    `${name}-${b.target}`,
                    {
                        metadata: {
                            name: b.serviceAccount,
                            namespace: args.namespace,
                            labels: managedLabels(app.name),
                            annotations: args.annotateRoleArn ? { [IRSA_ROLE_ANNOTATION]: roleArn } : {},
                        },
                    },
                    namedObjectOptions(this, provider),
                );
            }
            this.accounts[b.target] = { namespace: app.namespace, serviceAccount: b.serviceAccount, roleArn, managed: b.manageServiceAccount };
        }
        this.registerOutputs({ accounts: this.accounts });
    }
}
