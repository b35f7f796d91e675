/**
 * Coming from the runbooks: every object they made by hand is named in README "Coming from the
 * runbooks" exactly as `npm run plan` names it, and the adoption path works as pulumi-kubernetes
 * 4.25 (the pinned version) creates objects (tools/harness/kubernetesApply.ts): a server-side apply
 * that takes over what has no conflicting field and stops at kubectl's fields by default, and takes
 * over everything with `kubernetes.adoptExistingObjects`.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import { promisify } from "node:util";
import { ApiError, clientWrite, LiveObject, providerCreate, providerUpdate } from "../tools/harness/kubernetesApply";
import { projectName, repoRoot } from "../tools/harness/stackConfig";
import { reveal, runStack, RunResult, stackConfig, toolCommand } from "./support";

const exec = promisify(execFile);
const readme = readFileSync(path.join(repoRoot, "README.md"), "utf8");
const section = readme.slice(readme.indexOf("**Coming from the runbooks.**"), readme.indexOf("**Encrypted state.**"));

interface PlanResource {
    type: string;
    name: string;
    inputs: Record<string, any>;
}

/** How an object is known outside Pulumi: `namespace/name`, `name` when cluster-scoped, a mount's path. */
function identity(r: PlanResource): string | undefined {
    if (r.type === "vault:index/mount:Mount") return String(r.inputs.path);
    if (r.type === "kubernetes:helm.sh/v3:Release") return `${r.inputs.namespace}/${r.inputs.name}`;
    const m = r.inputs.metadata;
    if (r.type.startsWith("kubernetes:") && m?.name) return m.namespace ? `${m.namespace}/${m.name}` : String(m.name);
    return undefined;
}

/**
 * What the runbooks made by hand, read off them (runbook 001: §3.2 namespace and Secret, §3.3 the
 * store and the chart's ExternalSecret, §3.5 Reloader, §3.6 the backup ServiceAccounts; the prod
 * secrets under Vault's `secret/`), as the plan names this program's objects of the same names.
 */
const RUNBOOK_MADE = [
    "kubernetes:core/v1:Namespace soma-memory",
    "kubernetes:external-secrets.io/v1:ClusterSecretStore soma-vault-store",
    "kubernetes:external-secrets.io/v1:ExternalSecret soma-memory/soma-memory-runtime-secrets",
    "kubernetes:core/v1:ServiceAccount soma-memory/soma-memory-backup-postgres",
    "kubernetes:core/v1:ServiceAccount soma-memory/soma-memory-backup-qdrant",
    "vault:index/mount:Mount secret",
    "kubernetes:helm.sh/v3:Release kube-utilities/reloader",
];

const named = [...section.matchAll(/`((?:kubernetes|vault):[^`\s]+)` `([^`\s]+)`/g)].map((m) => `${m[1]} ${m[2]}`);

describe("README \"Coming from the runbooks\" against `npm run plan`", () => {
    const plans: Record<string, PlanResource[]> = {};
    before(async () => {
        for (const stack of ["dev", "staging", "prod"]) {
            const { stdout } = await exec(...toolCommand("plan", ["--stack", stack, "--json"]), { cwd: repoRoot, maxBuffer: 64 * 1024 * 1024 });
            plans[stack] = JSON.parse(stdout).resources;
        }
    });
    const inPlan = (stack: string) => new Set(plans[stack].map((r) => `${r.type} ${identity(r)}`));

    it("names only objects the plan has, with the plan's type and name", () => {
        assert.ok(named.length >= RUNBOOK_MADE.length, `only ${named.length} objects named`);
        for (const n of named) assert.ok(inPlan("dev").has(n) || inPlan("prod").has(n), `README names ${n}, which no stack's plan has`);
    });

    it("covers every object the runbooks made that a stack's plan creates, and every namespace the program owns", () => {
        for (const stack of ["dev", "staging", "prod"]) {
            for (const made of RUNBOOK_MADE) if (inPlan(stack).has(made)) assert.ok(named.includes(made), `${stack} creates ${made}, made by hand by the runbooks: README does not say what to do`);
            for (const ns of plans[stack].filter((r) => r.type === "kubernetes:core/v1:Namespace")) {
                assert.ok(named.includes(`${ns.type} ${identity(ns)}`), `${stack} creates namespace ${identity(ns)}: may exist already`);
            }
        }
        // Each of them is in at least one stack's plan (the list above is not stale).
        for (const made of RUNBOOK_MADE) assert.ok(inPlan("dev").has(made) || inPlan("prod").has(made), `${made} is in no plan`);
    });

    it("never deletes a shared namespace: Reloader's goes with helm uninstall only", () => {
        assert.match(section, /helm uninstall reloader -n kube-utilities/);
        assert.doesNotMatch(readme, /kubectl delete (namespace|ns) /);
    });
});

