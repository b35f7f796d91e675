import type { PlatformConfig } from "../config/model";

/**
 * How a stateful Vault resource (KV mount, KV data, audit device) is kept: from
 * config.protection, never from the stack's name. Spread into the resource's options.
 */
export interface StatefulOptions {
    /** `pulumi destroy` stops at the resource (protection.protectStateful). Updates still apply. */
    readonly protect: boolean;
    /** The resource stays in Vault when it leaves the program (protection.retainOnDelete). */
    readonly retainOnDelete: boolean;
}

export function statefulOptions(protection: PlatformConfig["protection"]): StatefulOptions {
    return { protect: protection.protectStateful, retainOnDelete: protection.retainOnDelete };
}
