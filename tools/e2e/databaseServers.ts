/**
 * Real Postgres and Redis for the database-credentials proof, on loopback and free ports, plus an
 * OpenBao dev server: the processes, and clients that answer only "did this login work".
 *
 * Postgres: Debian's server binaries (PATH, /usr/local/bin or /usr/lib/postgresql/<v>/bin); initdb
 * refuses to run as root, so as root the cluster runs as the `postgres` user (runuser).
 * Redis: redis-server (Debian's redis-server package; tools/e2e/e2e.sh installs it when missing).
 */
import { ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { freePort, vaultRequester } from "./servers";

function which(name: string, extra: string[] = []): string {
    for (const dir of [...(process.env.PATH ?? "").split(":"), ...extra]) {
        const p = path.join(dir, name);
        if (dir && existsSync(p)) return p;
    }
    throw new Error(`${name} not found (PATH, ${extra.join(", ")}): install Debian's postgresql and redis-server packages`);
}

function postgresBinDir(): string {
    const debian = existsSync("/usr/lib/postgresql") ? readdirSync("/usr/lib/postgresql").sort().reverse().map((v) => `/usr/lib/postgresql/${v}/bin`) : [];
    return path.dirname(which("initdb", ["/usr/local/bin", ...debian]));
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
        if (await check()) return;
        await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`${what} did not come up within ${timeoutMs / 1000}s`);
}

export interface PostgresServer {
    port: number;
    superuser: string;
    /** Runs SQL as the superuser (ON_ERROR_STOP); throws with psql's error. */
    admin(sql: string, database?: string): string;
    /** Tries a login and a query; returns the error text, or undefined when it worked. */
    login(user: string, password: string, database: string, sql?: string): string | undefined;
    /** Same with a libpq URI (a composed POSTGRES_URL). */
    loginUrl(url: string, sql?: string): string | undefined;
    stop(): void;
}

