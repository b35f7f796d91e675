/**
 * The program: validated config in, one stack's secrets platform out. `index.ts` calls `main()`;
 * tests and the offline plan call it under Pulumi's mocks.
 */
import * as pulumi from "@pulumi/pulumi";
import { createAwsProvider } from "./aws/provider";
import { loadConfig } from "./config/load";
import { AppCredentials } from "./credentials/appCredentials";
import { createKubernetesProvider } from "./kubernetes/provider";
import { createVaultProvider } from "./vault/provider";
import { VaultPlatform } from "./vault/vaultPlatform";

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

    // Vault: KV v2 data per app and environment, read policies, Kubernetes auth roles, pipeline policies, audit.
    const vaultPlatform = new VaultPlatform("vault", { config, credentials, provider: providers.vault });

    return {
        environment: config.environment,
        /** Every secret without its value: app, env var, Vault path and property, source, generation, age. */
        inventory: config.apps.flatMap((app) => credentials[app.name].inventory),
        /** Vault paths, policy and role names, and each app's KV data version (no values). */
        vault: vaultPlatform.summary(),
        providers: pulumi.output({ vault: providers.vault.urn, aws: providers.aws.urn, kubernetes: providers.kubernetes.urn }),
    };
}
