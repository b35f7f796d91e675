/** Rotation by name as a function of its arguments and streams (tools/cli.ts); tools/rotate.ts is the process. */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { CommandIo, UsageError } from "./cli";
import { parseStackFile } from "./harness/stackConfig";
import { buildPlan } from "./planLib";
import { resolveTarget, RotateError, rotationCommands } from "./rotateLib";

const USAGE = "usage: npm run rotate -- --stack <name> [--leaked] [--stack-file <path>] <app>/<secret>\n";

function usage(message: string): never {
    throw new UsageError(message, USAGE);
}

/** `npm run rotate -- <args>`: 0 with the commands, 1 for an unknown or ungenerated name or bad config, 2 for a usage error. */
export async function rotateCommand(args: string[], io: CommandIo): Promise<number> {
    try {
        await io.out(await rotate(args));
        return 0;
    } catch (e) {
        const err = e as Error;
        if (err instanceof UsageError) {
            await io.err(`rotate: ${err.message}\n${err.usage}`);
            return 2;
        }
        const known = err instanceof RotateError || err.name === "ConfigError" || err.name === "StackConfigError";
        await io.err(`${known ? `rotate: ${err.message}` : (err.stack ?? err.message)}\n`);
        return 1;
    }
}

async function rotate(args: string[]): Promise<string> {
    let parsed;
    try {
        parsed = parseArgs({ args, options: { stack: { type: "string" }, leaked: { type: "boolean", default: false }, "stack-file": { type: "string" } }, allowPositionals: true, strict: true });
    } catch (e) {
        usage((e as Error).message);
    }
    const { values, positionals } = parsed;
    if (!values.stack) usage("--stack is required");
    if (positionals.length !== 1) usage("name exactly one secret, as <app>/<secret>");
    // The plan's URNs and inventory do not depend on the clock or on operator secrets (placeholders).
    const stackFile = values["stack-file"];
    const plan = await buildPlan(values.stack, { config: stackFile ? parseStackFile(readFileSync(stackFile, "utf8")) : undefined });
    return rotationCommands(plan, resolveTarget(plan, positionals[0]), { leaked: values.leaked });
}