describe("adopting what the runbooks made (pulumi-kubernetes 4.25 create, emulated)", () => {
    let plain: RunResult;
    let adopting: RunResult;
    before(async () => {
        plain = await runStack("dev");
        const config = stackConfig("dev");
        config[`${projectName}:kubernetes`].adoptExistingObjects = true;
        adopting = await runStack("dev", { config });
    });
    const settings = { fieldManager: "pulumi-kubernetes-5e1f0a9b" };
    const objectOf = (run: RunResult, made: string) => {
        const r = run.resources.find((x) => `${x.type} ${identity(x as PlanResource)}` === made);
        assert.ok(r, made);
        return reveal(r.inputs) as Record<string, unknown>;
    };
    /** The object as the runbook left it: same name, other values, written by kubectl. */
    const handMade = (obj: Record<string, any>): LiveObject => {
        const manual = structuredClone(obj);
        delete manual.metadata.labels;
        delete manual.metadata.annotations;
        if (manual.spec?.provider?.vault) manual.spec.provider.vault.server = "https://vault.old.example:8200"; // the runbook's store
        if (manual.kind === "ServiceAccount") manual.metadata.annotations = { "eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/hand-made" };
        return clientWrite(undefined, manual, manual.kind === "ClusterSecretStore" ? "kubectl-client-side-apply" : "kubectl-create");
    };
    const adoptable = RUNBOOK_MADE.filter((m) => m.startsWith("kubernetes:") && !m.includes("Release") && !m.includes("ExternalSecret "));

    it("the provider has no adoption setting of its own in 4.25: nothing but the objects' annotations changes", () => {
        for (const run of [plain, adopting]) {
            const p = run.resources.find((r) => r.type === "pulumi:providers:kubernetes")!;
            assert.equal(p.inputs.upsertExistingObjects, undefined);
            assert.equal(p.inputs.enablePatchForce, undefined);
        }
        const strip = (r: RunResult) => r.resources.map((x) => x.urn);
        assert.deepEqual(strip(adopting), strip(plain));
    });

    it("by default the first `up` takes over what the runbook left alone and stops, by field conflict, where it set another value", () => {
        const outcome: Record<string, string> = {};
        for (const made of adoptable) {
            const obj = objectOf(plain, made);
            try {
                const live = providerCreate(handMade(obj), obj, settings);
                for (const key of ["metadata", "spec"]) if (obj[key]) assert.deepEqual(pick(live.object[key], obj[key]), obj[key], `${made}: ${key}`);
                outcome[made] = "adopted";
            } catch (e) {
                assert.ok(e instanceof ApiError && e.reason === "Conflict" && /kubectl-(create|client-side-apply)/.test(e.message), `${made}: ${e}`);
                outcome[made] = "conflict";
            }
        }
        // The namespace carried nothing but its name: taken over silently. The store's server and the
        // ServiceAccounts' role annotation were kubectl's, with other values: the apply stops there.
        assert.equal(outcome["kubernetes:core/v1:Namespace soma-memory"], "adopted");
        assert.equal(outcome["kubernetes:external-secrets.io/v1:ClusterSecretStore soma-vault-store"], "conflict");
        for (const sa of adoptable.filter((m) => m.includes("ServiceAccount"))) assert.equal(outcome[sa], "conflict", sa);
    });

    it("with kubernetes.adoptExistingObjects every object carries patchForce, each becomes the program's, and later updates need nothing more", () => {
        for (const made of adoptable) {
            const obj = objectOf(adopting, made);
            assert.equal((obj.metadata as any).annotations?.["pulumi.com/patchForce"], "true", made);
            const live = providerCreate(handMade(obj), obj, settings);
            for (const key of ["metadata", "spec"]) if (obj[key]) assert.deepEqual(pick(live.object[key], obj[key]), obj[key], `${made}: ${key}`);
            // Adoption off again: the next update applies under the program's own manager, unforced.
            const after = objectOf(plain, made);
            providerUpdate(live, after, settings);
        }
        // Without the setting no object of the program carries the annotation except the ExternalSecrets (force-sync).
        for (const r of plain.resources.filter((x) => x.type.startsWith("kubernetes:") && !x.type.includes("ExternalSecret") && !x.type.includes("helm.sh"))) {
            assert.equal((reveal(r.inputs) as any).metadata?.annotations?.["pulumi.com/patchForce"], undefined, r.urn);
        }
    });
});

/** The part of `actual` that `expected` describes. */
function pick(actual: unknown, expected: unknown): unknown {
    if (expected && typeof expected === "object" && !Array.isArray(expected) && actual && typeof actual === "object") {
        return Object.fromEntries(Object.keys(expected).map((k) => [k, pick((actual as Record<string, unknown>)[k], (expected as Record<string, unknown>)[k])]));
    }
    return actual;
}
