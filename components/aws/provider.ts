import * as aws from "@pulumi/aws";
import type { AwsSettings, PlatformConfig } from "../config/model";
import { stackAccount } from "./account";

/** The stack's AWS provider: region and default tags from stack config, credentials from the environment (OIDC in CI). */
export function createAwsProvider(config: PlatformConfig & { aws: AwsSettings }): aws.Provider {
    return new aws.Provider("aws", {
        region: config.aws.region as aws.Region,
        // The stack's account is its cluster's (see stackAccount): credentials for any other account
        // fail before anything is created, instead of provisioning backups next to the wrong cluster.
        allowedAccountIds: [stackAccount(config).accountId],
        defaultTags: { tags: { ...config.aws.tags, "platform-secrets/environment": config.environment } },
    });
}
