/**
 * The offline plan: runs the real program for one stack under Pulumi's mocks, with no Pulumi CLI,
 * no credentials and no network, and prints every resource it would register.
 *
 *   npm run plan -- --stack dev [--details | <resource name or URN>...] [--json] [--show-secrets] [--diff prod]
 *                   [--format text|markdown [--diagram]] [--now 2026-11-22] [--strict]
 *                   [--stack-file proposed.yaml]   (review a stack file before it replaces Pulumi.<stack>.yaml)
 *                   [--previous-outputs outputs.json]  (`pulumi stack output --json`: rotate as the next `up` would)
 *
 * It is for review and for CI without credentials; `pulumi preview` stays the real thing (it
 * talks to the providers, sees existing state, and shows updates rather than a full graph).
 *
 * By default it prints a tree like `pulumi preview` (tools/planTree.ts); `--details`, or naming
 * resources, prints their inputs and options; `--json` is the whole plan, byte-stable.
 */
import { runAsProcess } from "./cli";
import { planCommand } from "./planCommand";

runAsProcess(planCommand);