/** `dir` must be reachable by the postgres user when run as root: a fresh directory directly under /tmp. */
export async function startPostgres(dir: string): Promise<PostgresServer> {
    const bin = postgresBinDir();
    const psql = which("psql", [bin]);
    const port = await freePort();
    const superuser = "platform_dba";
    const superPassword = randomBytes(18).toString("base64url");
    mkdirSync(dir, { recursive: true });
    const asRoot = process.getuid?.() === 0;
    const run = (cmd: string, args: string[]) => (asRoot ? execFileSync("runuser", ["-u", "postgres", "--", cmd, ...args], { stdio: "pipe" }) : execFileSync(cmd, args, { stdio: "pipe" }));
    const pwfile = path.join(dir, "pwfile");
    writeFileSync(pwfile, `${superPassword}\n`, { mode: 0o600 });
    if (asRoot) {
        const pgUid = Number(execFileSync("id", ["-u", "postgres"]).toString().trim());
        const pgGid = Number(execFileSync("id", ["-g", "postgres"]).toString().trim());
        chownSync(dir, pgUid, pgGid);
        chownSync(pwfile, pgUid, pgGid);
    }
    const data = path.join(dir, "data");
    run(path.join(bin, "initdb"), ["-D", data, "-U", superuser, "--auth=scram-sha-256", `--pwfile=${pwfile}`, "--no-sync"]);
    // Loopback only; the socket in the cluster's own directory.
    run(path.join(bin, "pg_ctl"), ["-D", data, "-l", path.join(dir, "postgres.log"), "-w", "-o", `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir}`, "start"]);
    // SQL on stdin (-f -): each statement its own transaction, as a DBA's script runs (CREATE DATABASE included).
    const exec = (env: Record<string, string>, args: string[], sql: string) =>
        spawnSync(psql, ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-tA", ...args, "-f", "-"], { env: { ...process.env, PGCONNECT_TIMEOUT: "5", ...env }, encoding: "utf8", input: sql });
    const pg: PostgresServer = {
        port,
        superuser,
        admin(sql, database = "postgres") {
            const r = exec({ PGPASSWORD: superPassword }, ["-h", "127.0.0.1", "-p", String(port), "-U", superuser, "-d", database], sql);
            if (r.status !== 0) throw new Error(`psql as ${superuser}: ${r.stderr.trim()}`);
            return r.stdout.trim();
        },
        login(user, password, database, sql = "SELECT current_user") {
            const r = exec({ PGPASSWORD: password }, ["-h", "127.0.0.1", "-p", String(port), "-U", user, "-d", database], sql);
            return r.status === 0 ? undefined : r.stderr.trim() || `exit ${r.status}`;
        },
        loginUrl(url, sql = "SELECT current_user") {
            const r = exec({}, ["-d", url], sql);
            return r.status === 0 ? undefined : r.stderr.trim() || `exit ${r.status}`;
        },
        stop() {
            try {
                run(path.join(bin, "pg_ctl"), ["-D", data, "-m", "immediate", "stop"]);
            } catch {
                /* already down */
            }
        },
    };
    await waitFor("postgres", () => {
        try {
            pg.admin("SELECT 1");
            return true;
        } catch {
            return false;
        }
    });
    return pg;
}

export interface RedisServer {
    port: number;
    /** Runs one command as the admin user; returns redis-cli's output. */
    admin(args: string[]): string;
    /** AUTH <user> <password> then PING; undefined when it worked, else the server's answer. */
    login(user: string, password: string): string | undefined;
    /** Same with a redis:// URL (a composed REDIS_URL). */
    loginUrl(url: string): string | undefined;
    stop(): void;
}

export async function startRedis(dir: string): Promise<RedisServer> {
    const server = which("redis-server");
    const cli = which("redis-cli");
    const port = await freePort();
    mkdirSync(dir, { recursive: true });
    const adminPassword = randomBytes(18).toString("base64url");
    const conf = path.join(dir, "redis.conf");
    // No default user: every client names its ACL user, as the apps' alternating users do.
    writeFileSync(conf, [`bind 127.0.0.1`, `port ${port}`, `dir ${dir}`, `save ""`, `appendonly no`, `user default off`, `user platform_admin on >${adminPassword} ~* &* +@all`, ""].join("\n"), { mode: 0o600 });
    const proc: ChildProcess = spawn(server, [conf], { stdio: "ignore" });
    const run = (args: string[]) => spawnSync(cli, ["-h", "127.0.0.1", "-p", String(port), "--no-auth-warning", ...args], { encoding: "utf8", timeout: 10_000 });
    const r: RedisServer = {
        port,
        admin(args) {
            const out = run(["--user", "platform_admin", "--pass", adminPassword, ...args]);
            const text = `${out.stdout}${out.stderr}`.trim();
            if (out.status !== 0 || /^(ERR|WRONGPASS|NOPERM)/m.test(text)) throw new Error(`redis-cli ${args[0]} ${args[1] ?? ""}: ${text}`);
            return text;
        },
        login(user, password) {
            const out = run(["--user", user, "--pass", password, "PING"]);
            const text = `${out.stdout}${out.stderr}`.trim();
            return text === "PONG" ? undefined : text || `exit ${out.status}`;
        },
        loginUrl(url) {
            const out = run(["-u", url, "PING"]);
            const text = `${out.stdout}${out.stderr}`.trim();
            return text === "PONG" ? undefined : text || `exit ${out.status}`;
        },
        stop() {
            proc.kill("SIGTERM");
        },
    };
    await waitFor("redis", () => {
        try {
            r.admin(["PING"]);
            return true;
        } catch {
            return false;
        }
    });
    return r;
}

export interface OpenBao {
    address: string;
    request<T = any>(method: string, pathName: string, body?: unknown, token?: string): Promise<{ status: number; body: T }>;
    stop(): void;
}

/** An OpenBao dev server on loopback (plain HTTP: the database half needs no TLS to Vault). */
export async function startOpenBao(bao: string, dir: string): Promise<OpenBao> {
    const port = await freePort();
    const rootToken = randomBytes(18).toString("base64url");
    mkdirSync(dir, { recursive: true });
    const proc = spawn(bao, ["server", "-dev", `-dev-root-token-id=${rootToken}`, `-dev-listen-address=127.0.0.1:${port}`], { stdio: "ignore", env: { ...process.env, HOME: dir } });
    const address = `http://127.0.0.1:${port}`;
    const request: OpenBao["request"] = vaultRequester(address, rootToken);
    await waitFor("openbao", async () => {
        try {
            return (await request("GET", "sys/health")).status === 200;
        } catch {
            return false;
        }
    });
    return { address, request, stop: () => proc.kill("SIGTERM") };
}
