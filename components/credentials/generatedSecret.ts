import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as time from "@pulumiverse/time";
import type { SecretSpec } from "../config/model";
import { dualKeyState, DualKeySlot } from "./rotation";

export interface GeneratedSecretArgs {
    /** The catalog entry; its source must be random-bytes or password. */
    readonly secret: SecretSpec;
    /** The rotation counter to apply (rotationState.ts: it moves by at most one per update). */
    readonly rotation: number;
}

/**
 * One generated secret: a @pulumi/random resource (two for dual-key) whose keepers carry the
 * rotation counter, and a time.Static per slot recording when it was last generated. The keeper is
 * the counter alone, so what moves it (a generation bump, a new scheduled period) is decided in one
 * place, rotationState.ts, which never lets it jump.
 *
 * Rotating replaces the random resource; everything that reads `values` (the Vault KV data, the
 * composed DSNs) changes with it and nothing else does.
 */
export class GeneratedSecret extends pulumi.ComponentResource {
    /** Vault property → value, always secret: `value`, or `_primary`/`_previous` (and alias) for dual-key. */
    readonly values: Record<string, pulumi.Output<string>>;
    /** The rotation counter the current value (the primary, for dual-key) was generated for. */
    readonly rotation: number;
    /**
     * The rotation counter the provider's state holds, read back from the random resources' keepers
     * (the highest slot, for dual-key). It differs from `rotation` when the update did not apply this
     * resource (`pulumi up --target` elsewhere): the engine then returns the old keepers.
     */
    readonly appliedRotation: pulumi.Output<number>;
    /** When the current value (the primary, for dual-key) was generated, RFC 3339. */
    readonly lastRotated: pulumi.Output<string>;
    /** The random resources by slot, for `pulumi up --target-replace`. */
    readonly slots: Partial<Record<"value" | DualKeySlot, random.RandomBytes | random.RandomPassword>>;

    constructor(name: string, args: GeneratedSecretArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform-secrets:credentials:GeneratedSecret", name, {}, opts);
        const { secret } = args;
        if (secret.source.kind !== "random-bytes" && secret.source.kind !== "password") {
            throw new Error(`${secret.id} is not generated (source ${secret.source.kind})`);
        }
        const source = secret.source;
        this.rotation = args.rotation;

        // Keepers are strings (the provider stores a map of strings), and a change to any replaces.
        const makeSlot = (role: string, keepers: Record<string, string>) => {
            const resource =
                source.kind === "random-bytes"
                    ? new random.RandomBytes(`${name}-${role}`, { length: source.bytes, keepers }, { parent: this })
                    : new random.RandomPassword(
                          `${name}-${role}`,
                          // Without `special`, the alphabet is letters and digits: URL-safe as it stands.
                          { length: source.length, special: source.special, keepers },
                          { parent: this },
                      );
            // Records when this slot was last generated. replaceWith: a `--target-replace` of the
            // random resource replaces this too, so the date stays true for every kind of rotation.
            const rotatedAt = new time.Static(`${name}-${role}-rotated-at`, { triggers: keepers }, { parent: this, replaceWith: [resource] });
            return { resource, rotatedAt, value: pulumi.secret(encode(resource, source)) };
        };

        if (secret.rotation === "single") {
            const slot = makeSlot("value", { rotation: String(this.rotation) });
            this.slots = { value: slot.resource };
            this.values = { [secret.properties[0].property]: slot.value };
            this.lastRotated = slot.rotatedAt.rfc3339;
        } else {
            // Two slots whose keepers alternate with the rotation counter (see dualKeyState).
            const state = dualKeyState(this.rotation);
            // Only the slot's own rotation number is a keeper, so a rotation replaces exactly one slot.
            const a = makeSlot("slot-a", { rotation: String(state.keepers.a) });
            const b = makeSlot("slot-b", { rotation: String(state.keepers.b) });
            const bySlot = { a, b };
            this.slots = { a: a.resource, b: b.resource };
            this.values = {};
            for (const p of secret.properties) {
                const slot = p.slot === "previous" ? bySlot[state.previous] : bySlot[state.primary];
                this.values[p.property] = slot.value;
            }
            this.lastRotated = bySlot[state.primary].rotatedAt.rfc3339;
        }
        const keptRotations = Object.values(this.slots).map((r) => r!.keepers.apply((k) => Number(k?.rotation)));
        this.appliedRotation = pulumi.all(keptRotations).apply((rotations) => Math.max(...rotations));
        this.registerOutputs({ rotation: this.rotation, appliedRotation: this.appliedRotation, lastRotated: this.lastRotated });
    }
}

function encode(
    resource: random.RandomBytes | random.RandomPassword,
    source: { kind: "random-bytes"; encoding: "base64" | "hex" | "base64url" } | { kind: "password" },
): pulumi.Output<string> {
    if (resource instanceof random.RandomPassword) return resource.result;
    const bytes = resource as random.RandomBytes;
    if (source.kind !== "random-bytes") throw new Error("unreachable");
    switch (source.encoding) {
        case "base64":
            return bytes.base64;
        case "hex":
            return bytes.hex;
        case "base64url":
            return bytes.base64.apply((b) => b.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""));
    }
}
