import * as pulumi from "@pulumi/pulumi";
import * as vault from "@pulumi/vault";
import type { StatefulOptions } from "../config/stateful";

export interface KvV2MountArgs {
    /** Mount path (vault.kv.path). */
    readonly path: string;
    /** Versions Vault keeps per secret: what an operator can roll a bad rotation back to. */
    readonly maxVersions: number;
    /** Disabling a mount erases every secret in it. */
    readonly stateful: StatefulOptions;
    /** The stack's Vault provider (components/vault/provider.ts), passed to every resource. */
    readonly provider: vault.Provider;
}

/**
 * The KV v2 secrets engine this program owns (vault.kv.manage: true): the mount and its engine
 * settings. With manage: false the mount belongs to someone else and this component is not built.
 */
export class KvV2Mount extends pulumi.ComponentResource {
    /** The mount path, resolved once the mount and its settings exist: depend on it to write secrets. */
    readonly path: pulumi.Output<string>;

    constructor(name: string, args: KvV2MountArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform-secrets:vault:KvV2Mount", name, {}, opts);
        const { provider } = args;
        // maxVersions (1-1000) is checked by the config schema before anything registers.

        const mount = new vault.Mount(
            `${name}-mount`,
            { path: args.path, type: "kv", options: { version: "2" }, description: "KV v2: one secret per app and environment (platform-secrets)." },
            // Disabling a mount erases every secret in it: protected and retained where config says so.
            { parent: this, provider, ...args.stateful },
        );
        const settings = new vault.kv.SecretBackendV2(
            `${name}-settings`,
            // Check-and-set stays off: every write would need the secret's current version, which a
            // declarative write cannot know, so every rotation after the first would fail.
            { mount: mount.path, maxVersions: args.maxVersions, casRequired: false },
            { parent: this, provider },
        );
        // Secrets are written only once the engine keeps the configured history.
        this.path = pulumi.all([mount.path, settings.mount]).apply(([path]) => path);
        this.registerOutputs({ path: this.path });
    }
}
