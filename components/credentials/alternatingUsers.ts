/**
 * Alternating users, pure so tests can drive any sequence of rotations (docs/database-credentials.md).
 *
 * Each app database has two login users, slot a and slot b. At rotation counter n the active user is
 * slot a when n is even, slot b when odd (as the dual-key slots of rotation.ts). Going from n to n+1,
 * the program has Vault set a new password on the slot that becomes active, and only on it; the slot
 * that was active keeps its password, so every pod still holding it connects until the next
 * rotation. The password two rotations old (same slot as the new one) is replaced, so it is refused.
 */
import { dualKeyState, DualKeySlot } from "./rotation";

export interface AlternatingUsersState {
    /** The slot ESO reads and the DSNs carry. */
    active: DualKeySlot;
    /** The slot active at counter - 1: still valid, for pods not yet restarted. */
    previous: DualKeySlot;
    /** The slot whose password Vault rotates when this counter is applied: the active one. */
    rotate: DualKeySlot;
}

export function alternatingUsers(counter: number): AlternatingUsersState {
    const s = dualKeyState(counter);
    return { active: s.primary, previous: s.previous, rotate: s.primary };
}

/**
 * Which password generation each slot holds after a sequence of applied counters (the first is the
 * initial deployment, where Vault sets both slots' passwords when it creates the static roles).
 * Generation g of a slot means the g-th password Vault set on it. For tests and the docs.
 */
export function slotPasswords(counters: number[]): Record<DualKeySlot, number>[] {
    const out: Record<DualKeySlot, number>[] = [];
    let cur: Record<DualKeySlot, number> | undefined;
    let last: number | undefined;
    for (const c of counters) {
        // Creating the static roles sets both slots' first password; the rotate step then sets the
        // active slot's again on the first deployment, and on every new counter after it.
        cur = cur ? { ...cur } : { a: 1, b: 1 };
        if (c !== last) cur[alternatingUsers(c).rotate] += 1;
        last = c;
        out.push(cur);
    }
    return out;
}
