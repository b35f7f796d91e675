/**
 * Cross-field rules the schema alone cannot express. Each returns problems by config path, so the
 * operator sees every mistake at once, next to the key that holds it.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { templateReferences } from "../credentials/compose";
import { pipelinePolicyNames } from "../vault/policies";
import { AppSpec, authDelegatorBindingName, expandProperties, isGenerated, isRotating, PlatformConfig, rotates } from "./model";
import { tlsCatalogRules } from "./tlsRules";
import { durationSeconds, parseQuantity, ParsedStackConfig, secretDataKeyProblem } from "./schema";
import { literalPassword, tlsViolation, UNKNOWN } from "./tls";

export interface Problem {
    path: (string | number)[];
    message: string;
}

const PLACEHOLDER = /\{([^{}]*)\}/g;

export { templateReferences, tlsViolation };

function isUrl(template: string): boolean {
    try {
        return new URL(template.replace(PLACEHOLDER, "x")).protocol.length > 1;
    } catch {
        return false;
    }
}

/** Levenshtein distance, for "did you mean" hints (here and in `npm run rotate`). */
export function editDistance(a: string, b: string): number {
    const row = Array.from({ length: b.length + 1 }, (_, i) => i);
    for (let i = 1; i <= a.length; i++) {
        let prev = row[0];
        row[0] = i;
        for (let j = 1; j <= b.length; j++) {
            const cur = row[j];
            row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
            prev = cur;
        }
    }
    return row[b.length];
}

/** The candidate nearest to `name`, if any is reasonably near. */
export function nearest(name: string, candidates: Iterable<string>): string | undefined {
    let best: string | undefined;
    let bestD = Infinity;
    for (const c of candidates) {
        const d = editDistance(name.toLowerCase(), c.toLowerCase());
        if (d < bestD) [best, bestD] = [c, d];
    }
    return best !== undefined && bestD <= Math.max(2, Math.floor(best.length / 3)) ? best : undefined;
}

/** Why a name is not a valid S3 general purpose bucket name, or undefined. */
export function s3BucketNameProblem(name: string): string | undefined {
    if (name.length < 3 || name.length > 63) return `is ${name.length} characters; S3 bucket names are 3 to 63`;
    if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name)) return "must be lower-case letters, digits, '.' and '-', starting and ending with a letter or digit (S3)";
    if (name.includes("..")) return "must not contain two adjacent periods (S3)";
    if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) return "must not look like an IP address (S3)";
    for (const prefix of ["xn--", "sthree-", "amzn-s3-demo-"]) if (name.startsWith(prefix)) return `must not start with ${prefix} (reserved by S3)`;
    for (const suffix of ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"]) if (name.endsWith(suffix)) return `must not end with ${suffix} (reserved by S3)`;
    return undefined;
}

/** Why a name is not a valid IAM role name, or undefined. */
export function iamRoleNameProblem(name: string): string | undefined {
    if (name.length > 64) return `is ${name.length} characters; IAM role names are at most 64`;
    if (!/^[\w+=,.@-]+$/.test(name)) return "must be letters, digits and + = , . @ _ - (IAM)";
    return undefined;
}

/** Why a name is not a valid KMS alias, or undefined. */
export function kmsAliasProblem(alias: string): string | undefined {
    if (alias.length > 256) return `is ${alias.length} characters; KMS aliases are at most 256`;
    if (!/^alias\/[a-zA-Z0-9/_-]+$/.test(alias)) return "must be alias/ followed by letters, digits, '/', '_' and '-' (KMS)";
    if (alias.toLowerCase().startsWith("alias/aws/")) return "must not start with alias/aws/ (reserved for AWS managed keys)";
    return undefined;
}

/** Vault policy and role names this program writes: no spaces, globs or path separators. */
function vaultNameProblem(name: string): string | undefined {
    if (name.length > 128) return `is ${name.length} characters; keep Vault names to 128`;
    if (!/^[a-z0-9][a-z0-9._-]*$/.test(name)) return "must be lower-case letters, digits, '.', '_' and '-'";
    if (name === "root" || name === "default") return "is a policy Vault reserves (root, default)";
    return undefined;
}

function kubernetesSubdomainProblem(name: string): string | undefined {
    if (name.length > 253) return `is ${name.length} characters; Kubernetes object names are at most 253`;
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(name)) return "is not a DNS-1123 subdomain";
    return undefined;
}

/** Values each reference of a composed template stands for, as far as validation can know them. */
function probeValues(app: ParsedStackConfig["apps"][string]): Record<string, string> {
    const out: Record<string, string> = Object.create(null);
    for (const [key, s] of Object.entries(app.secrets)) {
        for (const p of expandProperties(key, s)) out[p.property] = s.source.kind === "plain" ? s.source.value : UNKNOWN;
    }
    return out;
}

/** A composed template rendered as the program will render it, with UNKNOWN for the values the rules cannot see. */
function probe(template: string, values: Record<string, string>, encode: "uri" | "none"): string {
    return template.replace(PLACEHOLDER, (_, name: string) => {
        const v = Object.hasOwn(values, name) ? values[name] : UNKNOWN;
        return encode === "uri" && v !== UNKNOWN ? encodeURIComponent(v) : v;
    });
}

