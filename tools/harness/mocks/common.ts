/** What every per-provider mock table shares: the context, the seeds, and the table's shape. */
import { createHash } from "node:crypto";
import type * as pulumi from "@pulumi/pulumi";

export const ACCOUNT_ID = "123456789012";

export interface MockContext {
    /** AWS region the mocked AWS provider reports. */
    region: string;
    /** The clock time.Static reads when it is created. */
    now: Date;
    /** The stack outputs of "the last deployment", which a StackReference to the stack itself reads. */
    previousOutputs: Record<string, unknown>;
    /**
     * `pulumi preview` instead of `pulumi up`: resources report the state the providers plan, not the
     * state after a write (so far modelled for vault.kv.SecretV2, whose `metadata` a preview keeps).
     */
    preview?: boolean;
    /**
     * `pulumi up --target`: resources the update does not touch keep their last state, keyed
     * "<type>::<name>" (the engine returns their old outputs whatever the program's inputs say).
     */
    untouched: Map<string, { id?: string; state: State }>;
    /** Each resource's `replacementTrigger` option by "<type>::<name>", as registered in this run. */
    replacementTriggers?: Map<string, unknown>;
    /** Every invoke of this run, in call order (the run's result carries them). */
    invokes: InvokeRecord[];
}

export type State = Record<string, unknown>;

/** One data-source call (invoke) the program made: its token and its arguments. */
export interface InvokeRecord {
    token: string;
    args: State;
}

/** Computes a resource's id and provider-computed outputs from its (revealed) inputs. */
export type Outputs = (args: pulumi.runtime.MockResourceArgs, inputs: State, ctx: MockContext) => { id?: string; state?: State } | Promise<{ id?: string; state?: State }>;

/** Canonical JSON with sorted keys: the seed of every deterministic value. */
export function stableJson(v: unknown): string {
    if (Array.isArray(v)) return `[${v.map(stableJson).join(",")}]`;
    if (v && typeof v === "object") {
        return `{${Object.keys(v as State)
            .sort()
            .map((k) => `${JSON.stringify(k)}:${stableJson((v as State)[k])}`)
            .join(",")}}`;
    }
    return JSON.stringify(v ?? null);
}

/** `n` pseudo-random bytes, a pure function of the seed (SHA-256 in counter mode). */
export function deterministicBytes(seed: string, n: number): Buffer {
    const chunks: Buffer[] = [];
    for (let i = 0; chunks.length * 32 < n; i++) chunks.push(createHash("sha256").update(`${seed}#${i}`).digest());
    return Buffer.concat(chunks).subarray(0, n);
}

export function shortHash(s: string, n = 8): string {
    return createHash("sha256").update(s).digest("hex").slice(0, n);
}

/** The seed of a resource: its type, name and every input, so a changed keeper gives a new value. */
export function seedOf(args: pulumi.runtime.MockResourceArgs, inputs: State): string {
    return `${args.type}|${args.name}|${stableJson(inputs)}`;
}

/**
 * What the emulated servers (Vault's KV versions, its PKI issuers, roles and certificates) remember
 * across the runs of one process, as one store: a test file starts from empty servers
 * (`resetEmulatedServers`), and a run shared between test files (test/support.ts) carries the state
 * it left behind (`snapshotEmulatedServers` / `restoreEmulatedServers`). Values put in these maps are
 * never changed in place, so a snapshot is a copy of each map.
 */
const emulatedStores: Map<string, unknown>[] = [];

/** A map the emulated servers keep across runs, registered so it can be reset and snapshotted. */
export function emulatedStore<K, V>(): Map<K, V> {
    const store = new Map<K, V>();
    emulatedStores.push(store as Map<string, unknown>);
    return store;
}

export type EmulatedServersSnapshot = ReadonlyArray<ReadonlyMap<string, unknown>>;

export function resetEmulatedServers(): void {
    for (const s of emulatedStores) s.clear();
}

/** True when no run of this process (since the last reset) has written to the emulated servers. */
export function emulatedServersEmpty(): boolean {
    return emulatedStores.every((s) => s.size === 0);
}

export function snapshotEmulatedServers(): EmulatedServersSnapshot {
    return emulatedStores.map((s) => new Map(s));
}

export function restoreEmulatedServers(snapshot: EmulatedServersSnapshot): void {
    emulatedStores.forEach((s, i) => {
        s.clear();
        for (const [k, v] of snapshot[i]) s.set(k, v);
    });
}
