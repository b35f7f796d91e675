import * as pulumi from "@pulumi/pulumi";
import * as vault from "@pulumi/vault";
import type { StatefulOptions } from "../config/stateful";

export interface AuditDeviceArgs {
    /** Device path (vault.audit.path). */
    readonly path: string;
    /** File on the Vault server the device appends to. */
    readonly filePath: string;
    /** Protected: `pulumi destroy` must not switch auditing off; retained: dropping it from config leaves it running. */
    readonly stateful: StatefulOptions;
    /** The stack's Vault provider (components/vault/provider.ts), passed to every resource. */
    readonly provider: vault.Provider;
}

/**
 * A file audit device (runbook 003: every read, write and delete of a secret is logged). Request
 * and response values are HMAC'd (log_raw false), so the log itself holds no secret.
 */
export class AuditDevice extends pulumi.ComponentResource {
    readonly path: pulumi.Output<string>;

    constructor(name: string, args: AuditDeviceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform-secrets:vault:AuditDevice", name, {}, opts);
        const { provider } = args;
        // filePath is absolute and normalised, or stdout / discard: the config rules check it before anything registers.

        const device = new vault.Audit(
            `${name}-device`,
            {
                type: "file",
                path: args.path,
                description: "Audit log of every Vault request (platform-secrets).",
                options: { file_path: args.filePath, log_raw: "false", hmac_accessor: "true", format: "json" },
            },
            // Every field forces a replacement, and the rotator policy cannot disable a device: a
            // change here is an admin's `pulumi up`. Protected and retained so auditing is never
            // switched off by a destroy or by removing it from config.
            { parent: this, provider, ...args.stateful },
        );
        this.path = device.path;
        this.registerOutputs({ path: this.path });
    }
}