/**
 * `c` is the parsed config (paths point into it); `resolved` the model made from it, whose derived
 * names (default ServiceAccounts, stores, Secrets, buckets, roles) the name rules check, so each
 * default is written once, in model.ts.
 */
export function checkRules(c: ParsedStackConfig, resolved: PlatformConfig, stack: string): Problem[] {
    const problems: Problem[] = [];
    const specs = new Map(resolved.apps.map((a) => [a.name, a]));
    const appSpec = (name: string): AppSpec => specs.get(name)!;
    const add = (path: (string | number)[], message: string) => problems.push({ path, message });

    const storeNames = new Map<string, string>();
    const generatedIds = new Set<string>();
    for (const [appName, app] of Object.entries(c.apps)) {
        const base = ["apps", appName];
        const envs = new Map<string, string>();
        const props = new Map<string, string>();
        // Secrets a composed value may reference: every non-composed property of the app.
        const referenceable = new Set<string>();
        const generatedProperties = new Set<string>();
        for (const [key, s] of Object.entries(app.secrets)) {
            const path = [...base, "secrets", key];
            // TLS material is files, never spliced into a URL.
            if (s.source.kind !== "composed" && s.source.kind !== "vault-pki-cert" && s.source.kind !== "ca-bundle") for (const p of expandProperties(key, s)) referenceable.add(p.property);
            if (isGenerated(s.source) || s.source.kind === "database") for (const p of expandProperties(key, s)) generatedProperties.add(p.property);
            if (isRotating(s.source) || rotates(s.source)) generatedIds.add(`${appName}/${key}`);
            for (const p of expandProperties(key, s)) {
                if (p.env !== undefined && p.env !== s.env) {
                    const why = secretDataKeyProblem(p.env);
                    if (why) add([...path, "env"], `becomes ${p.env.length > 60 ? `${p.env.slice(0, 60)}...` : p.env} for the ${p.slot} slot, which ${why}`);
                }
                if (p.env !== undefined) {
                    const other = envs.get(p.env);
                    if (other) add([...path, "env"], `env ${p.env} is already used by apps.${appName}.secrets.${other}`);
                    else envs.set(p.env, key);
                }
                const otherProp = props.get(p.property);
                if (otherProp) add([...path, "property"], `Vault property ${p.property} is already used by apps.${appName}.secrets.${otherProp}`);
                else props.set(p.property, key);
            }
            if (s.rotation === "dual-key" && !isGenerated(s.source)) {
                add([...path, "rotation"], "dual-key rotation needs a generated source (random-bytes or password)");
            }
            if (s.aliasPrimary && s.rotation !== "dual-key") add([...path, "aliasPrimary"], "aliasPrimary applies only to dual-key secrets");
            if (s.maxAgeDays !== undefined && !isRotating(s.source) && !rotates(s.source)) {
                add([...path, "maxAgeDays"], "only generated secrets, database passwords and issued certificates rotate on a schedule");
            }
            // An exemption from the schedule is a reviewed decision: its reason lives next to it.
            if (isRotating(s.source) && s.maxAgeDays === 0 && s.exemptReason === undefined) {
                add([...path, "exemptReason"], "is required when the secret is exempt from scheduled rotation (maxAgeDays 0): say why it cannot rotate on a schedule");
            }
            if (s.exemptReason !== undefined && !(isRotating(s.source) && s.maxAgeDays === 0)) {
                add([...path, "exemptReason"], "applies only to a generated secret or database password exempt from the schedule (maxAgeDays: 0)");
            }
            if (s.source.kind === "database") {
                const dbs = app.databases ?? {};
                if (!Object.hasOwn(dbs, s.source.database)) add([...path, "source", "database"], `names no database of apps.${appName}.databases`);
            }
        }
        // Every database has exactly one password entry: its rotation counter drives the user slots.
        for (const [db, d] of Object.entries(app.databases ?? {})) {
            const passwords = Object.entries(app.secrets).filter(([, s]) => s.source.kind === "database" && s.source.database === db && s.source.field === "password");
            if (passwords.length !== 1) add([...base, "databases", db], `needs exactly one secret with source { kind: database, database: ${db}, field: password } (found ${passwords.length})`);
            const forApp = Object.hasOwn(c.suppliedSecrets, appName) ? c.suppliedSecrets[appName] : undefined;
            if (!forApp || !Object.hasOwn(forApp, d.managerBootstrapSecret)) {
                add(["suppliedSecrets", appName, d.managerBootstrapSecret], `the bootstrap password of ${d.manager} (apps.${appName}.databases.${db}), used once before Vault rotates it; run: pulumi config set --stack ${stack} --secret --path 'suppliedSecrets.${appName}.${d.managerBootstrapSecret}' '<value>'`);
            }
            if (c.security.requireTls && ((d.engine === "postgresql" && !["require", "verify-ca", "verify-full"].includes(d.sslmode)) || (d.engine === "redis" && !d.tls))) {
                add([...base, "databases", db, d.engine === "postgresql" ? "sslmode" : "tls"], "must use TLS (security.requireTls): sslmode require or stronger for Postgres, tls: true for Redis");
            }
        }
        const values = probeValues(app);
        if (Object.keys(app.secrets).length === 0 && appSpec(appName).granted.length === 0) add([...base, "secrets"], "an app needs at least one secret (or a grant of another app's)");
        const grantedEnvs = appSpec(appName).granted.some((g) => g.properties.some((p) => p.env !== undefined));
        if (app.delivery !== "vault" && !grantedEnvs && !Object.values(app.secrets).some((s) => expandProperties("x", s).some((p) => p.env !== undefined))) {
            add([...base, "secrets"], "no secret has an env key, so the app's ExternalSecret would sync nothing into its Secret: give at least one secret an env");
        }
        for (const [key, s] of Object.entries(app.secrets)) {
            const path = [...base, "secrets", key];
            if (s.source.kind === "composed") {
                const template = s.source.template;
                if (/[{}]/.test(template.replace(PLACEHOLDER, ""))) add([...path, "source", "template"], "has an unmatched '{' or '}'");
                const refs = templateReferences(template);
                if (refs.length === 0) add([...path, "source", "template"], "references no secret: use a plain source for a fixed value");
                for (const ref of refs) {
                    const target = Object.hasOwn(app.secrets, ref) ? app.secrets[ref].source : undefined;
                    if (!referenceable.has(ref)) {
                        add([...path, "source", "template"], `references {${ref}}, which is not a non-composed secret of apps.${appName}`);
                    } else if (target?.kind === "supplied" && !target.required) {
                        // An optional value may be unset, and then the value cannot be composed at all.
                        add([...path, "source", "template"], `references {${ref}}, an optional supplied secret: make it required or compose without it`);
                    }
                }
                // Unencoded generated values (base64 '+/=', password punctuation) break URL parsing.
                if (s.source.encode === "none" && isUrl(template) && refs.some((r) => generatedProperties.has(r))) {
                    add([...path, "source", "encode"], "must be uri for a URL that embeds a generated value, or the value may not parse back out of it");
                }
                const rendered = probe(template, values, s.source.encode);
                if (c.security.requireTls) {
                    const why = tlsViolation(rendered);
                    if (why) add([...path, "source", "template"], why);
                }
                if (literalPassword(rendered)) {
                    add([...path, "source", "template"], "carries a literal password, a secret in plaintext in the stack file: reference a password or supplied secret instead ({db_password})");
                }
            }
            if (s.source.kind === "plain") {
                if (c.security.requireTls) {
                    const why = tlsViolation(s.source.value);
                    if (why) add([...path, "source", "value"], why);
                }
                if (literalPassword(s.source.value)) {
                    add([...path, "source", "value"], "carries a literal password, a secret in plaintext in the stack file: make the password a password or supplied secret and compose the value");
                }
            }
            if (s.source.kind === "supplied") {
                const forApp = Object.hasOwn(c.suppliedSecrets, appName) ? c.suppliedSecrets[appName] : undefined;
                const given = forApp && Object.hasOwn(forApp, key) ? forApp[key] : undefined;
                if (given === undefined && s.source.required) {
                    const configPath = `suppliedSecrets.${appName}.${key}`;
                    add(["suppliedSecrets", appName, key], `required by apps.${appName}.secrets.${key} and not set; run: pulumi config set --stack ${stack} --secret --path '${configPath}' '<value>'`);
                }
            }
        }
        // Backups: one ServiceAccount per target, distinct from the reader.
        const spec = appSpec(appName);
        const sas = new Map<string, string>();
        for (const b of spec.backups) {
            const path = [...base, "backups", b.target, "serviceAccount"];
            if (b.serviceAccount === spec.readerServiceAccount) add(path, `${b.serviceAccount} is the app's secrets reader; a backup job needs its own ServiceAccount`);
            const other = sas.get(b.serviceAccount);
            if (other) add(path, `${b.serviceAccount} is already the ServiceAccount of backups.${other}; each target needs its own role`);
            else sas.set(b.serviceAccount, b.target);
            const bucketWhy = s3BucketNameProblem(b.bucketName);
            if (bucketWhy) add([...base, "backups", b.target], b.bucketName.length > 63 ? `bucket name ${b.bucketName} is longer than S3's 63 characters` : `bucket name ${b.bucketName} ${bucketWhy}`);
            const roleWhy = iamRoleNameProblem(b.roleName);
            if (roleWhy) add([...base, "backups", b.target], b.roleName.length > 64 ? `IAM role name ${b.roleName} is longer than IAM's 64 characters` : `IAM role name ${b.roleName} ${roleWhy}`);
        }
        // Cluster-scoped store names must not collide across apps.
        if (c.kubernetes.externalSecrets.storeKind === "ClusterSecretStore") {
            const other = storeNames.get(spec.storeName);
            if (other) add([...base, "storeName"], `ClusterSecretStore ${spec.storeName} is already apps.${other}'s`);
            else storeNames.set(spec.storeName, appName);
        }
    }

    // Apps sharing a namespace: one owner for the Namespace, and no two Kubernetes objects of the
    // same kind and name (two ExternalSecrets fighting over one Secret, one reader for two roles).
    const namespaceOwner = new Map<string, { app: string; manage: boolean }>();
    const namespacedNames = new Map<string, string>();
    for (const [appName, app] of Object.entries(c.apps)) {
        const base = ["apps", appName];
        const first = namespaceOwner.get(app.namespace);
        if (first && first.manage !== app.manageNamespace) {
            add([...base, "manageNamespace"], `apps.${first.app} shares namespace ${app.namespace} with manageNamespace ${first.manage}; apps sharing a namespace must agree`);
        } else if (!first) namespaceOwner.set(app.namespace, { app: appName, manage: app.manageNamespace });
        const spec = appSpec(appName);
        const objects: [string, string, (string | number)[]][] = [
            ["Secret", spec.secretName, [...base, "secretName"]],
            ["ServiceAccount", spec.readerServiceAccount, [...base, "serviceAccounts", "reader"]],
            ...spec.backups.map((b): [string, string, (string | number)[]] => ["ServiceAccount", b.serviceAccount, [...base, "backups", b.target, "serviceAccount"]]),
        ];
        if (c.kubernetes.externalSecrets.storeKind === "SecretStore") objects.push(["SecretStore", spec.storeName, [...base, "storeName"]]);
        for (const [kind, objectName, path] of objects) {
            const key = `${app.namespace}/${kind}/${objectName}`;
            const other = namespacedNames.get(key);
            // Within one app, the backup rules above already report a shared ServiceAccount.
            if (other && other !== appName) add(path, `${kind} ${objectName} in namespace ${app.namespace} is already apps.${other}'s`);
            else namespacedNames.set(key, appName);
        }
    }

    // A namespace this program owns (a managed app namespace) must not be one Helm creates for a
    // release: both would create it, and destroying the app would delete the release with it.
    const helmNamespaces = new Map<string, string>();
    if (c.reloader.enabled) helmNamespaces.set(c.reloader.namespace, "reloader.namespace");
    if (c.kubernetes.externalSecrets.install.enabled) helmNamespaces.set(c.kubernetes.externalSecrets.install.namespace, "kubernetes.externalSecrets.install.namespace");
    for (const [appName, app] of Object.entries(c.apps)) {
        const release = helmNamespaces.get(app.namespace);
        if (app.manageNamespace && release) {
            add(["apps", appName, "namespace"], `${app.namespace} is ${release}, which Helm creates for its release; use another namespace or manageNamespace: false`);
        }
    }
    // Without watchGlobally, Reloader sees only its own namespace: every other app would never restart.
    if (c.reloader.enabled && !c.reloader.watchGlobally) {
        for (const [appName, app] of Object.entries(c.apps)) {
            if (app.namespace !== c.reloader.namespace) {
                add(["reloader", "watchGlobally"], `is false, so Reloader watches only ${c.reloader.namespace} and apps.${appName} (namespace ${app.namespace}) would never restart on rotation`);
            }
        }
    }
    // The Pulumi Vault provider, on the runners, must be told how to verify Vault's certificate too: a
    // runner has no platform CA in its system roots, and no workflow sets VAULT_CACERT.
    const providerCa = [c.vault.caCertFile !== undefined, c.vault.caFromSystemRoots].filter(Boolean).length;
    if (providerCa !== 1) {
        add(
            ["vault", "caCertFile"],
            `${providerCa === 0 ? "is required" : "conflicts"}: say exactly one way the Pulumi Vault provider verifies Vault's certificate: caCertFile (a PEM file in this repository) or caFromSystemRoots: true`,
        );
    } else if (c.vault.caCertFile !== undefined) {
        const problem = caFileProblem(c.vault.caCertFile);
        if (problem) add(["vault", "caCertFile"], problem);
    }
    // ESO must be told how to verify Vault's certificate, or every store login fails with an x509 error
    // after a perfectly successful `pulumi up` (Vault's certificate usually comes from a private CA).
    const eso = c.kubernetes.externalSecrets;
    const caChoices = [eso.vaultCaBundlePem !== undefined, eso.vaultCaProvider !== undefined, eso.vaultCaFromSystemRoots].filter(Boolean).length;
    if (caChoices !== 1) {
        add(
            ["kubernetes", "externalSecrets", "vaultCaProvider"],
            `${caChoices === 0 ? "is required" : "conflicts"}: say exactly one way ESO verifies Vault's certificate: vaultCaBundlePem, vaultCaProvider, or vaultCaFromSystemRoots: true`,
        );
    }
    if (eso.vaultCaProvider) {
        const cluster = eso.storeKind === "ClusterSecretStore";
        if (cluster && !eso.vaultCaProvider.namespace) add(["kubernetes", "externalSecrets", "vaultCaProvider", "namespace"], "is required with ClusterSecretStores");
        if (!cluster && eso.vaultCaProvider.namespace) add(["kubernetes", "externalSecrets", "vaultCaProvider", "namespace"], "must be absent with SecretStores: the CA is read from each app's namespace");
    }
    // Vault checks the reader tokens' issuer: when Vault reviews against the EKS cluster (no host of
    // its own), it must be that cluster's. A configured host is another API server with its own issuer.
    const vaultIssuer = c.vault.kubernetesAuth.issuer;
    if (c.aws && vaultIssuer !== undefined && c.vault.kubernetesAuth.host === undefined && vaultIssuer.replace(/\/$/, "") !== c.aws.eks.oidcIssuerUrl.replace(/\/$/, "")) {
        add(["vault", "kubernetesAuth", "issuer"], `is ${vaultIssuer}, but the cluster's issuer (aws.eks.oidcIssuerUrl) is ${c.aws.eks.oidcIssuerUrl}: every login would fail`);
    }

    // ESO strips a leading "<mount>/" from a key before adding "<mount>/data/", so a path prefix
    // starting with the mount's name would be read from the wrong path.
    if (`${c.vault.pathPrefix}/`.startsWith(`${c.vault.kv.path}/`)) {
        add(["vault", "pathPrefix"], `must not start with the KV mount path ${c.vault.kv.path}: External Secrets would strip it from the key`);
    }

    // Operator values that no catalog entry asks for are typos.
    const suppliedIds = Object.entries(c.apps).flatMap(([a, app]) => Object.entries(app.secrets).filter(([, s]) => s.source.kind === "supplied").map(([k]) => `${a}.${k}`));
    for (const [appName, given] of Object.entries(c.suppliedSecrets)) {
        for (const key of Object.keys(given)) {
            const app = Object.hasOwn(c.apps, appName) ? c.apps[appName] : undefined;
            const entry = app && Object.hasOwn(app.secrets, key) ? app.secrets[key] : undefined;
            const bootstrap = app && Object.values(app.databases ?? {}).some((d) => d.managerBootstrapSecret === key);
            if (entry?.source.kind !== "supplied" && !bootstrap) {
                const near = nearest(`${appName}.${key}`, suppliedIds);
                add(["suppliedSecrets", appName, key], `no supplied secret apps.${appName}.secrets.${key} in the catalog${near ? `; did you mean suppliedSecrets.${near}?` : ""}`);
            }
        }
    }
    for (const id of Object.keys(c.rotation.generations)) {
        if (!generatedIds.has(id)) {
            const near = nearest(id, generatedIds);
            add(["rotation", "generations", id], `names no generated secret: use "<app>/<secret>" of a random-bytes or password secret${near ? ` (did you mean ${near}?)` : ""}`);
        }
    }

    // AWS only where the stack needs it: backups (KMS key, buckets, roles), or a Kubernetes auth
    // backend whose API host, CA or issuer is left to the EKS lookup. Other clusters need no AWS.
    const backupApps = Object.entries(c.apps).filter(([, a]) => Object.keys(a.backups ?? {}).length > 0).map(([n]) => n);
    if (backupApps.length > 0) {
        if (!c.aws) add(["aws"], `is required: apps ${backupApps.join(", ")} have backups (S3 buckets, KMS key and IAM roles in the stack's AWS account)`);
        if (!c.backup) add(["backup"], `is required: apps ${backupApps.join(", ")} have backups (bucketPrefix, retentionDays, noncurrentVersionDays)`);
    }
    const k8sAuth = c.vault.kubernetesAuth;
    if (!c.aws && k8sAuth.manage) {
        for (const [key, what] of [["host", "its API server URL"], ["caCertPem", "its API server's CA (PEM)"], ["issuer", "its service account issuer"]] as const) {
            if (k8sAuth[key] === undefined) add(["vault", "kubernetesAuth", key], `is required without aws.eks (the EKS lookup): ${what}, for Vault's reviews of the reader tokens`);
        }
    }
    if (c.backup && c.backup.noncurrentVersionDays > c.backup.retentionDays) {
        add(["backup", "noncurrentVersionDays"], `must not exceed backup.retentionDays (${c.backup.retentionDays})`);
    }
    if (c.backup && c.backup.objectLock.enabled && c.backup.objectLock.days > c.backup.retentionDays) {
        add(["backup", "objectLock", "days"], `must not exceed backup.retentionDays (${c.backup.retentionDays}): lifecycle cannot expire locked versions`);
    }
    if (c.reloader.ha && c.reloader.replicas < 2) add(["reloader", "replicas"], "must be at least 2 when reloader.ha is true");
    // Without leader election every replica acts: each change would restart workloads once per replica.
    if (!c.reloader.ha && c.reloader.replicas > 1) add(["reloader", "replicas"], "must be 1 when reloader.ha is false (replicas without leader election each restart every workload)");
    if (c.vault.kubernetesAuth.tokenMaxTtlSeconds < c.vault.kubernetesAuth.tokenTtlSeconds) {
        add(["vault", "kubernetesAuth", "tokenMaxTtlSeconds"], "must be at least tokenTtlSeconds");
    }
    // Check-and-set needs each write to carry the secret's current version, which a declarative
    // write cannot know: every rotation after the first would fail. (The Vault component docs say more.)
    if (durationSeconds(c.kubernetes.externalSecrets.refreshInterval) <= 0) {
        add(["kubernetes", "externalSecrets", "refreshInterval"], "must be greater than 0");
    }
    // The most common IRSA mistake: a provider ARN and issuer URL that name different clusters.
    const issuerHost = c.aws?.eks.oidcIssuerUrl.replace(/^https:\/\//, "").replace(/\/$/, "");
    const arnHost = c.aws?.eks.oidcProviderArn.split(":oidc-provider/")[1];
    if (c.aws && arnHost !== issuerHost) {
        add(["aws", "eks", "oidcIssuerUrl"], `names ${issuerHost}, but aws.eks.oidcProviderArn federates ${arnHost}`);
    }
    problems.push(...crossCatalogRules(c, resolved));
    problems.push(...tlsCatalogRules(c, resolved));
    problems.push(...deliveryRules(c, resolved), ...grantRules(c), ...derivedKeyRules(c));
    return problems;
}

/**
 * `vault` delivery: the role binds the app's own workload ServiceAccounts, never the reader ESO
 * logs in as, and the names it adds (role, ConfigMap, bindings) have one owner each.
 */
function deliveryRules(c: ParsedStackConfig, resolved: PlatformConfig): Problem[] {
    const problems: Problem[] = [];
    const add = (path: (string | number)[], message: string) => problems.push({ path, message });
    const owners = new Map<string, string>();
    const claim = (kind: string, name: string, owner: string, path: (string | number)[]) => {
        const other = owners.get(`${kind}\u0000${name}`);
        if (other !== undefined && other !== owner) add(path, `${kind} ${name} is also ${other}'s: two resources cannot share it`);
        else owners.set(`${kind}\u0000${name}`, owner);
    };
    // The readers' names first, unreported here (crossCatalogRules reports their collisions).
    for (const app of resolved.apps) {
        owners.set(`Vault Kubernetes auth role\u0000${app.vaultRoleName}`, `apps.${app.name}`);
        owners.set(`ClusterRoleBinding\u0000${app.authDelegatorBindingName}`, `apps.${app.name}`);
    }
    for (const app of resolved.apps) {
        const base = ["apps", app.name];
        const workloads = c.apps[app.name].serviceAccounts.workloads;
        if (app.delivery === "externalSecret") {
            if (workloads !== undefined) add([...base, "serviceAccounts", "workloads"], "binds a Vault role only with delivery vault or both: set delivery, or remove the workloads");
            continue;
        }
        if (app.workloadServiceAccounts.length === 0) {
            add([...base, "serviceAccounts", "workloads"], `is required with delivery ${app.delivery}: the app's own ServiceAccounts, the only ones its Vault role binds`);
        }
        const seen = new Set<string>();
        app.workloadServiceAccounts.forEach((sa, i) => {
            const path = [...base, "serviceAccounts", "workloads", i];
            if (seen.has(sa)) add(path, `${sa} is listed twice`);
            seen.add(sa);
            if (sa === app.readerServiceAccount) add(path, `${sa} is the app's secrets reader (External Secrets' login); a workload needs its own ServiceAccount`);
            if (app.backups.some((b) => b.serviceAccount === sa)) add(path, `${sa} is a backup job's ServiceAccount, which must not read the app's secrets`);
            claim("ClusterRoleBinding", authDelegatorBindingName(app.namespace, sa), `apps.${app.name}`, path);
        });
        claim("Vault Kubernetes auth role", app.workloadRoleName, `apps.${app.name}`, base);
        const why = vaultNameProblem(app.workloadRoleName);
        if (why) add(base, `Vault role ${app.workloadRoleName} ${why}`);
        claim("ConfigMap", `${app.namespace}/${app.vaultLogin.configMapName}`, `apps.${app.name}`, [...base, "vaultLogin", "configMapName"]);
        if (app.vaultLogin.addressKey === app.vaultLogin.roleKey) add([...base, "vaultLogin", "roleKey"], `must differ from addressKey (${app.vaultLogin.addressKey})`);
        for (const fixed of VAULT_LOGIN_FIXED_KEYS) {
            for (const k of ["addressKey", "roleKey"] as const) {
                if (app.vaultLogin[k] === fixed) add([...base, "vaultLogin", k], `${fixed} is a key the login ConfigMap already holds`);
            }
        }
    }
    return problems;
}

/** ConfigMap keys of a `vault` app's login ConfigMap besides its address and role keys. */
export const VAULT_LOGIN_FIXED_KEYS = ["VAULT_AUTH_PATH", "VAULT_KV_MOUNT", "VAULT_KV_PATH", "VAULT_NAMESPACE", "VAULT_KV_GRANTS", "VAULT_KV_VERSION"] as const;

/**
 * Grants: each names a consumer of the catalog other than the owner, once per secret; the
 * consumer's Secret keys stay unique; a consumer reading through an ExternalSecret gets a key.
 */
function grantRules(c: ParsedStackConfig): Problem[] {
    const problems: Problem[] = [];
    const add = (path: (string | number)[], message: string) => problems.push({ path, message });
    const appNames = Object.keys(c.apps);
    // Secret keys each consumer's ExternalSecret already writes.
    const envOwners = new Map<string, Map<string, string>>();
    for (const [appName, app] of Object.entries(c.apps)) {
        const envs = new Map<string, string>();
        for (const [key, s] of Object.entries(app.secrets)) for (const p of expandProperties(key, s)) if (p.env !== undefined) envs.set(p.env, `apps.${appName}.secrets.${key}`);
        envOwners.set(appName, envs);
    }
    for (const [owner, app] of Object.entries(c.apps)) {
        for (const [key, s] of Object.entries(app.secrets)) {
            const seen = new Map<string, number>();
            s.grants.forEach((g, i) => {
                const path = ["apps", owner, "secrets", key, "grants", i];
                if (!Object.hasOwn(c.apps, g.app)) {
                    const near = nearest(g.app, appNames);
                    add([...path, "app"], `no app ${g.app} in the catalog${near ? ` (did you mean ${near}?)` : ""}`);
                    return;
                }
                if (g.app === owner) {
                    add([...path, "app"], `${owner} owns ${owner}/${key}: granting an app its own secret is a grant cycle`);
                    return;
                }
                const first = seen.get(g.app);
                if (first !== undefined) {
                    const name = (j: number) => s.grants[j].env ?? s.env ?? key;
                    add([...path, "app"], `${g.app} is already granted ${owner}/${key} (grants.${first}, as ${name(first)}); a consumer is granted a secret once, under one name, not also as ${name(i)}`);
                    return;
                }
                seen.set(g.app, i);
                const consumer = c.apps[g.app];
                const env = g.env ?? s.env;
                if (env === undefined) {
                    if (consumer.delivery !== "vault") add([...path, "env"], `is required: ${g.app} reads through an ExternalSecret, and ${owner}/${key} has no env to default to`);
                    return;
                }
                for (const p of expandProperties(key, { ...s, env })) {
                    if (p.env === undefined) continue;
                    const why = secretDataKeyProblem(p.env);
                    if (why) add([...path, "env"], `becomes ${p.env.slice(0, 60)} for the ${p.slot} slot, which ${why}`);
                    const envs = envOwners.get(g.app)!;
                    const other = envs.get(p.env);
                    if (other) add([...path, "env"], `${g.app}'s Secret key ${p.env} is already ${other}'s`);
                    else envs.set(p.env, `apps.${owner}.secrets.${key}.grants.${i}`);
                }
            });
            if (s.grants.length > 0 && s.source.kind === "supplied" && !s.source.required) {
                add(["apps", owner, "secrets", key, "grants"], "grants an optional supplied secret: a consumer would read a path that may not exist; make it required");
            }
        }
    }
    return problems;
}

/**
 * Derived keys (`jwt`): the signing key is a generated secret of the same app with a scheduled
 * rotation (the token's exp is that rotation); following signing keys never loops.
 */
function derivedKeyRules(c: ParsedStackConfig): Problem[] {
    const problems: Problem[] = [];
    const add = (path: (string | number)[], message: string) => problems.push({ path, message });
    for (const [appName, app] of Object.entries(c.apps)) {
        for (const [key, s] of Object.entries(app.secrets)) {
            if (s.source.kind !== "jwt") continue;
            const path = ["apps", appName, "secrets", key, "source", "signingKey"];
            // Follow the chain of signing keys: a loop is a cycle, whatever its length.
            const chain = [key];
            let current = s.source.signingKey;
            let problem: string | undefined;
            for (;;) {
                if (chain.includes(current)) {
                    problem = `derives from itself: ${[...chain, current].map((k) => `${appName}/${k}`).join(" -> ")} is a cycle`;
                    break;
                }
                const next = Object.hasOwn(app.secrets, current) ? app.secrets[current] : undefined;
                if (!next) {
                    const near = nearest(current, Object.keys(app.secrets));
                    problem = `names no secret of apps.${appName}${near ? ` (did you mean ${near}?)` : ""}: a JWT is signed with a secret of its own app`;
                    break;
                }
                if (next.source.kind !== "jwt") break;
                chain.push(current);
                current = next.source.signingKey;
            }
            if (problem) {
                add(path, problem);
                continue;
            }
            const signer = app.secrets[s.source.signingKey];
            if (!isGenerated(signer.source)) {
                add(path, `${s.source.signingKey} is ${signer.source.kind}: a JWT is signed with a generated secret (random-bytes or password), whose rotation re-derives it`);
                continue;
            }
            const maxAge = signer.maxAgeDays ?? c.rotation.maxAgeDays;
            if (maxAge <= 0) add(path, `${s.source.signingKey} has no scheduled rotation (maxAgeDays 0), so the token would have no expiry: give it a maxAgeDays`);
        }
    }
    return problems;
}

/**
 * Rules over the whole catalog's resolved names and settings: every derived name two apps could
 * share, checked by the name the target system sees; names against those systems' own rules;
 * settings components used to check after registration had begun.
 */
function crossCatalogRules(c: ParsedStackConfig, resolved: PlatformConfig): Problem[] {
    const problems: Problem[] = [];
    const add = (path: (string | number)[], message: string) => problems.push({ path, message });

    // One name, one owner. Keys are normalised as the target compares them (IAM role names are
    // case-insensitive).
    const owners = new Map<string, string>();
    const claim = (kind: string, name: string, owner: string, path: (string | number)[]) => {
        const key = `${kind}\u0000${kind === "IAM role" ? name.toLowerCase() : name}`;
        const other = owners.get(key);
        if (other !== undefined && other !== owner) add(path, `${kind} ${name} is also ${other}'s: two resources cannot share it`);
        else owners.set(key, owner);
    };
    const pipeline = pipelinePolicyNames(resolved);
    claim("Vault policy", pipeline.rotator, "the pipeline's rotator policy", ["environment"]);
    claim("Vault policy", pipeline.preview, "the pipeline's preview policy", ["environment"]);
    for (const app of resolved.apps) {
        const base = ["apps", app.name];
        const owner = `apps.${app.name}`;
        for (const b of app.backups) {
            claim("S3 bucket", b.bucketName, `apps.${app.name}.backups.${b.target}`, [...base, "backups", b.target]);
            claim("IAM role", b.roleName, `apps.${app.name}.backups.${b.target}`, [...base, "backups", b.target]);
        }
        claim("ClusterRoleBinding", app.authDelegatorBindingName, owner, [...base, "serviceAccounts", "reader"]);
        claim("Vault policy", app.readPolicyName, owner, base);
        claim("Vault Kubernetes auth role", app.vaultRoleName, owner, base);
        const bindingWhy = kubernetesSubdomainProblem(app.authDelegatorBindingName);
        if (bindingWhy) add([...base, "serviceAccounts", "reader"], `makes the ClusterRoleBinding name ${app.authDelegatorBindingName.slice(0, 80)}..., which ${bindingWhy}`);
        for (const [what, name] of [
            ["read policy", app.readPolicyName],
            ["Vault role", app.vaultRoleName],
        ] as const) {
            const why = vaultNameProblem(name);
            if (why) add(base, `${what} ${name} ${why}`);
        }
    }
    if (resolved.apps.some((a) => a.backups.length > 0)) {
        const why = kmsAliasProblem(resolved.backupKeyAlias);
        if (why) add(["backup", "bucketPrefix"], `makes the KMS alias ${resolved.backupKeyAlias}, which ${why}`);
    }

    // Vault reviews a login with the login token itself: an audience equal to the API server's would
    // make every API token of the reader a Vault login token.
    const k = c.vault.kubernetesAuth;
    if (k.audience === k.apiServerAudience) {
        add(["vault", "kubernetesAuth", "audience"], `must differ from vault.kubernetesAuth.apiServerAudience (${k.apiServerAudience}): the audience is what tells a Vault login token from an API token`);
    }

    // Requests above limits are refused by the API server at install time, after everything else.
    const r = c.reloader.resources;
    for (const res of ["cpu", "memory"] as const) {
        const request = parseQuantity(r.requests[res]);
        const limit = parseQuantity(r.limits[res]);
        if (request !== undefined && limit !== undefined && limit < request) {
            add(["reloader", "resources", "limits", res], `${r.limits[res]} is below the request ${r.requests[res]}: Kubernetes refuses a limit below its request`);
        }
    }

    // The cluster's issuer names its region; a cluster in another region than the provider's is a
    // copy-paste from another stack.
    const issuerRegion = c.aws && /^https:\/\/oidc\.eks\.([^.]+)\./.exec(c.aws.eks.oidcIssuerUrl)?.[1];
    if (c.aws && issuerRegion && issuerRegion !== c.aws.region) {
        add(["aws", "eks", "oidcIssuerUrl"], `is an issuer of region ${issuerRegion}, but aws.region is ${c.aws.region}`);
    }
    return problems;
}

/** The project directory (Pulumi.yaml's), where the engine starts the Vault provider. */
const projectDir = path.resolve(__dirname, "..", "..");

/** A CA file that is not there, or holds no certificate, fails every Vault call on TLS: say so now. */
function caFileProblem(file: string): string | undefined {
    let text: string;
    try {
        text = readFileSync(path.join(projectDir, file), "utf8");
    } catch {
        return `${file} does not exist in the project directory (commit the CA's PEM there)`;
    }
    if (!/-----BEGIN CERTIFICATE-----/.test(text)) return `${file} holds no PEM certificate`;
    if (/PRIVATE KEY-----/.test(text)) return `${file} holds a private key: commit only the CA certificate`;
    return undefined;
}
