/**
 * Cross-field rules the schema alone cannot express. Each returns problems by config path, so the
 * operator sees every mistake at once, next to the key that holds it.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { durationSeconds, ParsedStackConfig } from "./schema";
import { AppSpec, expandProperties, isGenerated, PlatformConfig } from "./model";

export interface Problem {
    path: (string | number)[];
    message: string;
}

const PLACEHOLDER = /\{([^{}]*)\}/g;

/** The `{name}` references of a composed template. */
export function templateReferences(template: string): string[] {
    return [...template.matchAll(PLACEHOLDER)].map((m) => m[1]);
}

/** Postgres sslmodes that encrypt the connection. */
const TLS_SSLMODES = new Set(["require", "verify-ca", "verify-full"]);
/** Schemes with a TLS twin, which requireTls demands instead. */
const PLAINTEXT_SCHEMES: Record<string, string> = {
    "redis:": "rediss://",
    "http:": "https://",
    "amqp:": "amqps://",
    "mongodb:": "mongodb+srv:// or tls=true",
    "ldap:": "ldaps://",
};

function isUrl(template: string): boolean {
    try {
        return new URL(template.replace(PLACEHOLDER, "x")).protocol.length > 1;
    } catch {
        return false;
    }
}

/** Why a composed URL fails the TLS requirement, or undefined if it passes (or is not a URL). */
export function tlsViolation(template: string): string | undefined {
    // Stand in a URL-safe token for every reference so the template's own structure is what is parsed.
    const probe = template.replace(PLACEHOLDER, "x");
    let url: URL;
    try {
        url = new URL(probe);
    } catch {
        return undefined;
    }
    if (url.protocol === "postgres:" || url.protocol === "postgresql:") {
        const mode = url.searchParams.get("sslmode");
        return mode && TLS_SSLMODES.has(mode) ? undefined : "security.requireTls needs sslmode=require, verify-ca or verify-full in a Postgres DSN";
    }
    const twin = PLAINTEXT_SCHEMES[url.protocol];
    return twin ? `security.requireTls needs ${twin} instead of ${url.protocol}//` : undefined;
}

/**
 * `c` is the parsed config (paths point into it); `resolved` the model made from it, whose derived
 * names (default ServiceAccounts, stores, Secrets, buckets, roles) the name rules check, so each
 * default is written once, in model.ts.
 */
export function checkRules(c: ParsedStackConfig, resolved: PlatformConfig, stack: string): Problem[] {
    const problems: Problem[] = [];
    const appSpec = (name: string): AppSpec => resolved.apps.find((a) => a.name === name)!;
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
            if (s.source.kind !== "composed") for (const p of expandProperties(key, s)) referenceable.add(p.property);
            if (isGenerated(s.source)) for (const p of expandProperties(key, s)) generatedProperties.add(p.property);
            if (isGenerated(s.source)) generatedIds.add(`${appName}/${key}`);
            for (const p of expandProperties(key, s)) {
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
            if (s.maxAgeDays !== undefined && !isGenerated(s.source)) {
                add([...path, "maxAgeDays"], "only generated secrets rotate on a schedule");
            }
        }
        for (const [key, s] of Object.entries(app.secrets)) {
            const path = [...base, "secrets", key];
            if (s.source.kind === "composed") {
                const template = s.source.template;
                if (/[{}]/.test(template.replace(PLACEHOLDER, ""))) add([...path, "source", "template"], "has an unmatched '{' or '}'");
                const refs = templateReferences(template);
                if (refs.length === 0) add([...path, "source", "template"], "references no secret: use a plain source for a fixed value");
                for (const ref of refs) {
                    const target = app.secrets[ref]?.source;
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
                if (c.security.requireTls) {
                    const why = tlsViolation(template);
                    if (why) add([...path, "source", "template"], why);
                }
            }
            if (s.source.kind === "plain" && c.security.requireTls) {
                const why = tlsViolation(s.source.value);
                if (why) add([...path, "source", "value"], why);
            }
            if (s.source.kind === "supplied") {
                const given = c.suppliedSecrets[appName]?.[key];
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
            if (b.bucketName.length > 63) add([...base, "backups", b.target], `bucket name ${b.bucketName} is longer than S3's 63 characters`);
            if (b.roleName.length > 64) add([...base, "backups", b.target], `IAM role name ${b.roleName} is longer than IAM's 64 characters`);
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
    if (vaultIssuer !== undefined && c.vault.kubernetesAuth.host === undefined && vaultIssuer.replace(/\/$/, "") !== c.aws.eks.oidcIssuerUrl.replace(/\/$/, "")) {
        add(["vault", "kubernetesAuth", "issuer"], `is ${vaultIssuer}, but the cluster's issuer (aws.eks.oidcIssuerUrl) is ${c.aws.eks.oidcIssuerUrl}: every login would fail`);
    }

    // ESO strips a leading "<mount>/" from a key before adding "<mount>/data/", so a path prefix
    // starting with the mount's name would be read from the wrong path.
    if (`${c.vault.pathPrefix}/`.startsWith(`${c.vault.kv.path}/`)) {
        add(["vault", "pathPrefix"], `must not start with the KV mount path ${c.vault.kv.path}: External Secrets would strip it from the key`);
    }

    // Operator values that no catalog entry asks for are typos.
    for (const [appName, values] of Object.entries(c.suppliedSecrets)) {
        for (const key of Object.keys(values)) {
            if (c.apps[appName]?.secrets[key]?.source.kind !== "supplied") {
                add(["suppliedSecrets", appName, key], `no supplied secret apps.${appName}.secrets.${key} in the catalog`);
            }
        }
    }
    for (const id of Object.keys(c.rotation.generations)) {
        if (!generatedIds.has(id)) add(["rotation", "generations", id], `names no generated secret: use "<app>/<secret>" of a random-bytes or password secret`);
    }

    if (c.backup.noncurrentVersionDays > c.backup.retentionDays) {
        add(["backup", "noncurrentVersionDays"], `must not exceed backup.retentionDays (${c.backup.retentionDays})`);
    }
    if (c.backup.objectLock.enabled && c.backup.objectLock.days > c.backup.retentionDays) {
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
    const issuerHost = c.aws.eks.oidcIssuerUrl.replace(/^https:\/\//, "").replace(/\/$/, "");
    const arnHost = c.aws.eks.oidcProviderArn.split(":oidc-provider/")[1];
    if (arnHost !== issuerHost) {
        add(["aws", "eks", "oidcIssuerUrl"], `names ${issuerHost}, but aws.eks.oidcProviderArn federates ${arnHost}`);
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
