/**
 * Shared test helpers. tools/test.js runs the test files of one stack in one process, each file a
 * suite that starts from empty emulated servers; a stack's plain run is made once per process.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import { join } from "node:path";
import { runProgram, ResourceRecord, RunOptions, RunResult } from "../tools/harness/run";
import { validateConfig } from "../components/config/load";
import type { PlatformConfig } from "../components/config/model";
import { projectName, readStackConfig, toRuntimeConfig } from "../tools/harness/stackConfig";

import { SecretValue } from "../tools/harness/secret";
import { capturedIo, Command } from "../tools/cli";
import { planCommand } from "../tools/planCommand";
import { rotateCommand } from "../tools/rotateCommand";
import { emulatedServersEmpty, EmulatedServersSnapshot, resetEmulatedServers, restoreEmulatedServers, snapshotEmulatedServers } from "../tools/harness/mocks/common";

export { SecretValue, reveal, plaintextStrings } from "../tools/harness/secret";
export type { ResourceRecord, RunResult };

/**
 * How a test runs a command-line tool (tools/<name>.ts) as a user does with `npm run <name>`: the
 * compiled bundle of the same sources through tools/fast.js (rebuilt whenever a source changes),
 * which starts in about half the time of the TypeScript loader. PLATFORM_SECRETS_NO_BUNDLE=1 runs
 * the TypeScript through tsx instead.
 */
export function toolCommand(name: "plan" | "rotate" | "bench", args: string[]): [string, string[]] {
    return [process.execPath, [join(__dirname, "..", "tools", "fast.js"), name, ...args]];
}

export interface ToolRun {
    code: number;
    stdout: string;
    stderr: string;
}

const COMMANDS: Record<"plan" | "rotate", Command> = { plan: planCommand, rotate: rotateCommand };

/** A tool's environment in a test: this one without the colour settings, plus `extra`. */
function toolEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
    const { NO_COLOR: _n, FORCE_COLOR: _f, ...inherited } = process.env;
    return { ...inherited, ...extra };
}
let toolQueue: Promise<unknown> = Promise.resolve();

/**
 * `npm run <plan|rotate> -- <args>` in this process: the same command function the process runs
 * (tools/cli.ts), its output captured, as a new process would run it: empty emulated servers (the
 * test's own are put back after), this environment without NO_COLOR and FORCE_COLOR plus `env`,
 * standard output not a terminal. Calls wait for one another (one program runs at a time). What
 * only a process shows (exit status, flushing into a pipe, the compiled bundle, kept outputs) is
 * tested through `toolCommand`.
 */
export function runTool(name: "plan" | "rotate", args: string[], env: Record<string, string> = {}): Promise<ToolRun> {
    const run = toolQueue.then(async () => {
        const io = capturedIo(toolEnv(env));
        const servers = snapshotEmulatedServers();
        resetEmulatedServers();
        try {
            const code = await COMMANDS[name](args, io);
            return { code, stdout: io.stdout(), stderr: io.stderr() };
        } finally {
            restoreEmulatedServers(servers);
        }
    });
    toolQueue = run.catch(() => undefined);
    return run;
}

/**
 * `npm run <plan|rotate> -- <args>` as a user runs it: a child process of the compiled tool
 * (tools/fast.js), without NO_COLOR and FORCE_COLOR, for what only a process shows (exit status, a
 * pipe's missing terminal, the kept outputs).
 */
export async function runToolProcess(name: "plan" | "rotate", args: string[], env: Record<string, string> = {}): Promise<ToolRun> {
    try {
        const { stdout, stderr } = await promisify(execFile)(...toolCommand(name, args), { cwd: join(__dirname, ".."), maxBuffer: 64 * 1024 * 1024, env: toolEnv(env) });
        return { code: 0, stdout, stderr };
    } catch (e) {
        const err = e as { code: number; stdout: string; stderr: string };
        return { code: err.code, stdout: err.stdout, stderr: err.stderr };
    }
}

/** A real, parseable, self-signed test certificate (its key was discarded): config requires CA bundles to parse. */
export const TEST_CA_PEM = readFileSync(join(__dirname, "fixtures", "test-ca.crt"), "utf8");

/** The fixed clock the stack tests run at (scheduled rotation depends on it). */
export const TEST_NOW = new Date("2026-11-22T09:00:00Z");

