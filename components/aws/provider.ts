import * as aws from "@pulumi/aws";
import type { PlatformConfig } from "../config/model";

/** The stack's AWS provider: region and default tags from stack config, credentials from the environment (OIDC in CI). */
export function createAwsProvider(config: PlatformConfig): aws.Provider {
    return new aws.Provider("aws", {
        region: config.aws.region as aws.Region,
        defaultTags: { tags: { ...config.aws.tags, "platform-secrets/environment": config.environment } },
    });
}
