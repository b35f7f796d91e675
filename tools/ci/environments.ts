/**
 * The GitHub environments the workflows use, one per job that holds stack credentials, and the
 * trust every credential is bound to. The workflows name these environments and runner labels; the
 * tests check the workflow files and docs/guardrails.md against this table, and the trust policies
 * below against the IAM policy simulator.
 *
 * Print the trust policy of one environment's AWS role (nothing in it is secret):
 *
 *   node --import tsx tools/ci/environments.ts --repository <org>/<repo> --account <id> --environment production
 */
import { parseArgs } from "node:util";

export type CiPurpose = "preview" | "deploy";

/** One GitHub environment: what its jobs may do, where they run, and who releases its credentials. */
export interface CiEnvironment {
    /** The GitHub environment's name; also the last part of the OIDC `sub` claim its jobs get. */
    readonly name: string;
    /** The Pulumi stack its jobs reach. */
    readonly stack: string;
    readonly purpose: CiPurpose;
    /**
     * The label of the self-hosted runners inside that stack's network (Vault and the EKS API are
     * private). Jobs run on `[self-hosted, <runnerLabel>]`.
     */
    readonly runnerLabel: string;
    /** Required reviewers (with self-review prevented) approve every job before it gets credentials. */
    readonly requiredReviewers: boolean;
    /**
     * Deployment branches. `main` for updates; `any` for previews, because GitHub checks a
     * pull_request run against the pull request's head branch, which can be any branch.
     */
    readonly deploymentBranches: "main" | "any";
}

export const ciEnvironments: readonly CiEnvironment[] = [
    { name: "preview-dev", stack: "dev", purpose: "preview", runnerLabel: "platform-dev", requiredReviewers: false, deploymentBranches: "any" },
    { name: "preview-staging", stack: "staging", purpose: "preview", runnerLabel: "platform-staging", requiredReviewers: true, deploymentBranches: "any" },
    { name: "preview-prod", stack: "prod", purpose: "preview", runnerLabel: "platform-prod", requiredReviewers: true, deploymentBranches: "any" },
    { name: "dev", stack: "dev", purpose: "deploy", runnerLabel: "platform-dev", requiredReviewers: false, deploymentBranches: "main" },
    { name: "staging", stack: "staging", purpose: "deploy", runnerLabel: "platform-staging", requiredReviewers: true, deploymentBranches: "main" },
    { name: "production", stack: "prod", purpose: "deploy", runnerLabel: "platform-prod", requiredReviewers: true, deploymentBranches: "main" },
];

/** GitHub's OIDC issuer, as IAM names it in condition keys and the provider ARN. */
export const githubIssuer = "token.actions.githubusercontent.com";
/** The audience aws-actions/configure-aws-credentials requests. */
export const awsAudience = "sts.amazonaws.com";

export function environmentNamed(name: string): CiEnvironment {
    const env = ciEnvironments.find((e) => e.name === name);
    if (!env) throw new Error(`no CI environment named ${name} (known: ${ciEnvironments.map((e) => e.name).join(", ")})`);
    return env;
}

/** The `sub` claim of a job that runs in this environment (GitHub's default subject template). */
export function environmentSubject(repository: string, environment: string): string {
    if (!/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(repository)) throw new Error(`repository must be <org>/<repo>, got ${repository}`);
    return `repo:${repository}:environment:${environmentNamed(environment).name}`;
}

/**
 * The trust policy of the AWS role one environment assumes: only GitHub's OIDC provider, only
 * AssumeRoleWithWebIdentity, and StringEquals (no wildcard) on both the audience and the subject
 * of exactly that environment of exactly this repository.
 */
export function githubOidcTrustPolicy(args: { readonly repository: string; readonly accountId: string; readonly environment: string; readonly partition?: string }) {
    if (!/^\d{12}$/.test(args.accountId)) throw new Error(`account must be a 12-digit AWS account ID, got ${args.accountId}`);
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Effect: "Allow",
                Principal: { Federated: `arn:${args.partition ?? "aws"}:iam::${args.accountId}:oidc-provider/${githubIssuer}` },
                Action: "sts:AssumeRoleWithWebIdentity",
                Condition: {
                    StringEquals: {
                        [`${githubIssuer}:aud`]: awsAudience,
                        [`${githubIssuer}:sub`]: environmentSubject(args.repository, args.environment),
                    },
                },
            },
        ],
    };
}

if (require.main === module) {
    const { values } = parseArgs({ options: { repository: { type: "string" }, account: { type: "string" }, environment: { type: "string" } } });
    if (!values.repository || !values.account || !values.environment) {
        process.stderr.write("usage: node --import tsx tools/ci/environments.ts --repository <org>/<repo> --account <id> --environment <name>\n");
        process.exit(2);
    }
    const policy = githubOidcTrustPolicy({ repository: values.repository, accountId: values.account, environment: values.environment });
    process.stdout.write(`${JSON.stringify(policy, null, 2)}\n`);
}
