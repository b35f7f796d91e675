/**
 * Runs the real program under Pulumi's mocks and records what it registers: the test harness and
 * the offline plan share this. What the mock monitor does not do on its own, this adds:
 * - provider-declared secret outputs (RandomPassword.result) come back secret, as from the engine,
 *   by honouring each request's additionalSecretOutputs;
 * - a duplicate URN fails the run, as the engine rejects it;
 * - resource options (protect, retainOnDelete, ignoreChanges, ...) are read off the request, and the
 *   explicit dependsOn through a stack transformation;
 * - the run waits until registrations settle, including resources created inside apply.
 * Runs can follow one another in one process: each resets the runtime's config and mocks.
 */
import * as pulumi from "@pulumi/pulumi";
// The module object itself (a namespace import would be a read-only copy): the run swaps one function.
import debuggableModule = require("@pulumi/pulumi/runtime/debuggable");
import { createMocks, InvokeRecord, MockContext } from "./mocks";
import { fromWire, reveal, SecretValue, toWireSecret } from "./secret";
import { applyProjectConfig, loadProject, ProjectFile } from "./projectConfig";
import { projectName, readStackConfig, RuntimeConfig, toRuntimeConfig } from "./stackConfig";

export interface RecordedOptions {
    protect?: boolean;
    retainOnDelete?: boolean;
    deleteBeforeReplace?: boolean;
    ignoreChanges?: string[];
    replaceOnChanges?: string[];
    additionalSecretOutputs?: string[];
    dependsOn?: string[];
    replacementTrigger?: unknown;
    replaceWith?: string[];
    deletedWith?: string;
    aliases?: unknown[];
}

export interface ResourceRecord {
    urn: string;
    type: string;
    name: string;
    custom: boolean;
    /** The provider's id for a custom resource. */
    id?: string;
    parent?: string;
    /** Provider reference `urn::id`, as the engine sees it. */
    provider?: string;
    inputs: Record<string, unknown>;
    outputs: Record<string, unknown>;
    options: RecordedOptions;
}

export interface RunResult {
    project: string;
    stack: string;
    resources: ResourceRecord[];
    outputs: Record<string, unknown>;
    /** The data sources the program called, in call order. */
    invokes: InvokeRecord[];
}

/** The resources a failed run registered before it failed (on the thrown error). */
export function registeredBeforeFailure(error: unknown): ResourceRecord[] {
    return ((error as { registered?: ResourceRecord[] })?.registered ?? []).slice();
}

export interface RunOptions {
    stack: string;
    /** The stack file's `config:` map; read from Pulumi.<stack>.yaml when absent. */
    config?: Record<string, unknown>;
    /** Secret config (as `pulumi config set --secret` would give), e.g. { suppliedSecrets: {...} }. */
    secretConfig?: Record<string, unknown>;
    /** The clock the program sees (scheduled rotation). */
    now?: Date;
    /**
     * Stack outputs of the previous deployment (plain values, e.g. `reveal(run.outputs)` of an
     * earlier run), for the program's StackReference to itself; none means a new stack.
     */
    previousOutputs?: Record<string, unknown>;
    /**
     * Emulates `pulumi up --target <urns>` after the run `previous`: every custom resource of
     * `previous` not named in `urns` keeps its outputs from then, as the engine keeps untargeted
     * resources as they are.
     */
    target?: { previous: RunResult; urns: string[] };
    /**
     * Run as `pulumi preview` (the runtime's dry run), after the runs before it in this process
     * (the emulated Vault remembers their writes): providers report planned state, not written state.
     */
    preview?: boolean;
    /** Program module to run; defaults to components/main. */
    programModule?: string;
    /** Called with the runtime config before the run, e.g. to patch undecryptable values. */
    prepareConfig?: (config: RuntimeConfig) => void;
    /**
     * The Pulumi.yaml whose config declarations the engine applies before the program runs
     * (missing keys, defaults, types); the repository's own unless given.
     */
    project?: ProjectFile;
}

