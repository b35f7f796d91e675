import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { AppSpec, AwsSettings, BackupSettings, PlatformConfig } from "../config/model";
import { AwsAccount, issuerHost, roleArn, stackAccount } from "./account";
import { BackupBucket } from "./backupBucket";
import { BackupIdentity, BackupRole } from "./backupRole";
import { BackupKey } from "./backupKey";

export interface BackupsArgs {
    /** The stack's AWS provider. */
    readonly provider: aws.Provider;
    /** Apps with their backup targets; apps without backups get nothing. */
    readonly apps: AppSpec[];
    /** environment. */
    readonly environment: string;
    /** The KMS key's alias (PlatformConfig.backupKeyAlias, checked by the config rules). */
    readonly keyAlias: string;
    readonly aws: AwsSettings;
    readonly backup: BackupSettings;
    readonly protection: PlatformConfig["protection"];
}

/** What the backup CronJob and its ServiceAccount need, per app and target (the `backups` stack output). */
export interface BackupTargetOutput {
    bucketName: pulumi.Output<string>;
    bucketArn: pulumi.Output<string>;
    /** The ARN to annotate the ServiceAccount with (eks.amazonaws.com/role-arn) under IRSA. */
    roleArn: pulumi.Output<string>;
    serviceAccount: string;
    namespace: string;
    /** Key prefix the job writes under. */
    prefix: string;
}

/**
 * The stack's backup storage (runbook 001 §3.6, without static AWS keys): one KMS key, and per
 * backup target of every app a bucket and the role its job assumes.
 *
 * Children are named `<app>-<target>-backup`, not after this component: the role's logical name
 * `<app>-<target>-backup-role` and physical name `<app>-<target>-backup-<env>` are what the
 * Kubernetes side relies on.
 */
export class Backups extends pulumi.ComponentResource {
    readonly key: BackupKey;
    readonly account: AwsAccount;
    /** app → target → what its job needs. */
    readonly targets: Record<string, Record<string, BackupTargetOutput>>;

    constructor(name: string, args: BackupsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform-secrets:aws:Backups", name, {}, opts);
        const { provider } = args;
        const apps = args.apps.filter((a) => a.backups.length > 0);
        if (apps.length === 0) throw new Error(`${name}: no app declares backups; create Backups only when one does`);
        this.account = stackAccount({ aws: args.aws });

        const identity: BackupIdentity =
            args.aws.identity === "irsa"
                ? { kind: "irsa", oidcProviderArn: args.aws.eks.oidcProviderArn, issuerHost: issuerHost(args.aws.eks.oidcIssuerUrl) }
                : { kind: "pod-identity", clusterName: args.aws.eks.clusterName };

        // The key first: its policy names the roles by their fixed ARNs, which need no role to exist.
        this.key = new BackupKey(
            `${name}-kms`,
            {
                provider,
                account: this.account,
                aliasName: args.keyAlias,
                roleArns: apps.flatMap((app) => app.backups.map((b) => roleArn(this.account, b.roleName))),
                deletionWindowDays: args.backup.kmsDeletionWindowDays,
                protection: args.protection,
            },
            { parent: this },
        );

        this.targets = {};
        for (const app of apps) {
            this.targets[app.name] = {};
            for (const b of app.backups) {
                const tags = { "platform-secrets/app": app.name, "platform-secrets/backup-target": b.target };
                const base = `${app.name}-${b.target}-backup`;
                const bucket = new BackupBucket(
                    base,
                    { provider, bucketName: b.bucketName, keyArn: this.key.arn, settings: args.backup, protection: args.protection, tags },
                    { parent: this },
                );
                const role = new BackupRole(
                    base,
                    {
                        provider,
                        account: this.account,
                        roleName: b.roleName,
                        namespace: app.namespace,
                        serviceAccount: b.serviceAccount,
                        identity,
                        bucketArn: bucket.arn,
                        prefix: b.prefix,
                        keyArn: this.key.arn,
                        tags,
                    },
                    { parent: this },
                );
                this.targets[app.name][b.target] = {
                    bucketName: bucket.bucketName,
                    bucketArn: bucket.arn,
                    roleArn: role.arn,
                    serviceAccount: b.serviceAccount,
                    namespace: app.namespace,
                    prefix: b.prefix,
                };
            }
        }
        this.registerOutputs({ keyArn: this.key.arn, targets: this.targets });
    }
}
