/**
 * Rotation by name: from `<app>/<secret>` to the exact commands that rotate it, resolved from the
 * offline plan (the URNs the engine will give the resources), so nobody copies a URN by hand.
 * Shared by tools/rotate.ts and the tests. Prints URNs and commands, never a value.
 */
import { editDistance } from "../components/config/rules";
import { existsSync } from "node:fs";
import * as path from "node:path";
import { repoRoot } from "./harness/stackConfig";
import type { Plan, PlanResource } from "./planLib";

/** What the program's `inventory` output says about one catalog entry (no values). */
export interface InventoryEntry {
    app: string;
    secret: string;
    source: string;
    rotation: "single" | "dual-key" | "alternating-users" | "none";
    generation: number;
    /** Derived keys (jwt): the catalog key of the signing secret. */
    signingKey?: string;
}

export interface RotateTarget {
    id: string;
    rotation: "single" | "dual-key";
    generation: number;
    /** Per slot: the random resource (a certificate: its Vault PKI issue) and the time:Static that records its rotation date. */
    slots: { slot: string; random: string; rotatedAt?: string }[];
}

export class RotateError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "RotateError";
    }
}

export function inventoryOf(plan: Plan): InventoryEntry[] {
    const inv = plan.outputs.inventory;
    if (!Array.isArray(inv)) throw new Error("the plan has no inventory output");
    return inv as InventoryEntry[];
}

/** Up to `n` catalog names nearest to `name`, compared whole and by the secret's key alone. */
export function nearestNames(name: string, ids: string[], n = 3): string[] {
    const q = name.toLowerCase();
    const score = (id: string) => Math.min(editDistance(q, id.toLowerCase()), editDistance(q, id.slice(id.indexOf("/") + 1).toLowerCase()));
    return [...ids].sort((x, y) => score(x) - score(y) || x.localeCompare(y)).slice(0, n);
}

const isRandom = (r: PlanResource) => r.type.startsWith("random:");
const STATIC = "time:index/static:Static";

/**
 * The resources a rotation of `id` replaces, found by the plan's structure: the GeneratedSecret
 * component of the app's AppCredentials, its random resources (one per slot) and, for each, the
 * time:Static whose `replaceWith` names it.
 */
export function resolveTarget(plan: Plan, id: string): RotateTarget {
    const inventory = inventoryOf(plan);
    const entry = inventory.find((e) => `${e.app}/${e.secret}` === id);
    if (!entry) {
        const ids = inventory.map((e) => `${e.app}/${e.secret}`);
        throw new RotateError(`${id} is not in the catalog of stack ${plan.stack}; nearest: ${nearestNames(id, ids).join(", ")}`);
    }
    if (entry.rotation === "none") {
        const how =
            entry.source === "supplied"
                ? `rotate it at its issuer, then: pulumi config set --stack ${plan.stack} --secret --path '${configPath("suppliedSecrets", [entry.app, entry.secret])}' <new value>, and pulumi up`
                : entry.source === "composed"
                  ? "it is composed from other catalog values: rotate the generated ones it is built from"
                  : entry.source === "jwt"
                    ? `it is derived from its signing secret: rotate ${entry.app}/${entry.signingKey} (npm run rotate -- --stack ${plan.stack} ${entry.app}/${entry.signingKey}), which re-derives it in the same up`
                    : "it is a plain setting in the stack file: change it there";
        throw new RotateError(`${id} is not generated (source ${entry.source}), so there is nothing to replace: ${how}`);
    }
    if (entry.rotation === "alternating-users") {
        // docs/database-credentials.md: Vault sets the password, nothing in the program's state to replace.
        throw new RotateError(
            `${id} rotates by alternating users through Vault's database secrets engine: bump ${configPath("rotation.generations", [id])} by one and pulumi up; ` +
                `Vault sets a new password on the other user, which becomes active, and the current one stays valid until the next rotation. ` +
                `Leaked: bump twice (two pulumi up, the second once pods have restarted), so both users get new passwords.`,
        );
    }
    if (entry.source === "vault-pki-cert") {
        // Issued by Vault's PKI engine (components/vault/pki.ts): replacing the issue re-issues it.
        const cert = plan.resources.find((r) => r.type === "vault:pkiSecret/secretBackendCert:SecretBackendCert" && r.name === `vault-pki-${entry.app}-${entry.secret}`);
        if (!cert) throw new Error(`the plan of stack ${plan.stack} has no certificate issue for ${id}`);
        return { id, rotation: "single", generation: entry.generation, slots: [{ slot: "certificate", random: cert.urn }] };
    }
    const credentials = plan.resources.find((r) => r.type === "platform-secrets:credentials:AppCredentials" && r.name === entry.app);
    const generated = credentials && plan.resources.find((r) => r.type === "platform-secrets:credentials:GeneratedSecret" && r.parent === credentials.urn && r.name === `${entry.app}-${entry.secret}`);
    if (!generated) throw new Error(`the plan of stack ${plan.stack} has no GeneratedSecret for ${id}`);
    const randoms = plan.resources.filter((r) => r.parent === generated.urn && isRandom(r)).sort((a, b) => a.urn.localeCompare(b.urn));
    const expected = entry.rotation === "dual-key" ? 2 : 1;
    if (randoms.length !== expected) throw new Error(`${id}: expected ${expected} random resource(s) in the plan, found ${randoms.length}`);
    const slots = randoms.map((r) => {
        const dates = plan.resources.filter((s) => s.type === STATIC && s.parent === generated.urn && ((s.options.replaceWith as string[] | undefined) ?? []).includes(r.urn));
        if (dates.length !== 1) throw new Error(`${id}: expected one rotation date for ${r.urn}, found ${dates.length}`);
        return { slot: r.name.slice(generated.name.length + 1), random: r.urn, rotatedAt: dates[0].urn };
    });
    return { id, rotation: entry.rotation, generation: entry.generation, slots };
}

