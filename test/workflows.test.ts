/**
 * The GitHub Actions workflows: schema-valid (@action-validator/core, the GitHub workflow and
 * action JSON schemas plus job-graph checks), and the properties that keep secrets safe: fork pull
 * requests get no secrets, prod waits for the `production` environment's approval, one concurrency
 * group per stack, minimal permissions, AWS only through OIDC, secrets never in a shell script.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { validateAction, validateWorkflow } from "@action-validator/core";
import { parse } from "yaml";
import { stackAccess } from "../tools/ci/stackSettings";
import { readStackConfig, repoRoot } from "../tools/harness/stackConfig";

interface Step {
    name?: string;
    uses?: string;
    run?: string;
    with?: Record<string, unknown>;
    env?: Record<string, unknown>;
}
interface Job {
    if?: string;
    uses?: string;
    needs?: string | string[];
    permissions?: Record<string, string> | string;
    environment?: string | { name: string };
    concurrency?: { group: string; "cancel-in-progress"?: boolean } | string;
    strategy?: { matrix?: { include?: Record<string, string>[]; stack?: string[] } };
    steps?: Step[];
}
interface Workflow {
    on: Record<string, unknown>;
    permissions?: Record<string, string> | string;
    jobs: Record<string, Job>;
}

const workflowDir = path.join(repoRoot, ".github", "workflows");
const actionsDir = path.join(repoRoot, ".github", "actions");
const read = (file: string) => readFileSync(file, "utf8");
const workflowFiles = readdirSync(workflowDir).filter((f) => /\.ya?ml$/.test(f));
const workflows: Record<string, Workflow> = Object.fromEntries(workflowFiles.map((f) => [f, parse(read(path.join(workflowDir, f))) as Workflow]));
const actionFiles = readdirSync(actionsDir).map((d) => path.join(actionsDir, d, "action.yml"));
const localActions: Record<string, { runs: { using: string; steps: Step[] } }> = Object.fromEntries(
    actionFiles.map((f) => [`./.github/actions/${path.basename(path.dirname(f))}`, parse(read(f))]),
);
const stacks = readdirSync(repoRoot)
    .map((f) => /^Pulumi\.([^.]+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => !!s)
    .sort();

/** Every job of every workflow, with its steps and the steps of the local composite actions it uses. */
const jobs = Object.entries(workflows).flatMap(([file, wf]) =>
    Object.entries(wf.jobs).map(([id, job]) => ({
        file,
        id,
        job,
        steps: (job.steps ?? []).flatMap((s) => [s, ...(s.uses && localActions[s.uses] ? localActions[s.uses].runs.steps : [])]),
    })),
);
const allSteps = [...jobs.flatMap((j) => j.steps), ...Object.values(localActions).flatMap((a) => a.runs.steps)];
const pulumiStep = (steps: Step[]) => steps.find((s) => s.uses?.startsWith("pulumi/actions@"));
const groupOf = (job: Job) => (typeof job.concurrency === "string" ? job.concurrency : job.concurrency?.group);

describe("the workflow files", () => {
    it("are valid workflows and actions for GitHub's schemas", () => {
        assert.deepEqual(workflowFiles.sort(), ["ci.yml", "deploy.yml", "preview.yml"]);
        for (const f of workflowFiles) assert.deepEqual(validateWorkflow(read(path.join(workflowDir, f))).errors, [], f);
        for (const f of actionFiles) assert.deepEqual(validateAction(read(f)).errors, [], f);
    });

    it("would be caught by the schema check if broken", () => {
        const preview = read(path.join(workflowDir, "preview.yml"));
        assert.notDeepEqual(validateWorkflow(preview.replace("runs-on:", "runs_on:")).errors, []);
        assert.notDeepEqual(validateWorkflow(read(path.join(workflowDir, "deploy.yml")).replace("needs: up-dev", "needs: up-stage")).errors, []);
    });

    it("never run untrusted pull request code with secrets (no pull_request_target, no workflow_run)", () => {
        for (const [file, wf] of Object.entries(workflows)) {
            assert.ok(!("pull_request_target" in wf.on) && !("workflow_run" in wf.on), file);
        }
        assert.deepEqual(Object.keys(workflows["preview.yml"].on), ["pull_request"]);
        assert.deepEqual(workflows["deploy.yml"].on, { push: { branches: ["main"] } });
        assert.deepEqual(workflows["ci.yml"].on, { push: { "branches-ignore": ["main"] }, workflow_call: {} });
    });
});

