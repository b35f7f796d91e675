/**
 * Role trust policies: only one Kubernetes ServiceAccount may assume the role, through IRSA (a
 * web-identity statement pinning `<issuer>:sub` and `<issuer>:aud` under StringEquals to literal
 * values) or EKS Pod Identity (pods.eks.amazonaws.com with session-tag conditions). Every statement
 * is judged, not only the web-identity one: the IAM policy simulator is asked whether anyone else
 * (another account, a same-account role or user, a service, another ServiceAccount or OIDC
 * provider, a SAML provider) could assume the role or tag its session, with the conditions an
 * attacker controls satisfied (runbook 003: least privilege).
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { forTypes } from "../lib/dispatch";
import { conditionEntries, federatedPrincipals, grantsAction, statementsOf, type Statement } from "../lib/iam";
import { accountsIn, ALLOW_EVERYTHING, decide, foreignAccount, namedAwsPrincipals, providerAccounts, SimulationError, type Probe } from "../lib/simulate";
import { known } from "../lib/values";
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

/** Actions that start a session as the role (or shape it). */
const ASSUME_ACTIONS = ["sts:AssumeRole", "sts:AssumeRoleWithWebIdentity", "sts:AssumeRoleWithSAML", "sts:TagSession", "sts:SetSourceIdentity"];
/** Services that could be told to assume a role they are trusted for. */
const SERVICE_PROBES = ["ec2.amazonaws.com", "lambda.amazonaws.com", "ecs-tasks.amazonaws.com", "eks.amazonaws.com", "pods.eks.amazonaws.com"];
/** The stand-in OIDC provider whose condition keys the simulator evaluates (it ignores an EKS issuer's keys). */
const OIDC_STAND_IN = "cognito-identity.amazonaws.com";
/** Conditions an attacker's request satisfies at will. */
const ATTACKER_CONTEXT: Record<string, string> = { "aws:SecureTransport": "true" };
/** A ServiceAccount (and cluster) nobody pinned: what another workload of the cluster presents. */
const PROBE_SA = { namespace: "probe-namespace", name: "probe-sa", cluster: "probe-cluster" };

/** The policy with one OIDC issuer's `:sub`/`:aud`/`:amr` keys renamed to the stand-in's, which the simulator evaluates. */
function renameIssuerKeys<T>(value: T, issuer: string): T {
    const rename = (key: string) => {
        const lower = key.toLowerCase();
        for (const claim of ["sub", "aud", "amr"]) if (lower === `${issuer.toLowerCase()}:${claim}`) return `${OIDC_STAND_IN}:${claim}`;
        return key;
    };
    if (Array.isArray(value)) return value.map((v) => renameIssuerKeys(v, issuer)) as T;
    if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [rename(k), renameIssuerKeys(v, issuer)])) as T;
    return value;
}

/** The ServiceAccount subjects an Allow statement pins (`<issuer>:sub` values under StringEquals). */
function pinnedSubjects(statements: Statement[]): Set<string> {
    const subjects = new Set<string>();
    for (const s of statements) {
        if (s.Effect !== "Allow") continue;
        for (const c of conditionEntries(s)) if (c.key.endsWith(":sub")) for (const v of c.values) subjects.add(String(v));
    }
    return subjects;
}

