/**
 * Generated credentials and rotation, per stack: the program is run before and after each kind of
 * rotation and the two recorded graphs compared. Called by credentials.<stack>.test.ts.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { ROTATION_STATE_OUTPUT } from "../components/credentials/rotationState";
import { buildPlan, stableStringify } from "../tools/planLib";
import { stableJson } from "../tools/harness/mocks";
import { plaintextStrings, reveal, ResourceRecord, runStack, RunResult, SecretValue, stackConfig, SUPPLIED, TEST_NOW } from "./support";
import { renderEsoTemplate } from "../tools/e2e/databaseRotation";

/** The app's ExternalSecret spec in a run. */
function externalSecretSpec(run: RunResult, app: string): any {
    const r = run.resources.find((x) => x.type === "kubernetes:external-secrets.io/v1:ExternalSecret" && x.name === `kubernetes-${app}-sync-external-secret`);
    assert.ok(r, `${app}: no ExternalSecret`);
    return (reveal(r.inputs) as any).spec;
}

const RANDOM_TYPES = new Set(["random:index/randomBytes:RandomBytes", "random:index/randomPassword:RandomPassword"]);
const KV_SECRET = "vault:kv/secretV2:SecretV2";

/** The config of a stack with one rotation generation set. */
function withGeneration(stack: string, id: string, generation: number): Record<string, unknown> {
    const config = stackConfig(stack);
    const rotation = (config["platform-secrets:rotation"] ??= {});
    rotation.generations = { ...(rotation.generations ?? {}), [id]: generation };
    return config;
}

function randomValue(r: ResourceRecord): string {
    const v = r.type === "random:index/randomPassword:RandomPassword" ? r.outputs.result : r.outputs.base64;
    assert.ok(v instanceof SecretValue, `${r.name}'s value must be secret`);
    return String(v.value);
}

/** A run's stack outputs as the next update's StackReference to the stack reads them. */
function after(run: RunResult): Record<string, unknown> {
    return reveal(run.outputs) as Record<string, unknown>;
}

/** Names of the random resources whose inputs (keepers) differ: the replacements. */
function randomsReplaced(a: RunResult, b: RunResult): string[] {
    return changedUrns(a, b)
        .filter((u) => RANDOM_TYPES.has(a.resources.find((r) => r.urn === u)?.type ?? ""))
        .map((u) => u.split("::").pop()!)
        .sort();
}

/** The random resources a scheduled rotation replaces: one per generated secret, the new primary's slot for dual-key. */
function scheduledReplacements(apps: Record<string, any>, newCounterParity: (id: string) => number): string[] {
    const expected: string[] = [];
    for (const [app, spec] of Object.entries<any>(apps)) {
        for (const [key, s] of Object.entries<any>(spec.secrets)) {
            if (!["random-bytes", "password"].includes(s.source.kind) || s.maxAgeDays === 0) continue;
            const slot = s.rotation === "dual-key" ? (newCounterParity(`${app}/${key}`) === 0 ? "slot-a" : "slot-b") : "value";
            expected.push(`${app}-${key}-${slot}`);
        }
    }
    return expected.sort();
}

/** URNs whose inputs differ between two runs (a changed random input is a replacement). */
export function changedUrns(a: RunResult, b: RunResult): string[] {
    const inputsOf = (r: RunResult) => new Map(r.resources.map((x) => [x.urn, stableJson(reveal(x.inputs))]));
    const ia = inputsOf(a);
    const ib = inputsOf(b);
    const urns = new Set([...ia.keys(), ...ib.keys()]);
    return [...urns].filter((u) => ia.get(u) !== ib.get(u)).sort();
}

/**
 * An app's data as it lands in Vault: the KV v2 secret's dataJson, which must be one secret. Reading
 * the end of the chain checks generation, composition and dual-key slots where it matters.
 */
export function appData(run: RunResult, app: string): Record<string, string> {
    const kv = run.resources.filter((r) => r.type === KV_SECRET && String(r.inputs.name).split("/").at(-2) === app);
    assert.equal(kv.length, 1, `one KV secret for ${app}`);
    assert.ok(kv[0].inputs.dataJson instanceof SecretValue, `${app}'s dataJson must be a secret`);
    return JSON.parse(String(kv[0].inputs.dataJson.value)) as Record<string, string>;
}

