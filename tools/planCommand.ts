/** The offline plan as a function of its arguments and streams (tools/cli.ts); tools/plan.ts is the process. */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { stringify } from "yaml";
import { parseStackFile } from "./harness/stackConfig";
import { buildPlan, diffPlans, failureReport, Plan, PlanDiff, PlanOptions, stableStringify } from "./planLib";
import { diffMarkdown, planMarkdown } from "./planMarkdown";
import { renderTree, styleFor, useColour } from "./planTree";
import { nearest } from "../components/config/rules";
import { CommandIo, UsageError } from "./cli";

const USAGE =
    "usage: npm run plan -- --stack <name> [--expand | --details | <resource name or URN>...] [--json] [--show-secrets] [--diff <other-stack>] [--format text|markdown [--diagram]] [--now <ISO date>] [--strict] [--stack-file <path>] [--previous-outputs <path>]\n";

function usage(message: string): never {
    throw new UsageError(message, USAGE);
}

/** Inputs and options of every resource, or of the resources named (by name or URN), as YAML. */
function printDetails(plan: Plan, names: string[], emit: (text: string) => Promise<void>): Promise<void> {
    const wanted = names.length === 0 ? plan.resources : plan.resources.filter((r) => names.includes(r.name) || names.includes(r.urn));
    const missing = names.filter((n) => !plan.resources.some((r) => r.name === n || r.urn === n));
    if (missing.length > 0) {
        const known = new Set(plan.resources.map((r) => r.name));
        usage(
            missing
                .map((n) => {
                    const near = nearest(n, known);
                    return `no resource named ${n} in stack ${plan.stack}${near ? ` (did you mean ${near}?)` : ""}`;
                })
                .join("; "),
        );
    }
    const out: string[] = [`# offline plan: project ${plan.project}, stack ${plan.stack}, ${plan.resources.length} resources${names.length > 0 ? `, ${wanted.length} shown` : ""}`, ""];
    for (const r of wanted) {
        out.push(`+ ${r.urn}`);
        const body: Record<string, unknown> = { type: r.type, name: r.name };
        if (r.parent) body.parent = r.parent;
        if (r.provider) body.provider = r.provider;
        if (Object.keys(r.options).length > 0) body.options = r.options;
        if (Object.keys(r.inputs).length > 0) body.inputs = r.inputs;
        out.push(
            stringify(body, { lineWidth: 0 })
                .trimEnd()
                .split("\n")
                .map((l) => `    ${l}`)
                .join("\n"),
        );
    }
    if (names.length === 0) out.push("", "# outputs", stringify(plan.outputs, { lineWidth: 0 }).trimEnd());
    return emit(`${out.join("\n")}\n`);
}

/**
 * The per-environment review: the summary of settings first, then resources only in one stack, then
 * each changed resource's differences, one `path: <a> → <b>` line each. Stack-derived URNs read
 * `urn:pulumi:*::`; values that differ only by the environment's name are counted in the summary.
 */
function printDiff(diff: PlanDiff, project: string, emit: (text: string) => Promise<void>): Promise<void> {
    const [a, b] = diff.stacks;
    const show = (v: string | undefined) => (v === undefined ? "(none)" : v);
    const out = [`# offline plan diff: project ${project}, stack ${a} → ${b} (URNs without their stack: urn:pulumi:*::)`, "", "## summary"];
    out.push(...(diff.summary.length > 0 ? diff.summary.map((l) => `- ${l}`) : ["- no differences"]));
    for (const [s, mark] of [[a, "-"], [b, "+"]] as const) {
        if (diff.onlyIn[s].length === 0) continue;
        out.push("", `## only in ${s}`, ...diff.onlyIn[s].map((u) => `${mark} ${u}`));
    }
    if (diff.changed.length > 0) {
        out.push("", `## changed (${a} → ${b})`);
        for (const c of diff.changed) {
            out.push(`~ ${c.resource}`);
            for (const d of c.differences) out.push(`    ${d.path}: ${show(d[a])} → ${show(d[b])}`);
        }
    }
    return emit(`${out.join("\n")}\n`);
}

