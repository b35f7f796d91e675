/**
 * The GitHub Actions workflows: schema-valid (@action-validator/core, the GitHub workflow and
 * action JSON schemas plus job-graph checks), and the properties that keep secrets safe:
 * - the network split: every job that touches a stack runs on a self-hosted runner inside that
 *   stack's network; the tests, the secret scan and fork pull requests run on GitHub-hosted runners;
 * - credentials only through GitHub environments (tools/ci/environments.ts): every job that holds
 *   stack credentials names its stack's environment, the only secret is the environment's Vault
 *   token, Pulumi Cloud and AWS are reached through OIDC, ci.yml gets nothing;
 * - each AWS trust policy admits exactly its environment's OIDC subject (IAM policy simulator);
 * - prod waits for approval, one concurrency group per stack, minimal permissions, secrets never in
 *   a shell script, actions at confirmed tags;
 * - docs/guardrails.md describes exactly this setup, and every manual preview/up it shows runs the
 *   policy pack with the stack's config.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { validateAction, validateWorkflow } from "@action-validator/core";
import { parse } from "yaml";
import { awsAudience, ciEnvironments, environmentNamed, environmentSubject, githubIssuer, githubOidcTrustPolicy } from "../tools/ci/environments";
import { stackAccess } from "../tools/ci/stackSettings";
import { readStackConfig, repoRoot } from "../tools/harness/stackConfig";
import { decide, type Decision, type Policy } from "./awsSupport";
import { resolvedConfig, runStack } from "./support";

interface Step {
    id?: string;
    name?: string;
    uses?: string;
    run?: string;
    with?: Record<string, unknown>;
    env?: Record<string, unknown>;
}
interface Job {
    name?: string;
    if?: string;
    uses?: string;
    secrets?: unknown;
    needs?: string | string[];
    "runs-on"?: string | string[];
    permissions?: Record<string, string> | string;
    environment?: string | { name: string };
    concurrency?: { group: string; "cancel-in-progress"?: boolean } | string;
    strategy?: { matrix?: { include?: Record<string, string>[] } };
    steps?: Step[];
}
interface Workflow {
    on: Record<string, unknown>;
    permissions?: Record<string, string> | string;
    jobs: Record<string, Job>;
}
interface CompositeAction {
    inputs: Record<string, unknown>;
    outputs?: Record<string, { value: string }>;
    runs: { using: string; steps: Step[] };
}

const workflowDir = path.join(repoRoot, ".github", "workflows");
const actionsDir = path.join(repoRoot, ".github", "actions");
const read = (file: string) => readFileSync(file, "utf8");
const workflowFiles = readdirSync(workflowDir).filter((f) => /\.ya?ml$/.test(f));
const workflowText: Record<string, string> = Object.fromEntries(workflowFiles.map((f) => [f, read(path.join(workflowDir, f))]));
const workflows: Record<string, Workflow> = Object.fromEntries(Object.entries(workflowText).map(([f, text]) => [f, parse(text) as Workflow]));
const actionFiles = readdirSync(actionsDir).map((d) => path.join(actionsDir, d, "action.yml"));
const localActions: Record<string, CompositeAction> = Object.fromEntries(actionFiles.map((f) => [`./.github/actions/${path.basename(path.dirname(f))}`, parse(read(f))]));
const STACK_ACCESS = "./.github/actions/stack-access";
const stackAccessAction = localActions[STACK_ACCESS];
const guardrails = read(path.join(repoRoot, "docs", "guardrails.md"));
const stacks = readdirSync(repoRoot)
    .map((f) => /^Pulumi\.([^.]+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => !!s)
    .sort();

/**
 * The action tags in use, each confirmed in the action's own release notes or README (search of
 * the public sources; SHAs cannot be resolved offline). pulumi/actions: its README documents the
 * maintained major tag v6; v6.6.1 could not be confirmed. pulumi/auth-actions: README and Pulumi's
 * OIDC guide document v1; its CHANGELOG records that v2.0.0 failed to load for all consumers.
 * Adopters pin each to the commit SHA of that tag (a SHA here passes too).
 */
const ACTION_PINS: Record<string, string> = {
    "actions/checkout": "v4.2.2",
    "actions/setup-node": "v4.1.0",
    // Tag v4.6.2 is commit ea165f8d65b6e75b540449e92b4886f43607fa02 in the fetched actions/upload-artifact (node20).
    "actions/upload-artifact": "v4.6.2",
    "aws-actions/configure-aws-credentials": "v4.1.0",
    "pulumi/actions": "v6",
    "pulumi/auth-actions": "v1",
};

/** A job once per matrix entry, with `${{ matrix.x }}` resolved in runs-on, environment and its steps. */
interface JobRun {
    file: string;
    id: string;
    job: Job;
    matrix: Record<string, string>;
    runsOn: string[];
    environment?: string;
    /** The job's steps followed, for a local composite action, by that action's steps. */
    steps: Step[];
}

function resolveMatrix<T>(value: T, matrix: Record<string, string>): T {
    const text = JSON.stringify(value ?? null).replace(/\$\{\{\s*matrix\.([\w-]+)\s*\}\}/g, (whole, key: string) => matrix[key] ?? whole);
    return JSON.parse(text) as T;
}

