/**
 * Alternating database users (docs/database-credentials.md) under the mocks: two rotations in a
 * row, which credentials are valid at each step, that the composed DSNs always carry the pair Vault
 * just set, and what the management role may do. tools/e2e/databaseRotation.ts proves the same
 * against real Postgres, Redis and OpenBao.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { alternatingUsers, slotPasswords } from "../components/credentials/alternatingUsers";
import { POSTGRES_ROOT_ROTATION_STATEMENT, POSTGRES_ROTATION_STATEMENT, vaultRotationPeriodSeconds } from "../components/vault/databaseCredentials";
import { appReadPolicyRules, rotatorPolicyRules } from "../components/vault/policies";
import { plaintextStrings, resolvedConfig, reveal, RunResult, runStack, SUPPLIED, TEST_NOW } from "./support";

const DAY = 86_400_000;

describe("alternating users: slot arithmetic", () => {
    it("for any two rotations in a row, the previous pair stays valid and the pair before it is refused", () => {
        for (let n = 0; n < 40; n++) {
            // Steps: the first deployment at n, then rotations to n+1 and n+2.
            const counters = [n, n + 1, n + 2];
            const passwords = slotPasswords(counters);
            /** The pair a pod holds after step k: the active slot with the password it had then. */
            const held = counters.map((c, k) => ({ slot: alternatingUsers(c).active, generation: passwords[k][alternatingUsers(c).active] }));
            const valid = (k: number, pair: { slot: "a" | "b"; generation: number }) => passwords[k][pair.slot] === pair.generation;
            for (let k = 0; k < counters.length; k++) {
                assert.ok(valid(k, held[k]), `n=${n} step ${k}: the new (active) pair is valid`);
                if (k >= 1) {
                    assert.notEqual(held[k].slot, held[k - 1].slot, `n=${n} step ${k}: the rotation switches users`);
                    assert.ok(valid(k, held[k - 1]), `n=${n} step ${k}: the previous pair still connects`);
                    // The password the now-active slot had before this rotation.
                    assert.ok(!valid(k, { slot: held[k].slot, generation: passwords[k - 1][held[k].slot] }), `n=${n} step ${k}: the pair before the previous is refused`);
                }
                if (k >= 2) assert.ok(!valid(k, held[k - 2]), `n=${n} step ${k}: the pair of two rotations ago is refused`);
            }
        }
    });
    it("a deployment that does not move the counter changes no password", () => {
        assert.deepEqual(slotPasswords([5, 5, 5]), [{ a: 1, b: 2 }, { a: 1, b: 2 }, { a: 1, b: 2 }]);
    });
    it("Vault's own schedule never fires before the program's: a slot's password lives two periods, Vault's timer three", () => {
        for (const days of [1, 30, 90]) assert.ok(vaultRotationPeriodSeconds(days) > 2 * days * 86_400);
    });
});

