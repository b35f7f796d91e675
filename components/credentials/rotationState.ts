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

/**
 * What was applied for one secret. `offset` is absent only for a state recovered from the inventory
 * (the last deployment lost its rotationState output): then nothing rotates until the counter
 * moves on.
 */
const secretRotationState = z.object({ applied: z.number().int(), offset: z.number().int().optional() }).strict();
export type SecretRotationState = z.infer<typeof secretRotationState>;
/** Per generated secret, keyed "<app>/<secret>". */
const rotationStateSchema = z.record(z.string(), secretRotationState);
export type RotationState = z.infer<typeof rotationStateSchema>;

/** The counter to apply now, given the desired one and what the last deployment applied. */
export function advance(desired: number, previous: SecretRotationState | undefined): { applied: number; offset: number } {
    if (!previous) return { applied: desired, offset: 0 };
    const target = desired - (previous.offset ?? desired - previous.applied);
    const applied = target > previous.applied ? previous.applied + 1 : previous.applied;
    return { applied, offset: desired - applied };
}

const inventoryCounters = z.array(z.object({ app: z.string(), secret: z.string(), rotationCounter: z.number().int().optional() }).loose());

/**
 * What the last deployment of this stack applied: its own `rotationState` output, read through a
 * StackReference to itself (the engine resolves it from the last snapshot, so preview and up both
 * see the state before this update). Empty for a stack never deployed. If the output is missing
 * from a deployed stack, the counters are recovered from its `inventory` output and nothing
 * rotates this time; with neither, the update stops rather than guess (a guess could replace both
 * slots of a dual-key secret).
 *
 * Self-managed backends must use the project-scoped layout (`pulumi state upgrade`) for the
 * `<organization>/<project>/<stack>` name to resolve.
 */
export async function readPreviousRotationState(): Promise<RotationState> {
    return (await readPreviousDeployment()).rotation;
}

/** The last deployment's rotation state and its raw TLS state output (certificateRotation.ts parses it). */
export async function readPreviousDeployment(): Promise<{ rotation: RotationState; tls: unknown }> {
    const self = `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`;
    const ref = new pulumi.StackReference("previous-deployment", { name: self });
    const output = async (name: string) => {
        const details = await ref.getOutputDetails(name);
        return details.value ?? details.secretValue;
    };
    const [rotation, tls] = await Promise.all([readRotation(self, output), output("tlsState")]);
    return { rotation, tls };
}

async function readRotation(self: string, output: (name: string) => Promise<unknown>): Promise<RotationState> {
    const [state, inventory, environment] = await Promise.all([output(ROTATION_STATE_OUTPUT), output("inventory"), output("environment")]);
    if (state !== undefined) {
        const parsed = rotationStateSchema.safeParse(state);
        if (!parsed.success) throw new pulumi.RunError(`stack output ${ROTATION_STATE_OUTPUT} of the last deployment is not a rotation state: ${parsed.error.message}`);
        return parsed.data;
    }
    if (environment === undefined) return {}; // never deployed
    const counters = inventoryCounters.safeParse(inventory);
    if (counters.success && counters.data.some((e) => e.rotationCounter !== undefined)) {
        pulumi.log.warn(`stack output ${ROTATION_STATE_OUTPUT} is missing from the last deployment of ${self}: rotation counters recovered from its inventory; nothing rotates in this update`);
        return Object.fromEntries(
            counters.data.filter((e) => e.rotationCounter !== undefined).map((e) => [`${e.app}/${e.secret}`, { applied: e.rotationCounter! }]),
        );
    }
    throw new pulumi.RunError(
        `the last deployment of ${self} has neither a ${ROTATION_STATE_OUTPUT} nor an inventory output, so the rotation counter of each generated secret is unknown; ` +
            `restore them (pulumi stack history, pulumi stack export/import of an earlier checkpoint) before updating: applying blindly could replace both slots of a dual-key secret`,
    );
}