const runs: JobRun[] = Object.entries(workflows).flatMap(([file, wf]) =>
    Object.entries(wf.jobs).flatMap(([id, job]) =>
        (job.strategy?.matrix?.include ?? [{}]).map((matrix) => {
            const steps = resolveMatrix(job.steps ?? [], matrix).flatMap((s) => [s, ...(s.uses && localActions[s.uses] ? localActions[s.uses].runs.steps : [])]);
            const runsOn = resolveMatrix(job["runs-on"], matrix);
            const environment = resolveMatrix(job.environment, matrix);
            return {
                file,
                id,
                job,
                matrix,
                runsOn: runsOn === null || runsOn === undefined ? [] : ([] as string[]).concat(runsOn),
                environment: (typeof environment === "object" && environment ? environment.name : environment) ?? undefined,
                steps,
            };
        }),
    ),
);
const allSteps = [...runs.flatMap((r) => r.steps), ...Object.values(localActions).flatMap((a) => a.runs.steps)];
const pulumiStep = (steps: Step[]) => steps.find((s) => s.uses?.startsWith("pulumi/actions@"));
const accessStep = (steps: Step[]) => steps.find((s) => s.uses === STACK_ACCESS);
const groupOf = (job: Job) => (typeof job.concurrency === "string" ? job.concurrency : job.concurrency?.group);
/** Every secret a text references by name (`secrets.X`). */
const secretNames = (text: string) => [...text.matchAll(/secrets\.([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]);
const jobText = (r: JobRun) => JSON.stringify({ ...r.job, steps: r.steps });
const holdsCredentials = (r: JobRun) =>
    secretNames(jobText(r)).length > 0 ||
    (typeof r.job.permissions === "object" && r.job.permissions["id-token"] === "write") ||
    r.steps.some((s) => s.uses === STACK_ACCESS || s.uses?.startsWith("pulumi/") || s.uses?.startsWith("aws-actions/"));
const githubHosted = (r: JobRun) => r.runsOn.length === 1 && /^ubuntu-\d+\.\d+$/.test(r.runsOn[0]);
const sameRepo = "github.event.pull_request.head.repo.full_name == github.repository";
const fromFork = "github.event.pull_request.head.repo.full_name != github.repository";

describe("the workflow files", () => {
    it("are valid workflows and actions for GitHub's schemas", () => {
        assert.deepEqual(workflowFiles.sort(), ["ci.yml", "deploy.yml", "fork-plan-comment.yml", "preview.yml"]);
        for (const f of workflowFiles) assert.deepEqual(validateWorkflow(workflowText[f]).errors, [], f);
        for (const f of actionFiles) assert.deepEqual(validateAction(read(f)).errors, [], f);
    });

    it("would be caught by the schema check if broken", () => {
        assert.notDeepEqual(validateWorkflow(workflowText["preview.yml"].replace("runs-on:", "runs_on:")).errors, []);
        assert.notDeepEqual(validateWorkflow(workflowText["deploy.yml"].replace("needs: up-dev", "needs: up-stage")).errors, []);
    });

    it("never run untrusted pull request code with secrets (no pull_request_target; workflow_run only to post a fork's plan as data)", () => {
        for (const [file, wf] of Object.entries(workflows)) {
            assert.ok(!("pull_request_target" in wf.on), file);
            assert.equal("workflow_run" in wf.on, file === "fork-plan-comment.yml", file);
        }
        assert.deepEqual(Object.keys(workflows["preview.yml"].on), ["pull_request"]);
        assert.deepEqual(workflows["deploy.yml"].on, { push: { branches: ["main"] } });
        assert.deepEqual(workflows["ci.yml"].on, { push: { "branches-ignore": ["main"] }, workflow_call: {} });
        assert.deepEqual(workflows["fork-plan-comment.yml"].on, { workflow_run: { workflows: [(workflows["preview.yml"] as { name?: string }).name], types: ["completed"] } });
    });
});

describe("permissions", () => {
    it("default to nothing or read-only, and every job says what it needs", () => {
        for (const [file, wf] of Object.entries(workflows)) {
            assert.ok(JSON.stringify(wf.permissions) === "{}" || JSON.stringify(wf.permissions) === '{"contents":"read"}', file);
        }
        for (const { file, id, job } of runs) assert.ok(job.permissions && typeof job.permissions === "object", `${file}:${id} declares its permissions`);
    });

    it("grant id-token only to jobs that exchange an OIDC token, pull-requests only to the one that comments, nothing else", () => {
        for (const { file, id, job, steps } of runs) {
            const usesOidc = steps.some((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials@") || s.uses?.startsWith("pulumi/auth-actions@"));
            const comments = steps.some((s) => s.with?.["comment-on-pr"] === true || /\bgh (pr comment\b|api\b.*\/comments\b)/.test(s.run ?? ""));
            // A reusable workflow (deploy.yml calling ci.yml) gets the permissions its checkout needs.
            const checksOut = !!job.uses || steps.some((s) => s.uses?.startsWith("actions/checkout@"));
            // Reading another run's artifact (fork-plan-comment.yml) needs actions: read, and such a job checks nothing out.
            const readsRuns = steps.some((s) => /\bgh run download\b/.test(s.run ?? ""));
            const allowed: Record<string, string> = {
                ...(checksOut ? { contents: "read" } : {}),
                ...(readsRuns ? { actions: "read" } : {}),
                ...(usesOidc ? { "id-token": "write" } : {}),
                ...(comments ? { "pull-requests": "write" } : {}),
            };
            assert.deepEqual(job.permissions, allowed, `${file}:${id}`);
        }
    });
});

describe("runners: stack jobs inside the network, everything else on GitHub-hosted runners", () => {
    it("run every job that holds stack credentials on its stack's self-hosted runners, in its stack's environment", () => {
        const credentialed = runs.filter(holdsCredentials);
        assert.equal(credentialed.length, 6, "preview dev, staging and prod, up dev, staging and prod");
        for (const r of credentialed) {
            const where = `${r.file}:${r.id}${r.matrix.stack ? ` (${r.matrix.stack})` : ""}`;
            assert.ok(r.environment, `${where} names a GitHub environment`);
            const env = environmentNamed(r.environment);
            assert.deepEqual(r.runsOn, ["self-hosted", env.runnerLabel], where);
            assert.equal(accessStep(r.steps)?.with?.stack, env.stack, `${where} reaches the environment's stack`);
            const step = pulumiStep(r.steps)!;
            assert.equal(step.with!.command, env.purpose === "preview" ? "preview" : "up", where);
            assert.match(String(step.with!["stack-name"]), new RegExp(`/${env.stack}$`), where);
            assert.equal(step.with!.policyPackConfigs, `policy/config/${env.stack}.json`, where);
        }
    });

    it("keep the tests, the secret scan and fork pull requests on GitHub-hosted runners, without credentials", () => {
        const hosted = runs.filter((r) => !r.job.uses && !holdsCredentials(r));
        assert.deepEqual(hosted.map((r) => `${r.file}:${r.id}`).sort(), ["ci.yml:test", "fork-plan-comment.yml:comment", "preview.yml:fork-plan"]);
        for (const r of hosted) {
            assert.ok(githubHosted(r), `${r.file}:${r.id} runs on ${r.runsOn.join(",")}`);
            assert.equal(r.environment, undefined, `${r.file}:${r.id}`);
        }
        // Only jobs with an environment (released by its protection rules) reach a self-hosted runner.
        for (const r of runs.filter((x) => x.runsOn.includes("self-hosted"))) assert.ok(r.environment, `${r.file}:${r.id}`);
        assert.equal(workflows["preview.yml"].jobs["fork-plan"].if, fromFork);
    });

    it("use each environment where it belongs: previews of every stack on pull requests, updates on main", () => {
        const used = (file: string) => runs.filter((r) => r.file === file && r.environment).map((r) => r.environment!).sort();
        assert.deepEqual(used("preview.yml"), ciEnvironments.filter((e) => e.purpose === "preview").map((e) => e.name).sort());
        assert.deepEqual(used("deploy.yml"), ciEnvironments.filter((e) => e.purpose === "deploy").map((e) => e.name).sort());
        for (const purpose of ["preview", "deploy"]) {
            assert.deepEqual(ciEnvironments.filter((e) => e.purpose === purpose).map((e) => e.stack).sort(), stacks, `one ${purpose} environment per stack file`);
        }
    });

    it("release prod credentials only after a reviewer approves, and deploy only from main", () => {
        for (const env of ciEnvironments) {
            // A stack whose stateful resources are protected is a production stack: its credentials need a reviewer.
            const protectedStack = (readStackConfig(env.stack)["platform-secrets:protection"] as { protectStateful?: boolean } | undefined)?.protectStateful === true;
            if (protectedStack) assert.equal(env.requiredReviewers, true, env.name);
            assert.equal(env.deploymentBranches, env.purpose === "deploy" ? "main" : "any", env.name);
        }
        assert.equal(workflows["deploy.yml"].jobs["up-prod"].environment, "production");
    });
});

describe("pull requests", () => {
    const preview = workflows["preview.yml"];

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
        assert.deepEqual(secretNames(JSON.stringify(job)), [], "no secret in the fork job");
        assert.deepEqual(job.permissions, { contents: "read" });
        const scripts = job.steps!.map((s) => s.run ?? "").join("\n");
        assert.match(scripts, /^\.ci\/run$/m);
        assert.match(scripts, /npm run --silent plan -- --stack dev --diff prod/);
        // The reviewer reads the Markdown form (summary, folded detail, diagram) on the run's summary page.
        for (const stack of stacks.filter((s) => s !== "prod")) {
            assert.match(scripts, new RegExp(`npm run --silent plan -- --stack ${stack} --diff prod --format markdown --diagram\\n`), stack);
        }
        // Written to a file, shown on the run's summary page, and uploaded for fork-plan-comment.yml.
        assert.match(scripts, /\} > "\$RUNNER_TEMP\/fork-plan\/plan\.md"\n/);
        assert.match(scripts, /^cat "\$RUNNER_TEMP\/fork-plan\/plan\.md" >> "\$GITHUB_STEP_SUMMARY"$/m);
        const upload = job.steps!.find((s) => s.uses?.startsWith("actions/upload-artifact@"));
        assert.deepEqual(upload?.with, { name: "fork-plan", path: "${{ runner.temp }}/fork-plan/plan.md", "if-no-files-found": "error", "retention-days": 7 });
        assert.ok(!job.steps!.some((s) => s.uses?.startsWith("pulumi/") || s.uses?.startsWith("aws-actions/") || s.uses === STACK_ACCESS));
    });

    it("run every job that touches a credential only for pull requests from this repository", () => {
        for (const r of runs.filter((x) => x.file === "preview.yml" && holdsCredentials(x))) assert.equal(r.job.if, sameRepo, r.id);
    });
});

describe("fork-plan-comment.yml: a fork's plan posted on its pull request as data", () => {
    const wf = workflows["fork-plan-comment.yml"];
    const job = wf.jobs.comment;
    const script = job.steps!.find((s) => s.run)!;

    it("checks nothing out, runs no action and nothing of the fork's, and may only read artifacts and comment", () => {
        assert.deepEqual(Object.keys(wf.jobs), ["comment"]);
        assert.deepEqual(job.permissions, { actions: "read", "pull-requests": "write" });
        assert.deepEqual(job["runs-on"], "ubuntu-24.04");
        assert.equal(job.environment, undefined);
        assert.deepEqual(job.steps!.map((s) => s.uses).filter(Boolean), [], "no action at all, so no checkout");
        assert.equal(job.steps!.length, 1);
        // Only for completed, successful pull request runs from forks (same-repo previews comment themselves).
        for (const clause of ["github.event.workflow_run.event == 'pull_request'", "github.event.workflow_run.conclusion == 'success'", "github.event.workflow_run.head_repository.full_name != github.repository"]) {
            assert.ok(job.if!.includes(clause), clause);
        }
        // The script calls gh and text tools only: nothing that runs code from the artifact or the fork.
        const commands = script.run!.split("\n").filter((l) => l.trim() && !l.trim().startsWith("#"));
        for (const line of commands) assert.ok(!/\b(npm|npx|node|python3?|source|eval|bash|sh|chmod|git)\b|^\s*\.\s/.test(line), `runs something: ${line}`);
        assert.deepEqual(secretNames(JSON.stringify(job)), []);
        assert.equal(script.env!.GH_TOKEN, "${{ github.token }}");
    });

    interface Comment {
        id: number;
        issue: number;
        user: { login: string };
        body: string;
    }
    const MARKER = "<!-- platform-secrets:fork-plan -->";

    /**
     * Runs the step's script with a stand-in `gh` (test/fixtures/gh/fakeGh.js), the given artifact,
     * open pull requests and existing comments; returns the comments afterwards.
     */
    function post(opts: { files?: Record<string, string | Buffer>; link?: string; pulls: { number: number; sha: string }[]; env?: Record<string, string>; comments?: Comment[] }) {
        const tmp = mkdtempSync(path.join(tmpdir(), "fork-plan-comment-"));
        const state = path.join(tmp, "state");
        const bin = path.join(tmp, "bin");
        mkdirSync(path.join(state, "artifact"), { recursive: true });
        mkdirSync(bin);
        writeFileSync(path.join(bin, "gh"), `#!/bin/sh\nexec "${process.execPath}" "${path.join(repoRoot, "test", "fixtures", "gh", "fakeGh.js")}" "$@"\n`, { mode: 0o755 });
        for (const [name, content] of Object.entries(opts.files ?? {})) writeFileSync(path.join(state, "artifact", name), content);
        if (opts.link) symlinkSync(opts.link, path.join(state, "artifact", "plan.md"));
        writeFileSync(path.join(state, "pulls.json"), JSON.stringify(opts.pulls.map((p) => ({ number: p.number, head: { sha: p.sha } }))));
        writeFileSync(path.join(state, "comments.json"), JSON.stringify(opts.comments ?? []));
        const env = {
            PATH: `${bin}:${process.env.PATH}`,
            RUNNER_TEMP: path.join(tmp, "runner"),
            FAKE_GH_STATE: state,
            FAKE_GH_RUN_ID: "4242",
            GH_TOKEN: "ghs_fake",
            GH_REPO: "example-org/platform-secrets",
            RUN_ID: "4242",
            RUN_URL: "https://github.com/example-org/platform-secrets/actions/runs/4242",
            HEAD_SHA: "0123456789abcdef0123456789abcdef01234567",
            HEAD_OWNER: "a-fork",
            HEAD_BRANCH: "feature/x",
            ...opts.env,
        };
        mkdirSync(env.RUNNER_TEMP);
        const result = spawnSync("bash", ["-c", script.run!], { cwd: tmp, env, encoding: "utf8" });
        const comments = JSON.parse(readFileSync(path.join(state, "comments.json"), "utf8")) as Comment[];
        const lines = (f: string) => (existsSync(path.join(state, f)) ? readFileSync(path.join(state, f), "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l)) : []);
        return { tmp, status: result.status, output: result.stdout + result.stderr, comments, calls: lines("calls.jsonl") as string[][], api: lines("api.jsonl") as { method: string; route: string; fields: Record<string, string> }[] };
    }
    const sha = "0123456789abcdef0123456789abcdef01234567";

    it("posts a hostile artifact only as text, mentions defused, cut to GitHub's limit in whole characters, on the pull request found from the event", () => {
        const attack = "## Plan\n$(touch pwned-1) `touch pwned-2` ${{ secrets.VAULT_TOKEN }} @example-org/admins &#64;ops &#x40;sec &commat;root please approve\nPR: 99\n";
        // Mentions first, so that defusing them adds characters before the cut; then a multi-byte character across it.
        const plan = Buffer.concat([Buffer.from(attack), Buffer.from("@a ".repeat(6000)), Buffer.from("x".repeat(60000 - attack.length - 18001)), Buffer.from("€ and more after the limit ".repeat(500))]);
        const branch = "feature/$(touch pwned-3);x";
        const r = post({ files: { "plan.md": plan }, pulls: [{ number: 7, sha: "f".repeat(40) }, { number: 12, sha }], env: { HEAD_BRANCH: branch } });
        assert.equal(r.status, 0, r.output);
        for (const marker of ["pwned-1", "pwned-2", "pwned-3"]) assert.ok(!existsSync(path.join(r.tmp, marker)) && !existsSync(path.join(r.tmp, "runner", marker)), marker);
        assert.deepEqual(r.comments.map((c) => c.issue), [12], "only the pull request whose head is the run's commit");
        // The branch reached the API as a query field, unexpanded.
        assert.deepEqual(r.api[0], { method: "GET", route: "repos/example-org/platform-secrets/pulls", fields: { state: "open", head: `a-fork:${branch}` } });
        const body = r.comments[0].body;
        assert.ok(!body.includes("\ufffd"), "valid UTF-8: the € cut at the limit was dropped whole");
        assert.ok(body.length <= 65536, `${body.length} characters`);
        assert.ok(body.startsWith(`${MARKER}\nOffline plan of this fork pull request at ${sha}, written by [its own run](https://github.com/example-org/platform-secrets/actions/runs/4242)`));
        assert.ok(body.includes("$(touch pwned-1) `touch pwned-2` ${{ secrets.VAULT_TOKEN }}"), "the artifact's text, verbatim");
        assert.ok(body.includes("@\u200bexample-org/admins") && !/@[A-Za-z0-9]/.test(body), "no live mention");
        assert.ok(!/&(#0*64|#x0*40|commat);/i.test(body) && body.includes("@\u200bops") && body.includes("@\u200bsec") && body.includes("@\u200broot"), "entity mentions defused too");
        assert.match(body, /\(Cut at 60000 bytes; the whole plan is on the run's summary page\.\)\n$/);
        assert.ok(!body.includes("more after the limit €"));
    });

    it("edits its own earlier comment on a new push, and never another workflow's", () => {
        const comments: Comment[] = [
            { id: 1, issue: 12, user: { login: "github-actions[bot]" }, body: `${MARKER}\nan earlier plan` },
            { id: 2, issue: 12, user: { login: "github-actions[bot]" }, body: "another workflow's report" },
            { id: 3, issue: 12, user: { login: "a-fork" }, body: `${MARKER}\na look-alike written by the fork's author` },
        ];
        const r = post({ files: { "plan.md": "# small plan\n" }, pulls: [{ number: 12, sha }], comments });
        assert.equal(r.status, 0, r.output);
        assert.equal(r.comments.length, 3, "no new comment");
        assert.match(r.comments[0].body, /\n\n# small plan\n$/);
        assert.ok(!r.comments[0].body.includes("Cut at"));
        assert.deepEqual(r.comments.slice(1), comments.slice(1), "the others untouched");
        // Without a comment of its own it adds one.
        const first = post({ files: { "plan.md": "# small plan\n" }, pulls: [{ number: 12, sha }], comments: comments.slice(1) });
        assert.equal(first.status, 0, first.output);
        assert.equal(first.comments.length, 3);
        assert.ok(first.comments[2].body.startsWith(MARKER));
        assert.deepEqual(first.comments.slice(0, 2), comments.slice(1));
    });

    it("posts nothing when no open pull request has the run's commit at its head, or the event or artifact is not what it should be", () => {
        const stale = post({ files: { "plan.md": "plan" }, pulls: [{ number: 12, sha: "e".repeat(40) }] });
        assert.equal(stale.status, 0, stale.output);
        assert.match(stale.output, /no open pull request has head/);
        assert.deepEqual(stale.comments, []);

        const link = post({ link: "/etc/passwd", pulls: [{ number: 12, sha }] });
        assert.notEqual(link.status, 0);
        assert.match(link.output, /no plain plan\.md/);
        assert.deepEqual(link.comments, []);

        const badSha = post({ files: { "plan.md": "plan" }, pulls: [{ number: 12, sha }], env: { HEAD_SHA: "$(touch pwned)" } });
        assert.notEqual(badSha.status, 0);
        assert.deepEqual(badSha.calls, [], "stops before calling GitHub");
        assert.deepEqual(badSha.comments, []);
    });
});

describe("deploys from main", () => {
    const deploy = workflows["deploy.yml"];

    it("test first, then update dev, then staging, then prod", () => {
        assert.equal(deploy.jobs.test.uses, "./.github/workflows/ci.yml");
        assert.equal(deploy.jobs["up-dev"].needs, "test");
        assert.equal(deploy.jobs["up-staging"].needs, "up-dev");
        assert.equal(deploy.jobs["up-prod"].needs, "up-staging");
        for (const id of ["up-dev", "up-staging", "up-prod"]) assert.equal(pulumiStep(deploy.jobs[id].steps!)!.with!.policyPacks, "policy", id);
    });

    it("update each stack in its own concurrency group, never cancelled", () => {
        const groups = ["up-dev", "up-staging", "up-prod"].map((id) => {
            const c = deploy.jobs[id].concurrency as { group: string; "cancel-in-progress"?: boolean };
            assert.equal(c["cancel-in-progress"], false, id);
            return c.group;
        });
        assert.deepEqual(groups, ["pulumi-up-dev", "pulumi-up-staging", "pulumi-up-prod"]);
        // No other job shares an update group: a preview must not replace a pending deploy.
        for (const { file, id, job } of runs) {
            if (!["up-dev", "up-staging", "up-prod"].includes(id)) assert.ok(!groups.includes(String(groupOf(job))), `${file}:${id}`);
        }
        assert.match(String(groupOf(workflows["preview.yml"].jobs.preview)), /\$\{\{ matrix\.stack \}\}/);
    });
});

describe("credentials", () => {
    it("give ci.yml (tests and secret scan) no secret, no environment and no OIDC token", () => {
        assert.deepEqual(secretNames(workflowText["ci.yml"]), []);
        for (const [id, job] of Object.entries(workflows["ci.yml"].jobs)) {
            assert.equal(job.environment, undefined, id);
            assert.deepEqual(job.permissions, { contents: "read" }, id);
        }
        assert.ok(!("secrets" in workflows["deploy.yml"].jobs.test), "deploy.yml calls ci.yml without passing secrets");
    });

    it("hold no repository-wide secret: the environment's Vault token is the only secret, and only environment jobs read it", () => {
        const referenced = new Set(Object.values(workflowText).flatMap(secretNames));
        assert.deepEqual([...referenced], ["VAULT_TOKEN"]);
        for (const r of runs) if (secretNames(jobText(r)).length > 0) assert.ok(r.environment, `${r.file}:${r.id}`);
        for (const r of runs.filter(holdsCredentials)) {
            const access = accessStep(r.steps)!;
            assert.deepEqual(access.with, {
                stack: access.with!.stack,
                "role-to-assume": "${{ vars.AWS_ROLE_ARN }}",
                "pulumi-organization": "${{ vars.PULUMI_ORG }}",
                "pulumi-team": "${{ vars.PULUMI_TEAM }}",
            }, `${r.file}:${r.id}: role and team from the environment's variables`);
            assert.deepEqual(pulumiStep(r.steps)!.env, {
                PULUMI_ACCESS_TOKEN: `\${{ steps.${access.id}.outputs.pulumi-access-token }}`,
                VAULT_TOKEN: "${{ secrets.VAULT_TOKEN }}",
            }, `${r.file}:${r.id}`);
        }
    });

    it("log in to Pulumi Cloud with a short-lived team token through OIDC, handed only to the Pulumi step", () => {
        const login = stackAccessAction.runs.steps.filter((s) => s.uses?.startsWith("pulumi/auth-actions@"));
        assert.equal(login.length, 1);
        assert.deepEqual(login[0].with, {
            organization: "${{ inputs.pulumi-organization }}",
            "requested-token-type": "urn:pulumi:token-type:access_token:team",
            scope: "team:${{ inputs.pulumi-team }}",
            "token-expiration": 7200,
            "export-environment-variables": false,
        });
        assert.equal(stackAccessAction.outputs?.["pulumi-access-token"].value, `\${{ steps.${login[0].id}.outputs.pulumi-access-token }}`);
        // The login is the last step: no later step of the action runs with it.
        assert.equal(stackAccessAction.runs.steps.at(-1), login[0]);
    });

    it("keep secrets and tokens out of shell scripts: only in env or with of an action step", () => {
        for (const s of allSteps) {
            const script = s.run ?? "";
            assert.ok(!/\$\{\{\s*(secrets|inputs|github\.event|steps\.[\w-]+\.outputs\.pulumi-access-token)\b/.test(script), `no expression injected into a script: ${script}`);
            assert.ok(!/PULUMI_ACCESS_TOKEN|VAULT_TOKEN|GITHUB_TOKEN|pulumi-access-token|set -x/.test(script), `no token echoed: ${script}`);
            if (s.run) assert.ok(!/secrets\.|pulumi-access-token/.test(JSON.stringify(s.env ?? {})), `no secret in a script's environment: ${s.name}`);
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

    it("use each action at its confirmed tag (or a commit SHA), and the Pulumi CLI at the SDK's version", () => {
        const pkg = JSON.parse(read(path.join(repoRoot, "package.json")));
        const used = new Set<string>();
        for (const s of allSteps.filter((x) => x.uses && !x.uses.startsWith("./"))) {
            const [action, ref] = s.uses!.split("@");
            used.add(action);
            assert.ok(action in ACTION_PINS, `${action} is not a reviewed action`);
            assert.ok(ref === ACTION_PINS[action] || /^[0-9a-f]{40}$/.test(ref), `${s.uses}: expected ${action}@${ACTION_PINS[action]} or a commit SHA`);
        }
        assert.deepEqual([...used].sort(), Object.keys(ACTION_PINS).sort());
        for (const { steps } of runs) {
            const step = pulumiStep(steps);
            if (step) assert.equal(step.with!["pulumi-version"], pkg.dependencies["@pulumi/pulumi"]);
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

/**
 * The simulator catalogs GitHub's `token.actions.githubusercontent.com:<claim>` keys but not `:sub`
 * and `:aud`, which it would ignore (decide() fails on ignored keys). Both are renamed, in the
 * policy and the request alike, to a provider's keys it does evaluate, which StringEquals compares
 * the same way.
 */
const STAND_IN = "cognito-identity.amazonaws.com";
function renameGithubKeys<T>(value: T): T {
    const text = JSON.stringify(value).replaceAll(`"${githubIssuer}:sub"`, `"${STAND_IN}:sub"`).replaceAll(`"${githubIssuer}:aud"`, `"${STAND_IN}:aud"`);
    return JSON.parse(text) as T;
}

describe("the runners' egress (docs/guardrails.md)", () => {
    it("lists every chart repository a stack's Helm releases fetch from", async () => {
        const paragraph = guardrails.slice(guardrails.indexOf("Self-hosted runners, per label"), guardrails.indexOf("- Ephemeral:"));
        let seen = 0;
        for (const stack of stacks) {
            const run = await runStack(stack);
            for (const r of run.resources.filter((x) => x.type === "kubernetes:helm.sh/v3:Release")) {
                const repo = String((r.inputs.repositoryOpts as { repo?: string } | undefined)?.repo ?? "");
                assert.ok(repo.startsWith("https://"), `${stack} ${r.name}: no chart repository`);
                assert.ok(paragraph.includes(`\`${repo}\``), `${stack} ${r.name} fetches from ${repo}, missing from the runners' egress list`);
                seen++;
            }
        }
        assert.ok(seen >= 3, `only ${seen} releases`);
    });
});

describe("Vault's CA for the Pulumi Vault provider", () => {
    /** Steps that run the Pulumi CLI against a stack, with the stack they run. */
    const pulumiRuns = runs.flatMap((r) =>
        r.steps.flatMap((s, index) => {
            const viaAction = s.uses?.startsWith("pulumi/actions@") ? String(s.with?.["stack-name"] ?? "") : undefined;
            const viaShell = s.run && /\bpulumi\s+(up|preview|refresh|destroy|import)\b/.test(s.run) ? (/--stack[= ](\S+)/.exec(s.run)?.[1] ?? "") : undefined;
            const named = viaAction ?? viaShell;
            if (named === undefined) return [];
            return [{ run: r, step: s, index, stack: named.split("/").pop()! }];
        }),
    );

    it("every step that runs Pulumi runs a stack whose config gives the provider Vault's CA, from the checked-out repository", () => {
        assert.ok(pulumiRuns.length >= 4, `found only ${pulumiRuns.length} Pulumi steps`);
        for (const { run, step, index, stack } of pulumiRuns) {
            const where = `${run.file} ${run.id} ${JSON.stringify(run.matrix)} "${step.name}"`;
            assert.ok(stacks.includes(stack), `${where}: runs stack "${stack}", which has no stack file`);
            const vault = resolvedConfig(stack).vault;
            assert.ok(vault.caCertFile !== undefined || vault.caFromSystemRoots, `${where}: the ${stack} stack gives the Vault provider no CA`);
            // The provider reads the file relative to the project directory, in the job's checkout.
            assert.ok(run.steps.slice(0, index).some((s) => s.uses?.startsWith("actions/checkout@")), `${where}: no checkout before the Pulumi step`);
            assert.ok([undefined, ".", "./"].includes(step.with?.["work-dir"] as string | undefined), `${where}: runs outside the project directory`);
            // Nothing turns verification off, or points the provider at another CA.
            for (const name of ["VAULT_SKIP_VERIFY", "VAULT_CACERT", "VAULT_CAPATH"]) assert.ok(!(name in (step.env ?? {})), `${where}: sets ${name}`);
            if (vault.caCertFile !== undefined) {
                const file = path.join(repoRoot, vault.caCertFile);
                assert.ok(existsSync(file), `${where}: ${vault.caCertFile} is not in the repository`);
                const cert = new X509Certificate(readFileSync(file));
                assert.ok(cert.ca, `${vault.caCertFile} is not a CA certificate`);
                // Committed, not just present here: a fresh checkout on the runner must have it.
                const tracked = spawnSync("git", ["ls-files", "--error-unmatch", vault.caCertFile], { cwd: repoRoot, encoding: "utf8" });
                assert.equal(tracked.status, 0, `${vault.caCertFile} is not tracked by git (ignored?): ${tracked.stderr}`);
            }
        }
        // Every stack is covered by the previews and the deploys.
        for (const stack of stacks) assert.ok(pulumiRuns.filter((p) => p.stack === stack).length >= 2, `${stack}: previewed and deployed`);
    });
});

describe("the AWS roles' OIDC trust (IAM policy simulator)", () => {
    const repository = "example-org/platform-secrets";
    const accountId = "111122223333";
    const provider = `arn:aws:iam::${accountId}:oidc-provider/${githubIssuer}`;
    const assume = (trust: Policy, claims: { sub: string; aud?: string }, principal = provider): Promise<Decision> =>
        decide({
            principal,
            action: "sts:AssumeRoleWithWebIdentity",
            resource: `arn:aws:iam::${accountId}:role/platform-secrets-ci`,
            accountId,
            context: renameGithubKeys({ [`${githubIssuer}:sub`]: claims.sub, [`${githubIssuer}:aud`]: claims.aud ?? awsAudience }),
            resourcePolicy: renameGithubKeys(trust),
        });

    for (const env of ciEnvironments) {
        it(`lets only jobs in the ${env.name} environment of this repository assume the ${env.name} role`, async () => {
            const trust = githubOidcTrustPolicy({ repository, accountId, environment: env.name }) as Policy;
            assert.equal(await assume(trust, { sub: `repo:${repository}:environment:${env.name}` }), "Allowed");
            const others = [
                ...ciEnvironments.filter((e) => e !== env).map((e) => environmentSubject(repository, e.name)),
                `repo:${repository}:pull_request`,
                `repo:${repository}:ref:refs/heads/main`,
                `repo:${repository}:environment:${env.name}-copy`,
                `repo:example-org/a-fork:environment:${env.name}`,
            ];
            for (const sub of others) assert.equal(await assume(trust, { sub }), "ImplicitlyDenied", sub);
            assert.equal(await assume(trust, { sub: environmentSubject(repository, env.name), aud: `urn:pulumi:org:example-org` }), "ImplicitlyDenied", "another audience");
            assert.equal(await assume(trust, { sub: environmentSubject(repository, env.name) }, `arn:aws:iam::444455556666:oidc-provider/${githubIssuer}`), "ImplicitlyDenied", "another account's provider");
            // Exact matches only: no StringLike, no wildcard anywhere in the conditions.
            const conditions = JSON.stringify(trust.Statement.map((s) => s.Condition));
            assert.ok(!/StringLike|\*|\?/.test(conditions), conditions);
        });
    }
});

describe("docs/guardrails.md", () => {
    it("lists every environment with its runner labels, protection rules and OIDC subject", () => {
        for (const env of ciEnvironments) {
            const row = guardrails.split("\n").find((l) => l.startsWith(`| \`${env.name}\` |`));
            assert.ok(row, `a setup table row for ${env.name}`);
            assert.ok(row.includes(`\`[self-hosted, ${env.runnerLabel}]\``), `${env.name}: runner labels`);
            assert.ok(row.includes(`\`repo:<org>/<repo>:environment:${env.name}\``), `${env.name}: OIDC subject`);
            assert.equal(row.includes("required reviewers"), env.requiredReviewers, `${env.name}: reviewers`);
            assert.equal(row.includes("`main` only"), env.deploymentBranches === "main", `${env.name}: deployment branches`);
        }
    });

    it("names every action at the tag the workflows use, and tells adopters to pin commit SHAs", () => {
        for (const [action, ref] of Object.entries(ACTION_PINS)) assert.ok(guardrails.includes(`${action}@${ref}`), `${action}@${ref}`);
        assert.match(guardrails, /pin every action to the full commit SHA/i);
    });

    it("shows every manual preview and up with the policy pack and the stack's policy config", () => {
        const commands: string[] = [];
        // Shell blocks (the diagrams are plain blocks), with continuation lines joined.
        for (const block of guardrails.matchAll(/```(?:sh|bash)\n([\s\S]*?)```/g)) {
            const lines = block[1].replace(/\\\n\s*/g, " ").split("\n");
            commands.push(...lines.filter((l) => /^\s*pulumi (up|preview)\b/.test(l.replace(/#.*$/, ""))));
        }
        for (const span of guardrails.replace(/```[\s\S]*?```/g, "").matchAll(/`(pulumi (?:up|preview) [^`]+)`/g)) commands.push(span[1]);
        assert.ok(commands.length >= 4, `found ${commands.length} commands`);
        for (const c of commands) assert.match(c, /--policy-pack policy --policy-pack-config policy\/config\/(\$STACK|\$\{STACK\}|<stack>|dev|prod)\.json/, c);
    });

    it("says validate-config needs a published pack, and which tests check the local config files", () => {
        for (const m of guardrails.matchAll(/validate-config[^\n]*/g)) assert.match(m[0], /validate-config <org>\/<pack> <version>/, m[0]);
        assert.match(guardrails, /test\/policy\.test\.ts/);
    });
});