/** Requests nobody but the pinned ServiceAccount should get through, each with what it stands for. */
function attackerProbes(doc: Record<string, unknown>, statements: Statement[], roleArn: string, owner: string): { what: string; probe: Probe }[] {
    const accounts = [...new Set([owner, ...accountsIn(doc)])];
    const foreign = foreignAccount(accounts);
    const probes: { what: string; probe: Probe }[] = [];
    const base = { resource: roleArn, accountId: owner };
    const awsPrincipals = new Set<string>([
        `arn:aws:iam::${foreign}:role/probe-role`,
        ...accounts.flatMap((a) => [`arn:aws:iam::${a}:role/probe-role`, `arn:aws:iam::${a}:user/probe-user`]),
        ...namedAwsPrincipals(statements),
    ]);
    for (const action of ASSUME_ACTIONS) {
        for (const principal of awsPrincipals) {
            probes.push({ what: `${principal} (${action})`, probe: { ...base, principal, action, context: ATTACKER_CONTEXT, identity: [ALLOW_EVERYTHING], resourcePolicy: doc } });
        }
        for (const service of SERVICE_PROBES) {
            const tags = {
                "aws:RequestTag/eks-cluster-name": PROBE_SA.cluster,
                "aws:RequestTag/kubernetes-namespace": PROBE_SA.namespace,
                "aws:RequestTag/kubernetes-service-account": PROBE_SA.name,
                "aws:RequestTag/kubernetes-pod-name": "probe-pod",
            };
            probes.push({ what: `the service ${service} for another workload (${action})`, probe: { ...base, principal: service, action, context: { ...ATTACKER_CONTEXT, ...tags }, resourcePolicy: doc } });
        }
        probes.push({
            what: `a SAML provider (${action})`,
            probe: { ...base, principal: `arn:aws:iam::${owner}:saml-provider/probe`, action, context: { ...ATTACKER_CONTEXT, "saml:aud": "https://signin.aws.amazon.com/saml" }, resourcePolicy: doc },
        });
    }
    // Web identity: through every OIDC provider the document names, and one it does not, as another ServiceAccount.
    const providers = new Set<string>(statements.flatMap(federatedPrincipals).filter((p) => p.includes(":oidc-provider/") && !p.includes("*")));
    providers.add(`arn:aws:iam::${foreign}:oidc-provider/oidc.probe.example.com/id/PROBE`);
    for (const provider of providers) {
        const issuer = provider.slice(provider.indexOf(":oidc-provider/") + ":oidc-provider/".length);
        const policy = renameIssuerKeys(doc, issuer);
        const claims = (sub: string, aud: string) => ({ ...ATTACKER_CONTEXT, [`${OIDC_STAND_IN}:sub`]: sub, [`${OIDC_STAND_IN}:aud`]: aud, [`${OIDC_STAND_IN}:amr`]: "authenticated" });
        const web = (what: string, context: Record<string, string>) =>
            probes.push({ what, probe: { ...base, principal: provider, action: "sts:AssumeRoleWithWebIdentity", context, resourcePolicy: policy } });
        web(`another ServiceAccount through ${provider}`, claims(`system:serviceaccount:${PROBE_SA.namespace}:${PROBE_SA.name}`, "sts.amazonaws.com"));
        for (const sub of pinnedSubjects(statements)) web(`a token for another audience through ${provider}`, claims(sub, "probe-audience"));
        if (!doc || !statements.some((s) => federatedPrincipals(s).includes(provider))) {
            for (const sub of pinnedSubjects(statements)) web(`the pinned subject through a provider the role does not name (${provider})`, claims(sub, "sts.amazonaws.com"));
        }
    }
    return probes;
}

export const irsaTrustPinned: ResourceValidationPolicy = {
    name: "irsa-trust-pinned",
    description:
        "Role trust policies let exactly one ServiceAccount assume the role: IRSA pinned on <issuer>:sub (one subject) and <issuer>:aud under StringEquals, or EKS Pod Identity with session-tag conditions; the IAM policy simulator shows every other principal (accounts, roles, users, services, other ServiceAccounts or providers) denied.",
    enforcementLevel: "mandatory",
    severity: "critical",
    remediationSteps: "One statement: Principal.Federated = the cluster's OIDC provider, Action sts:AssumeRoleWithWebIdentity, Condition: { StringEquals: { \"<issuer>:sub\": \"system:serviceaccount:<ns>:<sa>\", \"<issuer>:aud\": \"sts.amazonaws.com\" } }. No other Allow statement.",
    configSchema: {
        properties: {
            audience: { type: "string", default: "sts.amazonaws.com", description: "The audience IRSA tokens carry." },
        },
    },
    validateResource: forTypes<RoleProps>([T.iamRole], async (props, args, report) => {
        const audience = args.getConfig<IrsaConfig>().audience ?? "sts.amazonaws.com";
        const statements = statementsOf(props.assumeRolePolicy);
        if (!statements) return report("The trust policy (assumeRolePolicy) is not a readable policy document.");
        for (const s of statements.filter(isWebIdentityTrust)) for (const problem of webIdentityProblems(s, audience)) report(`The trust policy's ${problem}.`);
        const subjects = pinnedSubjects(statements);
        if (subjects.size > 1) report(`The trust policy's sub conditions list ${subjects.size} subjects; a role is for exactly one ServiceAccount.`);
        for (const s of statements) {
            if (s.Effect === "Allow" && (s.NotPrincipal !== undefined || s.NotAction !== undefined)) report(`The trust policy's statement ${s.Sid ?? ""} allows with NotPrincipal or NotAction, which trusts everyone it does not name.`.replace("  ", " "));
        }
        const doc = JSON.parse(JSON.stringify({ Version: "2012-10-17", Statement: statements }));
        const owner = providerAccounts(args.provider)[0] ?? accountsIn(doc)[0] ?? "000000000000";
        const name = known(() => props.name);
        const roleName = typeof name === "string" && name !== "" ? name : args.name;
        const roleArn = `arn:aws:iam::${owner}:role/${roleName}`;
        const admitted = new Set<string>();
        try {
            for (const { what, probe } of attackerProbes(doc, statements, roleArn, owner)) {
                if ((await decide(probe)) === "Allowed") admitted.add(what);
            }
        } catch (e) {
            if (e instanceof SimulationError) return report(`The trust policy cannot be evaluated, so it cannot be trusted: ${e.message}.`);
            throw e;
        }
        if (admitted.size > 0) report(`The trust policy lets others assume the role (IAM policy simulator): ${[...admitted].slice(0, 6).join("; ")}${admitted.size > 6 ? `; and ${admitted.size - 6} more` : ""}.`);
    }),
};