/** `npm run plan -- <args>`: 0 with the plan, 1 for bad config, 2 for a usage error, 3 for a failure of the program. */
export async function planCommand(args: string[], io: CommandIo): Promise<number> {
    try {
        await plan(args, io);
        return 0;
    } catch (e) {
        if (e instanceof UsageError) {
            await io.err(`plan: ${e.message}\n${e.usage}`);
            return 2;
        }
        const { code, text } = failureReport(e);
        await io.err(`${text}\n`);
        return code;
    }
}

async function plan(args: string[], io: CommandIo): Promise<void> {
    const emit = io.out;
    let values;
    let positionals: string[] = [];
    try {
        ({ values, positionals } = parseArgs({
            args,
            allowPositionals: true,
            options: {
                stack: { type: "string" },
                json: { type: "boolean", default: false },
                details: { type: "boolean", default: false },
                expand: { type: "boolean", default: false },
                format: { type: "string", default: "text" },
                diagram: { type: "boolean", default: false },
                "show-secrets": { type: "boolean", default: false },
                diff: { type: "string" },
                now: { type: "string" },
                strict: { type: "boolean", default: false },
                "stack-file": { type: "string" },
                "previous-outputs": { type: "string" },
            },
            strict: true,
        }));
    } catch (e) {
        usage((e as Error).message);
    }
    if (!values.stack) usage("--stack is required");
    if (values.format !== "text" && values.format !== "markdown") usage(`--format ${values.format}: text or markdown`);
    if (values.json && values.format !== "text") usage("--json and --format markdown exclude one another");
    if (values.diagram && values.format !== "markdown") usage("--diagram goes with --format markdown");
    if (values.expand && (values.json || values.details || values.diff || positionals.length > 0)) usage("--expand goes with the tree, not --json, --details, --diff or resource names");
    if (positionals.length > 0 && (values.json || values.diff)) usage("resource names go with the plain plan, not --json or --diff");
    const now = values.now ? new Date(values.now) : undefined;
    if (now && Number.isNaN(now.getTime())) usage(`--now ${values.now} is not a date`);
    const previousOutputs = values["previous-outputs"] ? (JSON.parse(readFileSync(values["previous-outputs"], "utf8")) as Record<string, unknown>) : undefined;
    const options: PlanOptions = { showSecrets: values["show-secrets"], now, strict: values.strict, previousOutputs, notice: (m) => void io.err(`${m}\n`) };
    const stackFile = values["stack-file"];

    let text: string | undefined;
    if (stackFile) {
        try {
            text = readFileSync(stackFile, "utf8");
        } catch (e) {
            usage(`cannot read --stack-file ${stackFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
        }
    }
    const plan = await buildPlan(values.stack, { ...options, config: text !== undefined ? parseStackFile(text, stackFile) : undefined });
    if (values.diff) {
        // The other stack's own last outputs are not at hand: plan it as a new stack.
        const other = await buildPlan(values.diff, { ...options, previousOutputs: undefined });
        const diff = diffPlans(plan, other);
        if (values.json) return emit(`${stableStringify(diff)}\n`);
        if (values.format === "markdown") return emit(diffMarkdown(diff, plan.project, { diagramOf: values.diagram ? plan : undefined }));
        return printDiff(diff, plan.project, emit);
    }
    if (values.json) return emit(`${stableStringify(plan)}\n`);
    if (values.details || positionals.length > 0) return printDetails(plan, positionals, emit);
    if (values.format === "markdown") return emit(planMarkdown(plan, { diagram: values.diagram, expand: values.expand }));
    return emit(`${renderTree(plan, styleFor(useColour(io, io.env)), { expand: values.expand }).join("\n")}\n`);
}