/** The dev stack at TEST_NOW, then one and two 30-day periods later, each fed the last run's outputs. */
describe("alternating users: the dev stack through two scheduled rotations (mocks)", () => {
    const runs: RunResult[] = [];
    const maxAgeDays = 30; // Pulumi.dev.yaml rotation.maxAgeDays
    before(async () => {
        for (let k = 0; k < 3; k++) {
            runs.push(await runStack("dev", { now: new Date(TEST_NOW.getTime() + k * maxAgeDays * DAY), previousOutputs: k ? (reveal(runs[k - 1].outputs) as Record<string, unknown>) : undefined }));
        }
    });
    const find = (run: RunResult, type: string, name: string) => {
        const r = run.resources.find((x) => x.type === type && x.name === name);
        assert.ok(r, `${type} ${name}`);
        return reveal(r.inputs) as any;
    };
    const externalSecret = (run: RunResult, app: string) => find(run, "kubernetes:external-secrets.io/v1:ExternalSecret", `kubernetes-${app}-sync-external-secret`).spec;
    const rotateStep = (run: RunResult, app: string, db: string) => find(run, "vault:generic/endpoint:Endpoint", `vault-${app}-${db}-rotate`);
    const cases: [string, string][] = [["soma-memory", "postgres"], ["soma-memory", "redis"], ["nemo-server", "postgres"], ["nemo-server", "redis"]];

    for (const [app, db] of cases) {
        it(`${app}/${db}: each run, ESO reads exactly the slot Vault just rotated, and the rotations alternate`, () => {
            const active: string[] = [];
            const counters: number[] = [];
            for (const run of runs) {
                const step = rotateStep(run, app, db);
                const rotated = String(step.path).replace(/^database\/rotate-role\//, "");
                const entries = externalSecret(run, app).data.filter((e: any) => e.sourceRef && String(e.remoteRef.key).includes(`-${db}-`));
                assert.equal(entries.length, 2, "username and password");
                // Username and password always from the same static role: never a pair of two slots.
                assert.deepEqual(new Set(entries.map((e: any) => e.remoteRef.key)), new Set([`static-creds/${rotated}`]));
                assert.deepEqual(entries.map((e: any) => e.remoteRef.property).sort(), ["password", "username"]);
                active.push(rotated);
                counters.push(JSON.parse(step.dataJson).rotation);
            }
            assert.deepEqual([counters[1] - counters[0], counters[2] - counters[1]], [1, 1], `counters ${counters}`);
            assert.notEqual(active[0], active[1]);
            assert.equal(active[0], active[2], "two rotations bring the first slot back, with a new password");
            // What each step leaves valid (slot → password generation), as the e2e measures it on real servers.
            const table = slotPasswords(counters).map((p, k) => `step ${k}: active ${active[k].slice(-1)}, a#${p.a} b#${p.b}`);
            assert.equal(table.length, 3);
        });
        it(`${app}/${db}: a rotation writes the rotate step and the manager's rotate-root, nothing else (connection and static roles unchanged)`, () => {
            const rootCounters = runs.map((run) => JSON.parse(find(run, "vault:generic/endpoint:Endpoint", `vault-${app}-${db}-rotate-root`).dataJson).rotation);
            assert.deepEqual([rootCounters[1] - rootCounters[0], rootCounters[2] - rootCounters[1]], [1, 1], "the manager's password rotates with every rotation");
            for (const name of [`vault-${app}-${db}-connection`, `vault-${app}-${db}-slot-a`, `vault-${app}-${db}-slot-b`]) {
                const type = name.endsWith("connection") ? "vault:database/secretBackendConnection:SecretBackendConnection" : name.includes("slot") ? "vault:database/secretBackendStaticRole:SecretBackendStaticRole" : "vault:generic/endpoint:Endpoint";
                assert.deepEqual(find(runs[1], type, name), find(runs[0], type, name), name);
                assert.deepEqual(find(runs[2], type, name), find(runs[1], type, name), name);
            }
        });
    }

    it("the composed POSTGRES_URL and REDIS_URL are built by ESO from the active pair, never stored in Vault KV", () => {
        for (const run of runs) {
            const spec = externalSecret(run, "soma-memory");
            const t = spec.target.template;
            assert.equal(t.engineVersion, "v2");
            assert.equal(t.mergePolicy, "Replace", "only the template's keys reach the Secret");
            assert.match(t.data.POSTGRES_URL, /^postgresql:\/\/\{\{ index \. "_ref_postgres_user" \| urlquery \}\}:\{\{ index \. "_ref_postgres_password" \| urlquery \}\}@/);
            assert.match(t.data.REDIS_URL, /^redis:\/\/\{\{ index \. "_ref_redis_user" \| urlquery \}\}:\{\{ index \. "_ref_redis_password" \| urlquery \}\}@/);
            assert.ok(!Object.keys(t.data).some((k) => k.startsWith("_ref_")), "the intermediate values stay out of the Secret");
            const kv = JSON.parse(find(run, "vault:kv/secretV2:SecretV2", "vault-soma-memory-data").dataJson);
            for (const absent of ["postgres_dsn", "postgres_password", "postgres_user", "redis_url", "redis_password", "redis_user"]) assert.ok(!(absent in kv), `${absent} is not in KV`);
        }
        const nemo = externalSecret(runs[0], "nemo-server");
        assert.deepEqual(nemo.data.filter((e: any) => e.sourceRef).map((e: any) => e.secretKey).sort(), ["postgres_password", "postgres_user", "redis_password", "redis_user"]);
    });

    it("the rotate step runs once both static roles exist", () => {
        // The ExternalSecret's role name is an output of the rotate step (DatabaseCredentials.activeRole);
        // the mocks record no Output dependencies, so only the step's own ordering is checked here.
        const preview = runs[0].resources.find((r) => r.name === "vault-soma-memory-postgres-rotate");
        assert.ok(preview && preview.options.dependsOn?.some((u) => u.endsWith("vault-soma-memory-postgres-slot-a")) && preview.options.dependsOn?.some((u) => u.endsWith("vault-soma-memory-postgres-slot-b")));
    });

    it("the management role: the function only, its own password by rotate-root, its bootstrap password write-only and secret", () => {
        const run = runs[0];
        for (const [app, db] of cases) {
            const conn = find(run, "vault:database/secretBackendConnection:SecretBackendConnection", `vault-${app}-${db}-connection`);
            if (db === "postgres") {
                assert.deepEqual(conn.rootRotationStatements, [POSTGRES_ROOT_ROTATION_STATEMENT]);
                assert.equal(conn.postgresql.passwordWoVersion, 1, "sent once");
                assert.equal(conn.postgresql.password, undefined, "no stored password input");
                for (const slot of ["a", "b"]) assert.deepEqual(find(run, "vault:database/secretBackendStaticRole:SecretBackendStaticRole", `vault-${app}-${db}-slot-${slot}`).rotationStatements, [POSTGRES_ROTATION_STATEMENT]);
                assert.doesNotMatch(POSTGRES_ROTATION_STATEMENT, /ALTER|CREATE|GRANT/i);
            }
            const rotateRoot = find(run, "vault:generic/endpoint:Endpoint", `vault-${app}-${db}-rotate-root`);
            assert.equal(rotateRoot.path, `database/rotate-root/${app}-${db}-dev`);
            const rr = run.resources.find((r) => r.name === `vault-${app}-${db}-rotate-root`)!;
            assert.ok(rr.options.replaceWith?.some((u) => u.endsWith(`vault-${app}-${db}-connection`)), "a new connection is rotated away again");
        }
        // No bootstrap value in plaintext anywhere the run recorded.
        const leaks = plaintextStrings(run.resources.map((r) => ({ inputs: r.inputs, outputs: r.outputs }))).concat(plaintextStrings(run.outputs)).map((x) => x.value);
        assert.ok(leaks.length > 0, "the walk sees the plaintext values");
        for (const v of [...Object.values(SUPPLIED["soma-memory"]), SUPPLIED["nemo-server"].postgres_manager_bootstrap, SUPPLIED["nemo-server"].redis_manager_bootstrap]) {
            assert.ok(!leaks.some((s) => s.includes(v)), `${v} is plaintext somewhere`);
        }
    });

    it("Vault policies: each app reads its own two static roles only; the pipeline rotates them and nothing else of the mount", () => {
        const config = resolvedConfig("dev");
        for (const app of config.apps) {
            const dbRules = appReadPolicyRules(app, config.vault.database.path).filter((r) => r.path.startsWith("database/"));
            assert.deepEqual(dbRules.map((r) => [r.path, r.capabilities]), app.databases.flatMap((d) => [[`database/static-creds/${d.roleNames.a}`, ["read"]], [`database/static-creds/${d.roleNames.b}`, ["read"]]]));
        }
        const rotator = rotatorPolicyRules(config).filter((r) => r.path.startsWith("database/"));
        assert.ok(rotator.every((r) => !r.path.includes("*") && !r.path.includes("+")), "no globs");
        assert.ok(!rotator.some((r) => /static-creds|\/creds\//.test(r.path)), "the pipeline never reads a credential");
        assert.ok(rotator.every((r) => /^database\/(config|rotate-root|static-roles|rotate-role)\//.test(r.path)));
    });

    it("the inventory: database passwords rotate (alternating users) within the schedule; exempt secrets carry their reason", () => {
        const inventory = reveal(runs[0].outputs.inventory) as any[];
        for (const [app, secret] of [["soma-memory", "postgres_password"], ["soma-memory", "redis_password"], ["nemo-server", "postgres_password"], ["nemo-server", "redis_password"]]) {
            const e = inventory.find((x) => x.app === app && x.secret === secret);
            assert.equal(e.rotation, "alternating-users");
            assert.equal(e.maxAgeDays, maxAgeDays);
            assert.ok(e.nextScheduledRotation);
        }
        for (const secret of ["users_db_key", "rag_db_key"]) {
            const e = inventory.find((x) => x.app === "nemo-server" && x.secret === secret);
            assert.equal(e.maxAgeDays, 0);
            assert.match(e.exemptReason, /re-encrypt/);
        }
    });
});
