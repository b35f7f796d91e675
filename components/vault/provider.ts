import * as vault from "@pulumi/vault";
import type { PlatformConfig } from "../config/model";

/**
 * The stack's Vault provider, from stack config. The token is never config: the provider reads
 * VAULT_TOKEN from the environment (CI injects it from a repository secret).
 */
export function createVaultProvider(config: PlatformConfig): vault.Provider {
    return new vault.Provider("vault", {
        address: config.vault.address,
        namespace: config.vault.namespace,
        // Relative to the project directory, which is the provider process's working directory
        // (the engine starts plugins there: pkg/engine/deployment.go, GetPwdMain), so the input is
        // the same on every runner and laptop. Unset with caFromSystemRoots: the system roots.
        caCertFile: config.vault.caCertFile,
        // Child tokens need `auth/token/create`; the rotator policy does not grant it.
        skipChildToken: true,
    });
}
