/**
 * What the command-line tools (plan, rotate) write to and exit with, so that each is one function of
 * its arguments and streams: `tools/<name>.ts` runs it as the process (`npm run <name>`), and tests
 * run the same function in their own process with captured streams (test/support.ts `runTool`),
 * without a new Node process per call.
 */

/** Streams and environment of one run of a command. */
export interface CommandIo {
    /** Resolves once the text is flushed: exiting earlier truncates a piped plan. */
    out(text: string): Promise<void>;
    err(text: string): Promise<void>;
    /** Whether standard output is a terminal (colour). */
    isTTY: boolean;
    env: NodeJS.ProcessEnv;
}

/** A usage error: the message, the usage line, exit 2. */
export class UsageError extends Error {
    constructor(
        message: string,
        readonly usage: string,
    ) {
        super(message);
        this.name = "UsageError";
    }
}

export type Command = (args: string[], io: CommandIo) => Promise<number>;

function write(stream: NodeJS.WriteStream, text: string): Promise<void> {
    return new Promise((resolve, reject) => stream.write(text, (e) => (e ? reject(e) : resolve())));
}

/** This process's own streams and environment. */
export function processIo(): CommandIo {
    return { out: (t) => write(process.stdout, t), err: (t) => write(process.stderr, t), isTTY: process.stdout.isTTY === true, env: process.env };
}

/** Runs a command as the process: its arguments, its streams, its exit code once both are flushed. */
export function runAsProcess(command: Command): void {
    command(process.argv.slice(2), processIo()).then(
        (code) => process.exit(code),
        (e: Error) => process.stderr.write(`${e.stack ?? e.message}\n`, () => process.exit(3)),
    );
}

/** Streams that keep what a command writes, for a test. */
export function capturedIo(env: NodeJS.ProcessEnv, isTTY = false): CommandIo & { stdout(): string; stderr(): string } {
    const out: string[] = [];
    const err: string[] = [];
    return {
        out: async (t) => void out.push(t),
        err: async (t) => void err.push(t),
        isTTY,
        env,
        stdout: () => out.join(""),
        stderr: () => err.join(""),
    };
}