describe("permissions", () => {
    it("default to nothing or read-only, and every job says what it needs", () => {
        for (const [file, wf] of Object.entries(workflows)) {
            assert.ok(JSON.stringify(wf.permissions) === "{}" || JSON.stringify(wf.permissions) === '{"contents":"read"}', file);
        }
        for (const { file, id, job } of jobs) assert.ok(job.permissions && typeof job.permissions === "object", `${file}:${id} declares its permissions`);
    });

    it("grant id-token only to jobs that assume an AWS role, pull-requests only to the one that comments, nothing else", () => {
        for (const { file, id, job, steps } of jobs) {
            const granted = Object.entries(job.permissions as Record<string, string>);
            const usesOidc = steps.some((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials@"));
            const comments = steps.some((s) => s.with?.["comment-on-pr"] === true);
            const allowed: Record<string, string> = { contents: "read", ...(usesOidc ? { "id-token": "write" } : {}), ...(comments ? { "pull-requests": "write" } : {}) };
            assert.deepEqual(Object.fromEntries(granted), allowed, `${file}:${id}`);
        }
    });
});

describe("pull requests", () => {
    const preview = workflows["preview.yml"];
    const sameRepo = "github.event.pull_request.head.repo.full_name == github.repository";
    const fromFork = "github.event.pull_request.head.repo.full_name != github.repository";

    it("preview every stack with the policy pack and post the diff on the pull request", () => {
        const job = preview.jobs.preview;
        assert.equal(job.if, sameRepo);
        assert.deepEqual(job.strategy!.matrix!.include!.map((m) => m.stack).sort(), stacks);
        const step = pulumiStep(job.steps!)!;
        assert.equal(step.with!.command, "preview");
        assert.equal(step.with!["comment-on-pr"], true);
        assert.equal(step.with!.policyPacks, "policy");
        assert.equal(step.with!.policyPackConfigs, "policy/config/${{ matrix.stack }}.json");
        assert.match(String(step.with!["stack-name"]), /\/\$\{\{ matrix\.stack \}\}$/);
        for (const stack of stacks) assert.ok(readdirSync(path.join(repoRoot, "policy", "config")).includes(`${stack}.json`), stack);
    });

    it("give fork pull requests no secrets: the tests and the offline dev<->prod plan instead", () => {
        const job = preview.jobs["fork-plan"];
        assert.equal(job.if, fromFork);
        const text = JSON.stringify(job);
        assert.ok(!text.includes("secrets."), "no secret in the fork job");
        assert.deepEqual(job.permissions, { contents: "read" });
        const scripts = job.steps!.map((s) => s.run ?? "").join("\n");
        assert.match(scripts, /^\.ci\/run$/m);
        assert.match(scripts, /npm run --silent plan -- --stack dev --diff prod/);
        assert.ok(!job.steps!.some((s) => s.uses?.startsWith("pulumi/actions") || s.uses?.startsWith("aws-actions/")));
    });

    it("run every job that touches a secret only for pull requests from this repository", () => {
        for (const [id, job] of Object.entries(preview.jobs)) {
            if (JSON.stringify(job).includes("secrets.")) assert.equal(job.if, sameRepo, id);
        }
    });
});

describe("deploys from main", () => {
    const deploy = workflows["deploy.yml"];

    it("test first, then update dev, then prod behind the production environment's approval", () => {
        assert.equal(deploy.jobs.test.uses, "./.github/workflows/ci.yml");
        assert.equal(deploy.jobs["up-dev"].needs, "test");
        assert.equal(deploy.jobs["up-prod"].needs, "up-dev");
        assert.equal(deploy.jobs["up-prod"].environment, "production");
        for (const [id, stack] of [["up-dev", "dev"], ["up-prod", "prod"]]) {
            const step = pulumiStep(deploy.jobs[id].steps!)!;
            assert.equal(step.with!.command, "up", id);
            assert.match(String(step.with!["stack-name"]), new RegExp(`/${stack}$`), id);
            assert.equal(step.with!.policyPacks, "policy", id);
            assert.equal(step.with!.policyPackConfigs, `policy/config/${stack}.json`, id);
            assert.equal(deploy.jobs[id].steps!.find((s) => s.uses === "./.github/actions/stack-access")!.with!.stack, stack, id);
        }
    });

    it("update each stack in its own concurrency group, never cancelled", () => {
        const groups = ["up-dev", "up-prod"].map((id) => {
            const c = deploy.jobs[id].concurrency as { group: string; "cancel-in-progress"?: boolean };
            assert.equal(c["cancel-in-progress"], false, id);
            return c.group;
        });
        assert.deepEqual(groups, ["pulumi-up-dev", "pulumi-up-prod"]);
        // No other job shares an update group: a preview must not replace a pending deploy.
        for (const { file, id, job } of jobs) {
            if (!["up-dev", "up-prod"].includes(id)) assert.ok(!groups.includes(String(groupOf(job))), `${file}:${id}`);
        }
        assert.match(String(groupOf(workflows["preview.yml"].jobs.preview)), /\$\{\{ matrix\.stack \}\}/);
    });
});

describe("credentials", () => {
    it("keep secrets out of shell scripts: only in env or with of an action step", () => {
        for (const s of allSteps) {
            const script = s.run ?? "";
            assert.ok(!/\$\{\{\s*(secrets|inputs|github\.event)\b/.test(script), `no expression injected into a script: ${script}`);
            assert.ok(!/PULUMI_ACCESS_TOKEN|VAULT_TOKEN|GITHUB_TOKEN|set -x/.test(script), `no token echoed: ${script}`);
            if (s.run) assert.ok(!JSON.stringify(s.env ?? {}).includes("secrets."), `no secret in a script's environment: ${s.name}`);
        }
    });

    it("get AWS credentials only through OIDC role assumption, never stored keys", () => {
        const aws = allSteps.filter((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials@"));
        assert.ok(aws.length > 0);
        for (const s of aws) {
            assert.ok(s.with!["role-to-assume"]);
            assert.ok(!("aws-access-key-id" in s.with!) && !("aws-secret-access-key" in s.with!));
        }
        assert.ok(!allSteps.some((s) => /AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY)/.test(JSON.stringify(s))));
    });

    it("pin every action to an exact version, and the Pulumi CLI to the SDK's version", () => {
        const pkg = JSON.parse(read(path.join(repoRoot, "package.json")));
        for (const s of allSteps.filter((x) => x.uses)) assert.match(s.uses!, /^(\.\/|[\w.-]+\/[\w.-]+@(v\d+\.\d+\.\d+|[0-9a-f]{40})$)/, s.uses);
        for (const { job, steps } of jobs) {
            const step = pulumiStep(steps);
            if (step) assert.equal(step.with!["pulumi-version"], pkg.dependencies["@pulumi/pulumi"], JSON.stringify(job.steps?.[0]));
        }
    });

    it("check out without leaving the token in the git config", () => {
        for (const s of allSteps.filter((x) => x.uses?.startsWith("actions/checkout@"))) assert.equal(s.with?.["persist-credentials"], false);
    });

    it("reach each stack's cloud with the region, cluster and context of its stack file", () => {
        for (const stack of stacks) {
            const config = readStackConfig(stack) as Record<string, any>;
            assert.deepEqual(stackAccess(stack), {
                region: config["platform-secrets:aws"].region,
                cluster: config["platform-secrets:aws"].eks.clusterName,
                context: config["platform-secrets:kubernetes"].context,
            });
        }
    });
});
