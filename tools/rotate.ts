/**
 * Rotation by name: prints the commands that rotate one catalog secret, with every URN resolved
 * from the offline plan of the stack. Prints URNs and commands only, never a value.
 *
 *   npm run rotate -- --stack prod nemo-server/session_key
 *   npm run rotate -- --stack prod --leaked nemo-server/jwt_secret   (both slots of a dual-key secret)
 *                     [--stack-file proposed.yaml]   (a stack file other than Pulumi.<stack>.yaml)
 *
 * Exit 0 with the commands; 1 for a name that is not in the catalog (with the nearest names) or
 * not generated (with what to do instead); 2 for a usage error.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { parseStackFile } from "./harness/stackConfig";
import { buildPlan } from "./planLib";
import { resolveTarget, RotateError, rotationCommands } from "./rotateLib";

function usage(message?: string): never {
    if (message) process.stderr.write(`rotate: ${message}\n`);
    process.stderr.write("usage: npm run rotate -- --stack <name> [--leaked] [--stack-file <path>] <app>/<secret>\n");
    process.exit(2);
}

async function cli(): Promise<string> {
    let parsed;
    try {
        parsed = parseArgs({ options: { stack: { type: "string" }, leaked: { type: "boolean", default: false }, "stack-file": { type: "string" } }, allowPositionals: true, strict: true });
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

cli().then(
    (text) => process.stdout.write(text, () => process.exit(0)),
    (e: Error) => {
        const known = e instanceof RotateError || e.name === "ConfigError" || e.name === "StackConfigError";
        process.stderr.write(`${known ? `rotate: ${e.message}` : (e.stack ?? e.message)}\n`);
        process.exit(1);
    },
);