/** A stand-in for the operator's `pulumi config set --secret` values, per stack. */
export const SUPPLIED = {
    "nemo-server": { huggingface_token: "hf_TestTokenNotARealValue0123456789", postgres_manager_bootstrap: "test-bootstrap-nemo-pg", redis_manager_bootstrap: "test-bootstrap-nemo-redis" },
    // The database managers' bootstrap passwords (docs/database-credentials.md), used once before Vault rotates them.
    "soma-memory": { postgres_manager_bootstrap: "test-bootstrap-soma-pg", redis_manager_bootstrap: "test-bootstrap-soma-redis" },
};

/**
 * The plain run of each stack (its stack file, nothing overridden), shared by the test files of one
 * process (tools/test.js groups a stack's files together): the result, and what the emulated servers
 * held after it. Only a run on empty servers is shared, so a file gets exactly what its own first
 * run would have given it, servers included, and its later runs go on from there.
 */
const sharedRuns = new Map<string, { result: RunResult; servers: EmulatedServersSnapshot }>();

/** Runs a stack with its real Pulumi.<stack>.yaml, operator secrets supplied, at TEST_NOW. */
export async function runStack(stack: string, overrides: Partial<RunOptions> = {}): Promise<RunResult> {
    const options: RunOptions = { stack, now: TEST_NOW, secretConfig: { suppliedSecrets: SUPPLIED }, ...overrides };
    if (Object.keys(overrides).length > 0 || !emulatedServersEmpty()) return runProgram(options);
    const shared = sharedRuns.get(stack);
    if (shared) {
        restoreEmulatedServers(shared.servers);
        return copyResult(shared.result);
    }
    const result = await runProgram(options);
    sharedRuns.set(stack, { result: copyResult(result), servers: snapshotEmulatedServers() });
    return result;
}

/** A deep copy of a run's records (a test may edit what it is given), SecretValue boxes kept. */
function copyResult(result: RunResult): RunResult {
    const copy = (v: unknown): unknown => {
        if (v instanceof SecretValue) return new SecretValue(copy(v.value));
        if (Array.isArray(v)) return v.map(copy);
        if (v && typeof v === "object") {
            const out: Record<string, unknown> = {};
            for (const [k, x] of Object.entries(v)) Object.defineProperty(out, k, { value: copy(x), enumerable: true, writable: true, configurable: true });
            return out;
        }
        return v;
    };
    return copy(result) as RunResult;
}

/** A deep copy of a stack file's config, to edit in a test. */
export function stackConfig(stack: string): Record<string, any> {
    return structuredClone(readStackConfig(stack)) as Record<string, any>;
}

/** The EKS clusters a run looked up (aws:eks/getCluster), in call order. */
export function eksClusterLookups(result: RunResult): string[] {
    return result.invokes.filter((i) => i.token === "aws:eks/getCluster:getCluster").map((i) => String(i.args.name));
}

export function byType(result: RunResult, type: string): ResourceRecord[] {
    return result.resources.filter((r) => r.type === type);
}

export function one(result: RunResult, type: string, name: string): ResourceRecord {
    const found = result.resources.filter((r) => r.type === type && r.name === name);
    if (found.length !== 1) throw new Error(`expected one ${type} named ${name}, found ${found.length}: ${result.resources.filter((r) => r.type === type).map((r) => r.name).join(", ")}`);
    return found[0];
}

/** Resources the program registered (everything but the root Stack). */
export function programResources(result: RunResult): ResourceRecord[] {
    return result.resources.filter((r) => r.type !== "pulumi:pulumi:Stack");
}

/** Deep merge for config overlays: objects merge key by key, `null` deletes, anything else replaces. */
export function overlay(base: unknown, patch: unknown): unknown {
    if (patch === null) return undefined;
    if (patch && typeof patch === "object" && !Array.isArray(patch) && base && typeof base === "object" && !Array.isArray(base)) {
        // Keys are data: `__proto__` and `constructor` are set as own keys, never as the prototype.
        const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
        for (const [k, v] of Object.entries(patch)) {
            const merged = overlay(Object.hasOwn(out, k) ? out[k] : undefined, v);
            if (merged === undefined) delete out[k];
            else Object.defineProperty(out, k, { value: merged, enumerable: true, writable: true, configurable: true });
        }
        return out;
    }
    return patch;
}

/** The resolved model of a stack's config with the test's operator secrets: what the program sees. */
export function resolvedConfig(stack: string, config: Record<string, unknown> = readStackConfig(stack)): PlatformConfig {
    const rc = toRuntimeConfig(config, { suppliedSecrets: SUPPLIED });
    return validateConfig(rc.values, projectName, stack, rc.secretKeys);
}