/** Every generated and composed value of a run: what must never show in plaintext. */
function secretValues(run: RunResult): string[] {
    const values = run.resources.filter((r) => RANDOM_TYPES.has(r.type)).map(randomValue);
    for (const [app, spec] of Object.entries<any>(stackConfig(run.stack)["platform-secrets:apps"])) {
        const data = appData(run, app);
        const config = spec.secrets as Record<string, { source: { kind: string } }>;
        for (const [key, s] of Object.entries(config)) if (s.source.kind === "composed" && data[key]) values.push(data[key]);
        // The database managers' bootstrap passwords: the only database secrets the program ever holds.
        for (const d of Object.values<any>(spec.databases ?? {})) values.push((SUPPLIED as Record<string, Record<string, string>>)[app][d.managerBootstrapSecret]);
    }
    return values;
}

export function describeCredentials(stack: string): void {
    const appsConfig = () => stackConfig(stack)["platform-secrets:apps"];
    const rotationConfig = () => stackConfig(stack)["platform-secrets:rotation"];
    let base: RunResult;

    before(async () => {
        base = await runStack(stack);
    });

    describe(`generation (${stack})`, () => {
        it("creates one random resource of the catalog's size per generated secret, two for dual-key", () => {
            const expected: string[] = [];
            for (const [app, spec] of Object.entries<any>(appsConfig())) {
                for (const [key, s] of Object.entries<any>(spec.secrets)) {
                    const size = s.source.kind === "random-bytes" ? s.source.bytes : s.source.kind === "password" ? s.source.length : undefined;
                    if (size === undefined) continue;
                    const type = s.source.kind === "random-bytes" ? "RandomBytes" : "RandomPassword";
                    const roles = s.rotation === "dual-key" ? ["slot-a", "slot-b"] : ["value"];
                    for (const role of roles) expected.push(`${type}:${app}-${key}-${role}:${size}`);
                }
            }
            const actual = base.resources.filter((r) => RANDOM_TYPES.has(r.type)).map((r) => `${r.type.split(":").pop()}:${r.name}:${r.inputs.length}`);
            assert.deepEqual(actual.sort(), expected.sort());
        });

        it("matches the runbooks: 32-byte base64 keys and tokens, 16-byte base64 Nemo passwords, URL-safe soma passwords", () => {
            const nemo = appData(base, "nemo-server");
            for (const k of ["session_key", "jwt_secret_primary", "jwt_secret_previous", "users_db_key", "rag_db_key"]) assert.equal(Buffer.from(nemo[k], "base64").length, 32, k);
            const soma = appData(base, "soma-memory");
            assert.equal(Buffer.from(soma.soma_api_token, "base64").length, 32);
            // Database and cache passwords are Vault's (alternating users, docs/database-credentials.md): not in KV.
            for (const k of ["postgres_user", "postgres_password", "redis_user", "redis_password"]) {
                assert.ok(!(k in nemo), `nemo-server ${k} in KV`);
                assert.ok(!(k in soma), `soma-memory ${k} in KV`);
            }
        });

        it("composes DSNs whose password parses back exactly, with TLS where the stack requires it", () => {
            // ESO composes them at sync time from the active user's static-creds: render the target
            // template with a pair carrying every character class a password could hold.
            const spec = externalSecretSpec(base, "soma-memory");
            // No space: Go's urlquery writes it '+', which userinfo does not decode (Vault's default password policy has none).
            const pair = { user: "soma_a", password: "p@ss:w/rd?#%+&é-Az09" };
            const fetched = Object.fromEntries(
                spec.data.map((e: any) => [e.secretKey, e.sourceRef ? (e.remoteRef.property === "username" ? pair.user : pair.password) : `kv:${e.remoteRef.property}`]),
            );
            const data = Object.fromEntries(Object.entries<string>(spec.target.template.data).map(([k, t]) => [k, renderEsoTemplate(t, fetched)]));
            const pg = new URL(data.POSTGRES_URL);
            assert.equal(decodeURIComponent(pg.password), pair.password);
            assert.equal(decodeURIComponent(pg.username), pair.user);
            const redis = new URL(data.REDIS_URL);
            assert.equal(decodeURIComponent(redis.password), pair.password);
            assert.equal(decodeURIComponent(redis.username), pair.user);
            const requireTls = stackConfig(stack)["platform-secrets:security"]?.requireTls === true;
            if (requireTls) {
                assert.equal(pg.searchParams.get("sslmode"), "require");
                assert.equal(redis.protocol, "rediss:");
            }
        });

        it("keeps every generated and composed value out of plaintext: inputs, outputs, stack outputs, offline plan", async () => {
            const values = secretValues(base);
            assert.ok(values.length >= 10);
            const leaks = base.resources
                .flatMap((r) => [...plaintextStrings(r.inputs, `${r.urn}.inputs`), ...plaintextStrings(r.outputs, `${r.urn}.outputs`)])
                .concat(plaintextStrings(base.outputs, "stack.outputs"))
                .filter((s) => values.some((v) => s.value.includes(v)));
            assert.deepEqual(leaks, []);
            const planText = stableStringify(await buildPlan(stack, { now: TEST_NOW }));
            for (const v of values) assert.ok(!planText.includes(v), "a generated value is in the offline plan");
        });
    });

    describe(`rotation by generation (${stack})`, () => {
        it("a bump replaces exactly the intended random resource and changes only what depends on it", async () => {
            const bumped = await runStack(stack, { config: withGeneration(stack, "nemo-server/session_key", 1), previousOutputs: reveal(base.outputs) as Record<string, unknown> });
            const changed = changedUrns(base, bumped);
            const byUrn = new Map(bumped.resources.map((r) => [r.urn, r]));
            const randomsChanged = changed.filter((u) => RANDOM_TYPES.has(byUrn.get(u)!.type)).map((u) => byUrn.get(u)!.name);
            assert.deepEqual(randomsChanged, ["nemo-server-session_key-value"]);
            // Exactly these move: the random resource, its rotation date, the app's KV data, and the
            // app's ExternalSecret (its force-sync follows the KV version). Nothing else, in any app.
            const moved = changed.map((u) => `${byUrn.get(u)!.type}::${byUrn.get(u)!.name}`).sort();
            const kv = bumped.resources.find((r) => r.type === KV_SECRET && String(r.inputs.name).split("/").at(-2) === "nemo-server")!;
            const eso = bumped.resources.filter((r) => r.type === "kubernetes:external-secrets.io/v1:ExternalSecret" && r.name.includes("nemo-server"));
            assert.equal(eso.length, 1);
            assert.deepEqual(
                moved,
                [
                    "random:index/randomBytes:RandomBytes::nemo-server-session_key-value",
                    "time:index/static:Static::nemo-server-session_key-value-rotated-at",
                    `${KV_SECRET}::${kv.name}`,
                    `${eso[0].type}::${eso[0].name}`,
                ].sort(),
            );
            const before = appData(base, "nemo-server").session_key;
            const after = appData(bumped, "nemo-server").session_key;
            assert.notEqual(after, before);
            // Every other generated value is untouched.
            for (const r of base.resources.filter((x) => RANDOM_TYPES.has(x.type) && x.name !== "nemo-server-session_key-value")) {
                assert.equal(randomValue(bumped.resources.find((x) => x.urn === r.urn)!), randomValue(r), r.name);
            }
            assert.equal(appData(bumped, "nemo-server").session_key, after);
            assert.deepEqual(appData(bumped, "soma-memory"), appData(base, "soma-memory"));
        });

        it("a bump of a database password switches the DSN to the other user, Vault rotates that user, and nothing else changes", async () => {
            const bumped = await runStack(stack, { config: withGeneration(stack, "soma-memory/postgres_password", 1), previousOutputs: after(base) });
            assert.deepEqual(appData(bumped, "soma-memory"), appData(base, "soma-memory"), "KV untouched");
            assert.deepEqual(appData(bumped, "nemo-server"), appData(base, "nemo-server"));
            const key = (run: RunResult, field: string) => externalSecretSpec(run, "soma-memory").data.find((e: any) => e.sourceRef && e.remoteRef.key.includes("-postgres-") && e.remoteRef.property === field).remoteRef.key;
            assert.notEqual(key(bumped, "password"), key(base, "password"), "the other user is active");
            assert.equal(key(bumped, "username"), key(bumped, "password"), "one pair");
            // In Vault, only soma-memory's postgres rotate steps write; nemo-server's ExternalSecret spec is
            // untouched (its force-sync annotation follows the mocks' KV version counter, not this bump).
            const changed = changedUrns(base, bumped).map((u) => u.split("::").pop()!).filter((n) => n.startsWith("vault-")).sort();
            assert.deepEqual(changed, ["vault-soma-memory-postgres-rotate", "vault-soma-memory-postgres-rotate-root"]);
            assert.deepEqual(externalSecretSpec(bumped, "nemo-server"), externalSecretSpec(base, "nemo-server"));
            assert.notDeepEqual(externalSecretSpec(bumped, "soma-memory"), externalSecretSpec(base, "soma-memory"));
        });
    });

    describe(`dual-key rotation (${stack})`, () => {
        it("n -> n+1 replaces one slot, makes primary(n) previous, and n+2 retires the oldest", async () => {
            const runs = [base];
            for (const g of [1, 2]) runs.push(await runStack(stack, { config: withGeneration(stack, "nemo-server/jwt_secret", g), previousOutputs: after(runs[runs.length - 1]) }));
            const keys = runs.map((r) => appData(r, "nemo-server"));
            for (let i = 0; i < 2; i++) {
                assert.equal(keys[i + 1].jwt_secret_previous, keys[i].jwt_secret_primary, "previous(n+1) = primary(n)");
                assert.notEqual(keys[i + 1].jwt_secret_primary, keys[i].jwt_secret_primary, "a new primary");
                assert.equal(keys[i + 1].jwt_secret, keys[i + 1].jwt_secret_primary, "the legacy key follows the primary");
                const slotsReplaced = changedUrns(runs[i], runs[i + 1]).filter((u) => /RandomBytes::nemo-server-jwt_secret-slot-[ab]$/.test(u));
                assert.equal(slotsReplaced.length, 1, `exactly one slot replaced: ${slotsReplaced}`);
            }
            assert.ok(!Object.values(keys[2]).includes(keys[0].jwt_secret_primary), "the oldest key is retired at n+2");
        });
    });

    describe(`scheduled rotation (${stack})`, () => {
        const maxAgeDays: number = rotationConfig().maxAgeDays;
        const epoch = Date.parse(`${rotationConfig().epoch}T00:00:00Z`);
        const day = 86_400_000;
        // The period TEST_NOW falls in, and its boundaries.
        const index = Math.floor((TEST_NOW.getTime() - epoch) / (maxAgeDays * day));
        const periodStart = new Date(epoch + index * maxAgeDays * day);
        const nextStart = new Date(epoch + (index + 1) * maxAgeDays * day);

        it(`uses the stack's maximum age (${maxAgeDays} days)`, () => {
            assert.ok(maxAgeDays > 0 && maxAgeDays <= 90, "runbook 003: at least every 90 days");
        });

        it("does not fire before the maximum age is exceeded, and fires once it is", async () => {
            const atStart = await runStack(stack, { now: periodStart });
            const lastMoment = await runStack(stack, { now: new Date(nextStart.getTime() - 1000), previousOutputs: after(atStart) });
            const expired = await runStack(stack, { now: nextStart, previousOutputs: after(lastMoment) });
            assert.deepEqual(randomsReplaced(atStart, lastMoment), [], "no rotation within the period");
            const counters = after(expired)[ROTATION_STATE_OUTPUT] as Record<string, { applied: number }>;
            assert.deepEqual(randomsReplaced(lastMoment, expired), scheduledReplacements(appsConfig(), (id) => counters[id].applied % 2));
            const inventory = expired.outputs.inventory as { secret: string; nextScheduledRotation?: string; lastRotated?: string }[];
            const token = inventory.find((e) => e.secret === "session_key")!;
            assert.equal(token.nextScheduledRotation, new Date(nextStart.getTime() + maxAgeDays * day).toISOString().slice(0, 10));
        });
    });

    describe(`rotation state across updates (${stack})`, () => {
        const maxAgeDays: number = rotationConfig().maxAgeDays;
        const day = 86_400_000;
        const later = (periods: number) => new Date(TEST_NOW.getTime() + periods * maxAgeDays * day);
        const jwt = (r: RunResult) => appData(r, "nemo-server");

        it("absorbs skipped periods: one rotation, the old primary kept as previous, nothing replayed", async () => {
            const idle = await runStack(stack, { now: later(2), previousOutputs: after(base) });
            const counters = after(idle)[ROTATION_STATE_OUTPUT] as Record<string, { applied: number }>;
            assert.deepEqual(randomsReplaced(base, idle), scheduledReplacements(appsConfig(), (id) => counters[id].applied % 2));
            assert.equal(jwt(idle).jwt_secret_previous, jwt(base).jwt_secret_primary, "tokens signed before the gap keep verifying");
            const again = await runStack(stack, { now: later(2), previousOutputs: after(idle) });
            assert.deepEqual(randomsReplaced(idle, again), [], "the missed period is not replayed on the next update");
            const next = await runStack(stack, { now: later(3), previousOutputs: after(again) });
            assert.equal(jwt(next).jwt_secret_previous, jwt(again).jwt_secret_primary);
            assert.equal(randomsReplaced(again, next).filter((n) => n.startsWith("nemo-server-jwt_secret")).length, 1);
        });

        it("rotates at most once when maxAgeDays or the epoch change, and not at all when scheduling is turned off", async () => {
            const withRotation = (patch: Record<string, unknown>) => {
                const config = stackConfig(stack);
                config["platform-secrets:rotation"] = { ...config["platform-secrets:rotation"], ...patch };
                return config;
            };
            const faster = await runStack(stack, { config: withRotation({ maxAgeDays: 7 }), previousOutputs: after(base) });
            const replaced = randomsReplaced(base, faster);
            assert.equal(replaced.filter((n) => n.startsWith("nemo-server-jwt_secret")).length, 1, "one dual-key slot, however far the counter jumped");
            assert.equal(new Set(replaced.map((n) => n.replace(/-(value|slot-[ab])$/, ""))).size, replaced.length, "no secret replaced twice");
            assert.equal(jwt(faster).jwt_secret_previous, jwt(base).jwt_secret_primary);
            const off = await runStack(stack, { config: withRotation({ maxAgeDays: 0 }), previousOutputs: after(base) });
            assert.deepEqual(randomsReplaced(base, off), [], "turning scheduling off rotates nothing");
            const moved = await runStack(stack, { config: withRotation({ epoch: "2025-01-01" }), previousOutputs: after(base) });
            assert.equal(randomsReplaced(base, moved).filter((n) => n.startsWith("nemo-server-jwt_secret")).length, 1, "an earlier epoch moves the counter: one rotation");
        });

        it("a generation bump landing on a period boundary rotates a dual-key secret once, not twice", async () => {
            const both = await runStack(stack, { now: later(1), config: withGeneration(stack, "nemo-server/jwt_secret", 1), previousOutputs: after(base) });
            assert.equal(randomsReplaced(base, both).filter((n) => n.startsWith("nemo-server-jwt_secret")).length, 1);
            assert.equal(jwt(both).jwt_secret_previous, jwt(base).jwt_secret_primary);
        });

        it("a reverted generation bump rotates nothing back", async () => {
            const bumped = await runStack(stack, { config: withGeneration(stack, "nemo-server/jwt_secret", 1), previousOutputs: after(base) });
            const reverted = await runStack(stack, { previousOutputs: after(bumped) });
            assert.deepEqual(randomsReplaced(bumped, reverted), []);
            assert.deepEqual(jwt(reverted), jwt(bumped));
        });

        it("takes up, once, a rotation that a targeted update did not apply, and never replaces both slots", async () => {
            const start = await runStack(stack, { now: later(0) });
            // A period passes; someone runs `pulumi up --target-replace <session_key>`: every other
            // resource, the JWT slots included, keeps its state from `start`.
            const sessionKey = start.resources.find((r) => r.type === "random:index/randomBytes:RandomBytes" && r.name === "nemo-server-session_key-value")!;
            const targeted = await runStack(stack, { now: later(1), previousOutputs: after(start), target: { previous: start, urns: [sessionKey.urn] } });
            const slot = (r: RunResult, s: "a" | "b") => r.resources.find((x) => x.name === `nemo-server-jwt_secret-slot-${s}`)!.outputs.keepers as Record<string, string>;
            assert.deepEqual([slot(targeted, "a"), slot(targeted, "b")], [slot(start, "a"), slot(start, "b")], "the targeted update left the JWT slots alone");
            const state = (r: RunResult) => (after(r)[ROTATION_STATE_OUTPUT] as Record<string, { applied: number }>)["nemo-server/jwt_secret"].applied;
            assert.equal(state(targeted), state(start), "the state records what the provider holds, not what the program wanted");
            // Another period passes before the next full update: one step, one slot.
            const full = await runStack(stack, { now: later(2), previousOutputs: after(targeted) });
            const moved = (["a", "b"] as const).filter((s) => slot(full, s).rotation !== slot(start, s).rotation);
            assert.equal(moved.length, 1, "exactly one JWT slot replaced");
            assert.equal(appData(full, "nemo-server").jwt_secret_previous, appData(start, "nemo-server").jwt_secret_primary);
            assert.equal(state(full), state(start) + 1);
        });

        it("recovers lost counters from the inventory without rotating, and stops when it cannot tell", async () => {
            const { [ROTATION_STATE_OUTPUT]: _lost, ...rest } = after(base);
            const recovered = await runStack(stack, { now: later(1), previousOutputs: rest });
            assert.deepEqual(randomsReplaced(base, recovered), [], "nothing rotates on a recovered state");
            const next = await runStack(stack, { now: later(2), previousOutputs: after(recovered) });
            const counters = after(next)[ROTATION_STATE_OUTPUT] as Record<string, { applied: number }>;
            assert.deepEqual(randomsReplaced(recovered, next), scheduledReplacements(appsConfig(), (id) => counters[id].applied % 2));
            await assert.rejects(
                runStack(stack, { previousOutputs: { environment: stack } }),
                /has neither a rotationState nor an inventory output, so the rotation counter of each generated secret is unknown/,
            );
        });

        it("publishes the applied counters as a stack output, and nothing else", () => {
            const state = after(base)[ROTATION_STATE_OUTPUT] as Record<string, unknown>;
            // Generated secrets, and certificates Vault issues (they rotate on the same counters).
            const generated = Object.entries<any>(appsConfig()).flatMap(([app, spec]) =>
                Object.entries<any>(spec.secrets)
                    // Generated secrets, issued certificates, and database passwords (alternating users: their counter drives the slots).
                    .filter(([, s]) => ["random-bytes", "password", "vault-pki-cert"].includes(s.source.kind) || (s.source.kind === "database" && s.source.field === "password"))
                    .map(([k]) => `${app}/${k}`),
            );
            assert.deepEqual(Object.keys(state).sort(), generated.sort());
            for (const v of Object.values(state)) assert.deepEqual(Object.keys(v as object).sort(), ["applied", "offset"]);
        });
    });

    describe(`operator-supplied secrets and inventory (${stack})`, () => {
        it("list every secret with its path, source, generation, age and last rotation, and no value", () => {
            const inventory = base.outputs.inventory as Record<string, unknown>[];
            const catalog = Object.entries<any>(appsConfig()).flatMap(([app, spec]) => Object.keys(spec.secrets).map((k) => `${app}/${k}`));
            assert.deepEqual(inventory.map((e) => `${e.app}/${e.secret}`).sort(), catalog.sort());
            const values = secretValues(base);
            assert.deepEqual(plaintextStrings(inventory).filter((s) => values.some((v) => s.value.includes(v))), []);
            const token = inventory.find((e) => e.secret === "soma_api_token")!;
            assert.equal(token.vaultPath, `secret/data/shared-infra/soma-memory/${stack}`);
            assert.deepEqual(token.properties, [{ property: "soma_api_token", env: "SOMA_API_TOKEN", slot: "value" }]);
            assert.equal(token.source, "random-bytes");
            assert.equal(token.generation, 0);
            assert.equal(token.maxAgeDays, rotationConfig().maxAgeDays);
            assert.equal(token.lastRotated, TEST_NOW.toISOString().replace(/\.\d{3}Z$/, "Z"));
        });

        it("every rotation date is declared to be replaced with its random resource (replaceWith) and keyed like it", () => {
            for (const stamp of base.resources.filter((r) => r.type === "time:index/static:Static")) {
                const random = base.resources.find((r) => RANDOM_TYPES.has(r.type) && `${r.name}-rotated-at` === stamp.name);
                assert.ok(random, `no random resource for ${stamp.name}`);
                assert.deepEqual(stamp.options.replaceWith, [random.urn]);
                assert.deepEqual(stamp.inputs.triggers, random.inputs.keepers);
            }
        });
    });
}
