import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { PlatformConfig } from "../config/model";
import { AwsAccount } from "./account";
import { backupKeyPolicy, policyJson } from "./policies";
import { statefulOptions } from "../config/stateful";

export interface BackupKeyArgs {
    /** The stack's AWS provider. */
    readonly provider: aws.Provider;
    readonly account: AwsAccount;
    /** Alias name, with the `alias/` prefix. */
    readonly aliasName: string;
    /** ARNs of the backup roles: the only principals that may use the key, and only through S3. */
    readonly roleArns: string[];
    /** backup.kmsDeletionWindowDays: how long a scheduled deletion can still be cancelled. */
    readonly deletionWindowDays: number;
    /** protection.*: the key is stateful (losing it loses every backup it encrypted). */
    readonly protection: PlatformConfig["protection"];
    readonly tags?: Record<string, string>;
}

/** The stack's customer-managed KMS key for backups, with automatic rotation, and its alias. */
export class BackupKey extends pulumi.ComponentResource {
    readonly key: aws.kms.Key;
    readonly alias: aws.kms.Alias;
    readonly arn: pulumi.Output<string>;

    constructor(name: string, args: BackupKeyArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform-secrets:aws:BackupKey", name, {}, opts);
        const { provider } = args;
        // The alias follows KMS's rules (not alias/aws/): a config rule, checked before anything registers.
        if (args.roleArns.length === 0) throw new Error(`${name}: a backup key needs at least one backup role`);
        // The deletion window (7-30 days) is checked by the config schema.

        this.key = new aws.kms.Key(
            `${name}-key`,
            {
                description: `Backups of the platform-secrets apps (${args.aliasName})`,
                enableKeyRotation: true,
                deletionWindowInDays: args.deletionWindowDays,
                policy: policyJson(backupKeyPolicy({ account: args.account, roleArns: args.roleArns })),
                tags: args.tags,
            },
            // Stateful: deleting the key makes every backup it encrypted unreadable, so where the stack
            // says so, `pulumi destroy` stops here and a removed key stays in the account.
            { parent: this, provider, ...statefulOptions(args.protection) },
        );
        // The alias guards the key as much as the key itself: buckets and operators find the key by it.
        this.alias = new aws.kms.Alias(`${name}-alias`, { name: args.aliasName, targetKeyId: this.key.keyId }, { parent: this, provider, ...statefulOptions(args.protection) });
        this.arn = this.key.arn;
        this.registerOutputs({ arn: this.arn, alias: this.alias.name });
    }
}
