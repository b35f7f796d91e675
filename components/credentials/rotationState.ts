/**
 * Rotation state carried from one deployment to the next, so that a rotation counter can only
 * ever move forward by one per `pulumi up`, whatever happens to the inputs it is computed from.
 *
 * The desired counter is the manual generation plus the scheduled periods elapsed. It can jump
 * (two periods pass without an `up`; maxAgeDays or the epoch change) or go back (a reverted
 * generation bump; scheduling turned off). Applied blindly, a jump of two replaces both slots of a
 * dual-key secret, losing the key every live token was signed with, and a step back regenerates a
 * slot out of turn. So the program stores what it applied, and each `up`:
 * - applies the desired counter as is on the first deployment;
 * - rotates once (applied + 1) when the desired counter moved forward by any amount;
 * - rotates nothing when it stayed or moved back;
 * and records the offset between desired and applied, so a jump is absorbed, never replayed.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";

export const ROTATION_STATE_OUTPUT = "rotationState";

const secretRotationState = z.object({ applied: z.number().int(), offset: z.number().int() }).strict();
export type SecretRotationState = z.infer<typeof secretRotationState>;
/** Per generated secret, keyed "<app>/<secret>". */
const rotationStateSchema = z.record(z.string(), secretRotationState);
export type RotationState = z.infer<typeof rotationStateSchema>;

/** The counter to apply now, given the desired one and what the last deployment applied. */
export function advance(desired: number, previous: SecretRotationState | undefined): SecretRotationState {
    if (!previous) return { applied: desired, offset: 0 };
    const target = desired - previous.offset;
    const applied = target > previous.applied ? previous.applied + 1 : previous.applied;
    return { applied, offset: desired - applied };
}

/**
 * What the last deployment of this stack applied: its own `rotationState` output, read through a
 * StackReference to itself (which sees the state before this update). Empty for a new stack.
 */
export async function readPreviousRotationState(): Promise<RotationState> {
    const self = `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`;
    const ref = new pulumi.StackReference("previous-deployment", { name: self });
    const details = await ref.getOutputDetails(ROTATION_STATE_OUTPUT);
    const value = details.value ?? details.secretValue;
    if (value === undefined) return {};
    const parsed = rotationStateSchema.safeParse(value);
    if (!parsed.success) {
        throw new pulumi.RunError(`the stack output ${ROTATION_STATE_OUTPUT} of the last deployment is not a rotation state: ${parsed.error.message}`);
    }
    return parsed.data;
}