/** A word for a POSIX shell: single-quoted unless it is plainly safe (URNs carry `$`). */
export function shellQuote(s: string): string {
    return /^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * A `pulumi config set --path` key: `prefix` (plain names) then `["..."]` segments. Catalog ids contain `/` (and keys may contain `.`), so each
 * segment under the top-level key is written `["..."]`, the form Pulumi's property path parser
 * (sdk/go/common/resource/properties_path.go) reads as one literal key whatever it contains.
 */
export function configPath(prefix: string, segments: string[]): string {
    return prefix + segments.map((s) => `["${s.replace(/"/g, '\\"')}"]`).join("");
}

export interface RotateOptions {
    /** The secret leaked: replace every slot now (both for dual-key), no generation bump. */
    leaked?: boolean;
}

/** The commands, as a shell script an operator can read and paste. */
export function rotationCommands(plan: Plan, target: RotateTarget, options: RotateOptions = {}): string {
    const stack = plan.stack;
    const policyConfig = path.join("policy", "config", `${stack}.json`);
    const policy = existsSync(path.join(repoRoot, policyConfig)) ? ["--policy-pack", "policy", "--policy-pack-config", policyConfig] : [];
    const replace = (slots: RotateTarget["slots"]) => {
        const lines = [`pulumi up --stack ${shellQuote(stack)}`];
        for (const s of slots) lines.push(`--target-replace ${shellQuote(s.random)}`, ...(s.rotatedAt ? [`--target-replace ${shellQuote(s.rotatedAt)}`] : []));
        lines.push("--target-dependents");
        if (policy.length > 0) lines.push(policy.map(shellQuote).join(" "));
        return lines.join(" \\\n  ");
    };
    const out = [`# ${target.id} in stack ${stack}: ${target.rotation === "dual-key" ? "dual-key (slots " + target.slots.map((s) => s.slot).join(", ") + ")" : "single"}, generation ${target.generation}`];
    const bump = `pulumi config set --stack ${shellQuote(stack)} --path ${shellQuote(configPath("rotation.generations", [target.id]))} ${target.generation + 1}`;
    if (options.leaked) {
        out.push(
            `# Leaked: replace ${target.slots.length === 1 ? "its random resource" : "BOTH slots (a leaked primary must not live on as previous)"} and rotation date now;`,
            "# --target-dependents moves the KV data and the ExternalSecret's force-sync in the same update.",
            "# Do not also bump the generation afterwards: that would rotate again.",
            replace(target.slots),
        );
    } else {
        out.push(
            "# Reviewed: bump the generation in the stack file and open a pull request with the change;",
            "# the next `pulumi up` rotates it once (dual-key: only the slot that becomes primary).",
            bump,
        );
        if (target.rotation === "single") {
            out.push(
                "",
                `# Now: replace ${target.slots[0].rotatedAt ? "its random resource and rotation date" : "its certificate (a new issue from Vault's PKI engine)"}; --target-dependents moves the KV data`,
                "# and the ExternalSecret's force-sync in the same update. The generation does not move.",
                replace(target.slots),
            );
        } else {
            out.push(
                "",
                "# Now: not offered for a dual-key secret, whose graceful rotation is the generation bump (the old",
                "# primary stays as previous). If it leaked, rerun with --leaked: that replaces both slots.",
            );
        }
    }
    return `${out.join("\n")}\n`;
}

/** Every URN a command of `text` names (the words after --target-replace). */
export function targetedUrns(text: string): string[] {
    return [...text.matchAll(/--target-replace '([^']+)'/g)].map((m) => m[1]);
}
