/**
 * The program: validated config in, one stack's secrets platform out. `index.ts` calls `main()`;
 * tests and the offline plan call it under Pulumi's mocks.
 */
import * as pulumi from "@pulumi/pulumi";
import { Backups } from "./aws/backups";
import { createAwsProvider } from "./aws/provider";
import { loadConfig } from "./config/load";
import { AppCredentials } from "./credentials/appCredentials";
import { createKubernetesProvider } from "./kubernetes/provider";
import { createVaultProvider } from "./vault/provider";

export interface MainOptions {
    /** The clock scheduled rotation reads; the real program uses the current time. */
    now?: Date;
}

export async function main(options: MainOptions = {}): Promise<Record<string, unknown>> {
    // Validate everything before constructing anything: bad config registers nothing.
    const config = loadConfig();
    const now = options.now ?? new Date();

    const providers = {
        vault: createVaultProvider(config),
        aws: createAwsProvider(config),
        kubernetes: createKubernetesProvider(config),
    };

    const credentials = Object.fromEntries(
        config.apps.map((app) => [app.name, new AppCredentials(app.name, { app, epoch: config.rotation.epoch, now })]),
    );

    // Backups (runbook 001 §3.6 without static AWS keys): the stack's KMS key, and per backup target
    // an encrypted private bucket and the role only its job's ServiceAccount can assume.
    const backups = config.apps.some((app) => app.backups.length > 0)
        ? new Backups("backups", { provider: providers.aws, apps: config.apps, environment: config.environment, aws: config.aws, backup: config.backup, protection: config.protection })
        : undefined;

    return {
        environment: config.environment,
        /** Every secret without its value: app, env var, Vault path and property, source, generation, age. */
        inventory: config.apps.flatMap((app) => credentials[app.name].inventory),
        /** app → target → { bucketName, bucketArn, roleArn, serviceAccount, namespace, prefix }: for the ServiceAccounts and CronJobs. */
        backups: backups?.targets ?? {},
        backupKeyArn: backups?.key.arn,
        providers: pulumi.output({ vault: providers.vault.urn, aws: providers.aws.urn, kubernetes: providers.kubernetes.urn }),
    };
}