interface PendingCounter {
    pending: number;
}

/** The mock monitor's registerResource and registerResourceOutputs, wrapped. */
function instrumentMonitor(records: Map<string, ResourceRecord>, counter: PendingCounter, stackOutputs: { value?: unknown }, duplicates: string[], ctx?: MockContext) {
    const monitor = (pulumi.runtime as unknown as { getMonitor(): any }).getMonitor();
    // URNs as the engine makes them: the parent's whole qualified type chain, and no
    // `pulumi:pulumi:Stack$` for children of the root stack (the mock monitor keeps only the
    // immediate parent's type and the stack's). The plan prints these for --target-replace.
    monitor.newUrn = (parent: string, type: string, name: string): string => {
        const parentType = parent ? parent.split("::")[2] : "";
        const qualified = parentType && parentType !== "pulumi:pulumi:Stack" ? `${parentType}$${type}` : type;
        return `urn:pulumi:${pulumi.getStack()}::${pulumi.getProject()}::${qualified}::${name}`;
    };
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req: any, callback: (err: unknown, resp?: any) => void) => {
        counter.pending++;
        const type: string = req.getType();
        const name: string = req.getName();
        const parent: string = req.getParent();
        const urn: string = monitor.newUrn(parent, type, name);
        if (records.has(urn)) {
            // The engine rejects this registration. Failing the RPC here would surface as an
            // unhandled rejection inside the SDK; record it and fail the run once it settles.
            duplicates.push(urn);
        }
        const secretOutputs: string[] = req.getAdditionalsecretoutputsList();
        const trigger = req.getReplacementTrigger?.();
        const options: RecordedOptions = {
            protect: req.getProtect() || undefined,
            retainOnDelete: req.getRetainondelete() || undefined,
            deleteBeforeReplace: req.getDeletebeforereplace() || undefined,
            ignoreChanges: nonEmpty(req.getIgnorechangesList()),
            replaceOnChanges: nonEmpty(req.getReplaceonchangesList()),
            additionalSecretOutputs: nonEmpty(secretOutputs),
            replaceWith: nonEmpty(req.getReplaceWithList?.() ?? []),
            deletedWith: req.getDeletedwith() || undefined,
            aliases: nonEmpty((req.getAliasesList?.() ?? []).map((a: any) => (typeof a === "string" ? a : a.toObject?.() ?? a))),
            replacementTrigger: trigger ? fromWire(trigger.toJavaScript()) : undefined,
        };
        const inputs = fromWire(req.getObject()?.toJavaScript() ?? {}) as Record<string, unknown>;
        // The engine replaces a resource whose trigger changed; a mock that keeps state (the PKI
        // issue) needs to see it, and the mock monitor does not pass options on.
        ctx?.replacementTriggers?.set(`${type}::${name}`, options.replacementTrigger);
        const record: ResourceRecord = {
            urn,
            type,
            name,
            custom: req.getCustom(),
            parent: parent || undefined,
            provider: req.getProvider() || undefined,
            inputs,
            outputs: {},
            options,
        };
        records.set(urn, record);
        register(req, (err: unknown, resp: any) => {
            if (resp) {
                // The engine marks provider-declared secret outputs secret; the mock monitor does not.
                const state = (resp.getObject()?.toJavaScript() ?? {}) as Record<string, unknown>;
                for (const key of secretOutputs) if (key in state) state[key] = toWireSecret(state[key]);
                const struct = resp.getObject();
                if (struct) resp.setObject(struct.constructor.fromJavaScript(state));
                record.outputs = fromWire(state) as Record<string, unknown>;
                record.id = resp.getId() || undefined;
            }
            counter.pending--;
            callback(err, resp);
        });
    };
    const registerOutputs = monitor.registerResourceOutputs.bind(monitor);
    monitor.registerResourceOutputs = (req: any, callback: (err: unknown, resp?: any) => void) => {
        // Component outputs (registerOutputs) and the stack's outputs, with their secret markers.
        const outputs = fromWire(req.getOutputs()?.toJavaScript() ?? {}) as Record<string, unknown>;
        const record = records.get(req.getUrn());
        if (record) record.outputs = outputs;
        if (req.getUrn().split("::")[2].endsWith("pulumi:pulumi:Stack")) stackOutputs.value = outputs;
        registerOutputs(req, callback);
    };
}

