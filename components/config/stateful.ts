import type { PlatformConfig } from "./model";

/**
 * How a stateful resource (KV mount and data, audit device, backup buckets and key, managed
 * namespaces) is kept: from config.protection, never from the stack's name. Spread into the
 * resource's options.
 */
export interface StatefulOptions {
    /** `pulumi destroy` stops at the resource (protection.protectStateful). Updates still apply. */
    readonly protect: boolean;
    /** The resource stays in the cloud when it leaves the program (protection.retainOnDelete). */
    readonly retainOnDelete: boolean;
}

export function statefulOptions(protection: PlatformConfig["protection"]): StatefulOptions {
    return { protect: protection.protectStateful, retainOnDelete: protection.retainOnDelete };
}
