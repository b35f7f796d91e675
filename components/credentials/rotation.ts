/**
 * Rotation arithmetic, pure so tests can drive it with any clock.
 *
 * A generated secret's value is a function of its keepers; changing a keeper replaces the random
 * resource, which is a rotation. Two things feed the keepers:
 * - `generation`, the manual counter in rotation.generations (a one-line, reviewable bump);
 * - the scheduled period: time since rotation.epoch cut into periods of maxAgeDays. The first
 *   `pulumi up` in a new period sees a new period start in the keepers and replaces the value.
 *
 * Why the period lives in keepers rather than @pulumiverse/time's Rotating or the
 * `replacementTrigger` option: Rotating only notices expiry on `pulumi up --refresh` (a plain `up`
 * would silently keep an expired key), and both hide the reason for a replacement in resource
 * state or options, whereas a keeper shows it in `pulumi preview`'s diff next to the generation. The
 * cost: a secret created mid-period rotates at the next period boundary, so maxAgeDays is a ceiling
 * on age, never exceeded by more than the time until the next `pulumi up`.
 */
const DAY_MS = 86_400_000;

export interface SchedulePeriod {
    /** 0 for the first period (and before the epoch, or with scheduled rotation off). */
    index: number;
    /** First day of the current period, YYYY-MM-DD (UTC). */
    start: string;
    /** First day of the next period: the scheduled rotation date. Absent when scheduling is off. */
    next?: string;
}

function isoDay(ms: number): string {
    return new Date(ms).toISOString().slice(0, 10);
}

export function schedulePeriod(now: Date, epoch: string, maxAgeDays: number): SchedulePeriod {
    const epochMs = Date.parse(`${epoch}T00:00:00Z`);
    if (maxAgeDays <= 0) return { index: 0, start: epoch };
    const periodMs = maxAgeDays * DAY_MS;
    const index = Math.max(0, Math.floor((now.getTime() - epochMs) / periodMs));
    return { index, start: isoDay(epochMs + index * periodMs), next: isoDay(epochMs + (index + 1) * periodMs) };
}

/** Total rotations so far: manual generations plus elapsed periods. */
export function rotationCounter(generation: number, period: SchedulePeriod): number {
    return generation + period.index;
}

export type DualKeySlot = "a" | "b";

export interface DualKeyState {
    /** The rotation each slot was last generated for: slot a holds even rotations, slot b odd. */
    keepers: Record<DualKeySlot, number>;
    primary: DualKeySlot;
    previous: DualKeySlot;
}

/**
 * Dual-key slots. Slot a holds the value of the latest even rotation, slot b the latest odd one.
 * Going from rotation n to n+1 changes only the keeper of the slot with n+1's parity, so exactly
 * one slot is replaced, and the other (primary at n) becomes previous: no value is lost or
 * regenerated out of turn. At n = 0 slot b holds an initial value nobody has signed with yet.
 */
export function dualKeyState(counter: number): DualKeyState {
    const even = counter % 2 === 0;
    return {
        keepers: { a: even ? counter : counter - 1, b: even ? counter - 1 : counter },
        primary: even ? "a" : "b",
        previous: even ? "b" : "a",
    };
}