function nonEmpty<T>(xs: T[]): T[] | undefined {
    return xs && xs.length > 0 ? xs : undefined;
}

async function urnOf(r: pulumi.Resource): Promise<string> {
    return (r.urn as unknown as { promise(): Promise<string> }).promise();
}

/** Waits until no registration is in flight and the runtime's RPC queue is drained, twice in a row. */
async function settle(counter: PendingCounter): Promise<void> {
    let quiet = 0;
    for (let i = 0; i < 10_000 && quiet < 2; i++) {
        await (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
        await new Promise((r) => setImmediate(r));
        quiet = counter.pending === 0 ? quiet + 1 : 0;
    }
    if (counter.pending !== 0) throw new Error(`registrations did not settle: ${counter.pending} pending (an Output that never resolves?)`);
}

/**
 * Runs the program once under mocks and returns every registration.
 *
 * The SDK captures a stack trace for every resource it registers (its source position). Under a
 * TypeScript loader with source maps on (tsx), each is mapped back through the source maps, about a
 * third of a run's CPU; nothing here reads those positions, so the run turns the mapping off and
 * back on after. Errors keep their mapped traces: V8 formats a trace when it is first read.
 */
export async function runProgram(opts: RunOptions): Promise<RunResult> {
    // The runtime's config, mocks and stack are process-wide: two runs at once would mix them.
    if (running) throw new Error("runProgram: another run is in progress in this process; runs must follow one another (await each)");
    running = true;
    try {
        return await runProgramTimed(opts);
    } finally {
        running = false;
    }
}

let running = false;

async function runProgramTimed(opts: RunOptions): Promise<RunResult> {
    const sourceMaps = process.sourceMapsEnabled;
    if (sourceMaps) process.setSourceMapsEnabled(false);
    const restore = skipSdkStackTraces();
    try {
        return await runProgramOnce(opts);
    } finally {
        restore();
        if (sourceMaps) process.setSourceMapsEnabled(true);
    }
}

/**
 * The SDK captures and formats a stack trace for every promise it makes (runtime/debuggable.js, for
 * a leak report PULUMI_DEBUG_PROMISE_LEAKS prints) and every resource it registers (its source
 * position, which the mock monitor drops): over half of a run's CPU with the garbage it leaves. While
 * the program runs, the first captures none (the leak check at exit still counts the promises) and
 * the second returns no position; errors keep their traces. Undone after the run.
 */
function skipSdkStackTraces(): () => void {
    if (process.env.PULUMI_DEBUG_PROMISE_LEAKS) return () => {};
    const debuggable = debuggableModule as { debuggablePromise: (p: Promise<unknown>, ctx: unknown) => Promise<unknown> };
    const resource = pulumi.Resource as unknown as { stackTrace: (skip: number) => unknown[] };
    const { debuggablePromise } = debuggable;
    const { stackTrace } = resource;
    debuggable.debuggablePromise = (p, ctx) => {
        const limit = Error.stackTraceLimit;
        Error.stackTraceLimit = 0;
        try {
            return debuggablePromise(p, ctx);
        } finally {
            Error.stackTraceLimit = limit;
        }
    };
    resource.stackTrace = () => [];
    return () => {
        debuggable.debuggablePromise = debuggablePromise;
        resource.stackTrace = stackTrace;
    };
}

async function runProgramOnce(opts: RunOptions): Promise<RunResult> {
    const stackFileConfig = opts.config ?? readStackConfig(opts.stack);
    // What the engine does before any program runs (mergeConfig): a declared key with no value and
    // no default stops the preview, a typed key of the wrong type too; declared defaults are set.
    const defaults = applyProjectConfig(opts.stack, opts.project ?? loadProject(), stackFileConfig, opts.secretConfig);
    const config = { ...stackFileConfig, ...defaults };
    const runtimeConfig = toRuntimeConfig(config, opts.secretConfig);
    opts.prepareConfig?.(runtimeConfig);
    pulumi.runtime.setAllConfig(runtimeConfig.values, runtimeConfig.secretKeys);

    const untouched = new Map<string, { id?: string; state: Record<string, unknown> }>();
    for (const r of opts.target?.previous.resources ?? []) {
        if (r.custom && !opts.target!.urns.includes(r.urn)) untouched.set(`${r.type}::${r.name}`, { id: r.id, state: reveal(r.outputs) as Record<string, unknown> });
    }
    const ctx: MockContext = { region: awsRegionOf(config), now: opts.now ?? new Date(), previousOutputs: opts.previousOutputs ?? {}, untouched, preview: opts.preview, replacementTriggers: new Map(), invokes: [] };
    // "organization" is what a self-managed backend calls every stack's organization.
    await pulumi.runtime.setMocks(createMocks(ctx), projectName, opts.stack, opts.preview ?? false, "organization");

    const records = new Map<string, ResourceRecord>();
    const counter: PendingCounter = { pending: 0 };
    const stackOutputs: { value?: unknown } = {};
    const duplicates: string[] = [];
    instrumentMonitor(records, counter, stackOutputs, duplicates, ctx);

    // Explicit dependsOn, which the request mixes with implicit dependencies: record it from the
    // resource options as the program wrote them.
    const explicitDeps: { resource: pulumi.Resource; deps: pulumi.Resource[] }[] = [];
    // A literal import for the repository's own program, so a bundler (tools/fast.js) can follow it;
    // a fixture program by require, so the bundle holds no import() (tools/fast.js compiles a module
    // with one the slow way, without the code cache).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const program = (opts.programModule ? require(opts.programModule) : await import("../../components/main")) as {
        main(options?: { now?: Date }): Promise<Record<string, unknown>>;
    };
    let failure: unknown;
    await pulumi.runtime
        .runInPulumiStack(async () => {
            pulumi.runtime.registerStackTransformation((args) => {
                const d = args.opts.dependsOn;
                if (d && !pulumi.Output.isInstance(d)) {
                    const deps = (Array.isArray(d) ? d : [d]).filter((x): x is pulumi.Resource => pulumi.Resource.isInstance(x));
                    if (deps.length > 0) explicitDeps.push({ resource: args.resource, deps });
                }
                return undefined;
            });
            // A failing program is caught here, inside the stack, so the root Stack resource's own
            // promises resolve and nothing rejects unhandled; the failure is rethrown after settling.
            return program.main({ now: opts.now }).catch((e: unknown) => {
                failure = e;
                return {};
            });
        })
        .catch((e) => {
            failure ??= e;
        });
    await settle(counter);
    if (!failure && duplicates.length > 0) {
        failure = new Error(`duplicate URN ${duplicates.join(", ")}: the engine rejects two resources with one URN`);
    }
    if (failure) {
        // Keep what was registered before the failure: bad config must have registered nothing.
        Object.defineProperty(failure, "registered", { value: [...records.values()], enumerable: false });
        throw failure;
    }
    for (const { resource, deps } of explicitDeps) {
        const urn = await urnOf(resource);
        const record = records.get(urn);
        if (record) record.options.dependsOn = (await Promise.all(deps.map(urnOf))).sort();
    }
    const resources = [...records.values()].sort((a, b) => (a.urn < b.urn ? -1 : a.urn > b.urn ? 1 : 0));
    return {
        project: projectName,
        stack: opts.stack,
        resources,
        outputs: (stackOutputs.value as Record<string, unknown>) ?? {},
        invokes: ctx.invokes,
    };
}

function awsRegionOf(config: Record<string, unknown>): string {
    const aws = config[`${projectName}:aws`] as { region?: string } | undefined;
    return aws?.region ?? "eu-west-1";
}

export { SecretValue };
