/**
 * The pure parts of credentials: rotation arithmetic and DSN composition, checked exhaustively.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { renderTemplate } from "../components/credentials/compose";
import { dualKeyState, rotationCounter, schedulePeriod } from "../components/credentials/rotation";
import { advance } from "../components/credentials/rotationState";
import { deterministicBytes, mockPassword, PASSWORD_CLASSES } from "../tools/harness/mocks";
import { resolvedConfig, stackConfig } from "./support";
import { databaseSync } from "../components/kubernetes/databaseSync";
import { renderEsoTemplate } from "../tools/e2e/databaseRotation";

describe("scheduled periods", () => {
    it("cut time since the epoch into periods of maxAgeDays", () => {
        assert.deepEqual(schedulePeriod(new Date("2026-01-01T00:00:00Z"), "2026-01-01", 90), { index: 0, start: "2026-01-01", next: "2026-04-01" });
        assert.deepEqual(schedulePeriod(new Date("2026-03-31T23:59:59Z"), "2026-01-01", 90), { index: 0, start: "2026-01-01", next: "2026-04-01" });
        assert.deepEqual(schedulePeriod(new Date("2026-04-01T00:00:00Z"), "2026-01-01", 90), { index: 1, start: "2026-04-01", next: "2026-06-30" });
    });
    it("never go negative before the epoch, and stand still when scheduling is off", () => {
        assert.equal(schedulePeriod(new Date("2025-06-01T00:00:00Z"), "2026-01-01", 90).index, 0);
        assert.deepEqual(schedulePeriod(new Date("2030-01-01T00:00:00Z"), "2026-01-01", 0), { index: 0, start: "2026-01-01" });
    });
    it("add to the manual generation", () => {
        assert.equal(rotationCounter(3, schedulePeriod(new Date("2026-04-02T00:00:00Z"), "2026-01-01", 90)), 4);
    });
});

describe("dual-key slots", () => {
    it("replace exactly one slot per rotation, and make the old primary previous", () => {
        for (let n = 0; n < 50; n++) {
            const before = dualKeyState(n);
            const after = dualKeyState(n + 1);
            const replaced = (["a", "b"] as const).filter((s) => before.keepers[s] !== after.keepers[s]);
            assert.deepEqual(replaced, [after.primary], `rotation ${n} -> ${n + 1}`);
            assert.equal(after.previous, before.primary, "the old primary becomes previous");
            assert.notEqual(after.primary, after.previous);
        }
    });
});

describe("the rotation state", () => {
    it("applies the desired counter on a new stack", () => {
        assert.deepEqual(advance(7, undefined), { applied: 7, offset: 0 });
    });
    it("moves one step for one step, and holds still when nothing moved", () => {
        assert.deepEqual(advance(8, { applied: 7, offset: 0 }), { applied: 8, offset: 0 });
        assert.deepEqual(advance(7, { applied: 7, offset: 0 }), { applied: 7, offset: 0 });
    });
    it("absorbs a jump forward as one step, and never replays it", () => {
        const jumped = advance(10, { applied: 7, offset: 0 });
        assert.deepEqual(jumped, { applied: 8, offset: 2 });
        assert.deepEqual(advance(10, jumped), jumped, "the same desired counter again: no rotation");
        assert.deepEqual(advance(11, jumped), { applied: 9, offset: 2 }, "the next real step rotates once");
    });
    it("holds still on a state recovered without its offset, then moves on as usual", () => {
        const recovered = advance(12, { applied: 9 });
        assert.deepEqual(recovered, { applied: 9, offset: 3 });
        assert.deepEqual(advance(13, recovered), { applied: 10, offset: 3 });
    });
    it("never moves back", () => {
        assert.deepEqual(advance(3, { applied: 7, offset: 0 }), { applied: 7, offset: -4 });
        assert.deepEqual(advance(4, { applied: 7, offset: -4 }), { applied: 8, offset: -4 });
    });
    it("every sequence of desired counters moves the applied one by 0 or 1 per update", () => {
        let state = advance(0, undefined);
        for (let i = 0; i < 2000; i++) {
            const desired = Math.floor(Math.abs(Math.sin(i * 12.9898) * 43758.5453) % 40) - 5;
            const next = advance(desired, state);
            assert.ok(next.applied - state.applied === 0 || next.applied - state.applied === 1, `step ${i}`);
            assert.equal(next.applied + next.offset, desired);
            state = next;
        }
    });
});

describe("composed DSNs", () => {
    // Every character the generators can emit: random_password's classes and base64 (+ / =).
    const passwordAlphabet = Object.values(PASSWORD_CLASSES).join("");
    const base64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=";

    function corpus(): string[] {
        const values: string[] = [];
        for (let i = 0; i < 500; i++) values.push(mockPassword({ length: 32, special: true }, `dsn-corpus-${i}`));
        for (let i = 0; i < 500; i++) values.push(deterministicBytes(`dsn-corpus-bytes-${i}`, 16 + (i % 17)).toString("base64"));
        return values;
    }

    it("the corpus of 1,000 generated values covers every character the generators emit", () => {
        const seen = new Set(corpus().join(""));
        for (const c of new Set(passwordAlphabet + base64Alphabet)) assert.ok(seen.has(c), `corpus lacks ${JSON.stringify(c)}`);
    });

    for (const stack of ["dev", "staging", "prod"]) {
        it(`every password without a space round-trips through ${stack}'s real Postgres and Redis templates, as ESO composes them`, () => {
            const config = stackConfig(stack);
            const requireTls = config["platform-secrets:security"]?.requireTls === true;
            // The templates as the program hands them to ESO (composed at sync time from the active database user).
            const app = resolvedConfig(stack).apps.find((a) => a.name === "soma-memory")!;
            const sync = databaseSync({ app, activeRoles: { postgres: "pg-role", redis: "redis-role" }, store: { name: "db", kind: "ClusterSecretStore" }, kvStore: { name: "kv", kind: "ClusterSecretStore" }, kvPath: app.kvPath });
            const t = sync.template!.data;
            // Go's urlquery writes a space as '+', which user-info does not decode: Vault's passwords have none.
            for (const password of corpus().filter((p) => !p.includes(" "))) {
                const fetched = { _ref_postgres_user: "soma_a", _ref_postgres_password: password, _ref_redis_user: "soma_b", _ref_redis_password: password };
                const pg = new URL(renderEsoTemplate(t.POSTGRES_URL, fetched));
                assert.equal(decodeURIComponent(pg.password), password);
                assert.equal(decodeURIComponent(pg.username), "soma_a");
                assert.equal(pg.hostname, "postgres.soma-memory.svc.cluster.local");
                assert.equal(pg.pathname, "/somamemory");
                if (requireTls) assert.equal(pg.searchParams.get("sslmode"), "require");
                const redis = new URL(renderEsoTemplate(t.REDIS_URL, fetched));
                assert.equal(decodeURIComponent(redis.password), password);
                assert.equal(decodeURIComponent(redis.username), "soma_b");
                assert.equal(redis.hostname, "redis.soma-memory.svc.cluster.local");
            }
        });
    }

    it("without encoding, a value goes in as it is", () => {
        assert.equal(renderTemplate("{a}:{b}", { a: "x/y", b: "z" }, "none"), "x/y:z");
        assert.throws(() => renderTemplate("{missing}", {}, "uri"), /\{missing\}/);
    });
});
