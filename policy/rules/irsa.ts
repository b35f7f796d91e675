/**
 * IRSA roles: a web-identity trust policy lets exactly one Kubernetes ServiceAccount of one cluster
 * assume the role. That takes `<issuer>:sub` and `<issuer>:aud` under StringEquals, for the issuer
 * of the federated OIDC provider, with literal values: a wildcard (or StringLike) lets every
 * ServiceAccount of the cluster, or every audience, in (runbook 003: least privilege).
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { forTypes } from "../lib/dispatch";
import { conditionEntries, federatedPrincipals, grantsAction, statementsOf, type Statement } from "../lib/iam";
import { T } from "../types";

/** aws.iam.RoleArgs, the part read here. */
export interface RoleProps {
    name?: string;
    assumeRolePolicy?: unknown;
}

export interface IrsaConfig {
    /** The audience the tokens must carry; EKS IRSA uses sts.amazonaws.com. */
    audience?: string;
}

const OIDC_PROVIDER_ARN = /^arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider\/(.+)$/;
const SERVICE_ACCOUNT_SUB = /^system:serviceaccount:[a-z0-9]([-a-z0-9]*[a-z0-9])?:[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/;
const WILDCARD = /[*?]/;

/** Statements that trust a web identity: AssumeRoleWithWebIdentity, or any action for a Federated principal. */
function isWebIdentityTrust(s: Statement): boolean {
    return s.Effect === "Allow" && (grantsAction(s, "sts:AssumeRoleWithWebIdentity") || federatedPrincipals(s).length > 0);
}

/** What is wrong with one web-identity statement (empty when nothing is). */
export function webIdentityProblems(s: Statement, audience: string): string[] {
    const label = `statement ${s.Sid ?? ""}`.trim();
    const problems: string[] = [];
    const federated = federatedPrincipals(s);
    if (federated.length === 0) problems.push(`${label} trusts a web identity without a Federated OIDC provider principal`);
    const issuers: string[] = [];
    for (const arn of federated) {
        const m = OIDC_PROVIDER_ARN.exec(arn);
        if (!m || WILDCARD.test(arn)) problems.push(`${label} federates to ${JSON.stringify(arn)}, not one IAM OIDC provider ARN`);
        else issuers.push(m[1]);
    }
    const conditions = conditionEntries(s);
    for (const c of conditions) {
        const isSubOrAud = c.key.endsWith(":sub") || c.key.endsWith(":aud");
        if (isSubOrAud && c.operator !== "StringEquals") problems.push(`${label} constrains ${c.key} with ${c.operator}; pin it with StringEquals`);
    }
    for (const issuer of issuers) {
        for (const claim of ["sub", "aud"] as const) {
            const key = `${issuer}:${claim}`;
            const pinned = conditions.filter((c) => c.operator === "StringEquals" && c.key === key.toLowerCase());
            const values = pinned.flatMap((c) => c.values);
            if (pinned.length === 0 || values.length === 0) {
                problems.push(`${label} does not pin ${key} under StringEquals`);
                continue;
            }
            for (const v of values) {
                if (typeof v !== "string" || WILDCARD.test(v)) problems.push(`${label} pins ${key} to ${JSON.stringify(v)}, which is a wildcard or not a string`);
                else if (claim === "sub" && !SERVICE_ACCOUNT_SUB.test(v)) problems.push(`${label} pins ${key} to ${JSON.stringify(v)}, not system:serviceaccount:<namespace>:<name>`);
                else if (claim === "aud" && v !== audience) problems.push(`${label} pins ${key} to ${JSON.stringify(v)}, not ${JSON.stringify(audience)}`);
            }
        }
    }
    return problems;
}

export const irsaTrustPinned: ResourceValidationPolicy = {
    name: "irsa-trust-pinned",
    description: "Web-identity (IRSA) trust policies pin <issuer>:sub to one ServiceAccount and <issuer>:aud to the STS audience under StringEquals, without wildcards.",
    enforcementLevel: "mandatory",
    severity: "critical",
    remediationSteps: "Condition: { StringEquals: { \"<issuer>:sub\": \"system:serviceaccount:<ns>:<sa>\", \"<issuer>:aud\": \"sts.amazonaws.com\" } } with <issuer> the OIDC provider ARN's path.",
    configSchema: {
        properties: {
            audience: { type: "string", default: "sts.amazonaws.com", description: "The audience IRSA tokens carry." },
        },
    },
    validateResource: forTypes<RoleProps>([T.iamRole], (props, args, report) => {
        const audience = args.getConfig<IrsaConfig>().audience ?? "sts.amazonaws.com";
        const statements = statementsOf(props.assumeRolePolicy);
        if (!statements) return report("The trust policy (assumeRolePolicy) is not a readable policy document.");
        const trusts = statements.filter(isWebIdentityTrust);
        if (trusts.length === 0) return args.notApplicable("the role trusts no web identity");
        for (const s of trusts) for (const problem of webIdentityProblems(s, audience)) report(`The trust policy's ${problem}.`);
    }),
};
