/**
 * The stack configuration, as data: one zod schema for every `platform-secrets:*` key of a
 * Pulumi.<stack>.yaml, with the defaults the README's config reference lists.
 *
 * Everything that differs between environments is a setting here; code never branches on the
 * stack's name. Every object is strict, so a typo in a key is an error, not a silent default.
 * Cross-field rules (references between secrets, uniqueness, required operator secrets) live in
 * rules.ts, run after this schema has parsed.
 */
import { z } from "zod";

/** A Kubernetes object name / DNS-1123 label (namespaces, ServiceAccounts, Secrets). */
export const dnsLabel = z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "must be a DNS-1123 label (lower-case letters, digits and '-')")
    .max(63, "must be at most 63 characters");

/** A Kubernetes Secret key: an env var name (SOMA_API_TOKEN) or a file name (session_key). */
const secretKeyName = z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an env var name: letters, digits and '_', not starting with a digit");

/** A Vault KV property / catalog key (soma_api_token). */
export const propertyName = z
    .string()
    .regex(/^[a-z][a-z0-9_]*$/, "must be lower snake_case (a-z, 0-9, '_')");

/** A Vault or URL path segment (shared-infra, secret). */
const pathSegment = z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)*$/, "must be a path without leading or trailing '/'");

/** A Go duration as ESO and Vault read them (1h, 15m, 90s); never zero. */
export const goDuration = z
    .string()
    .regex(/^([0-9]+(ns|us|ms|s|m|h))+$/, "must be a duration such as 1h, 15m or 30s")
    .refine((d) => durationSeconds(d) > 0, "must be greater than 0 (ESO ignores force-sync with a refreshInterval of 0)");

export function durationSeconds(d: string): number {
    const unit: Record<string, number> = { ns: 1e-9, us: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
    let total = 0;
    for (const m of d.matchAll(/([0-9]+)(ns|us|ms|s|m|h)/g)) total += Number(m[1]) * unit[m[2]];
    return total;
}

const httpsUrl = z.url({ protocol: /^https$/, error: "must be an https:// URL" });
const semver = z.string().regex(/^v?[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$/, "must be an exact chart version such as 1.2.3");
const quantity = z.string().regex(/^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|k|M|G)?$/, "must be a Kubernetes quantity such as 100m or 128Mi");

// ---------------------------------------------------------------------------------------------
// The secrets catalog
// ---------------------------------------------------------------------------------------------

/** 32 random bytes as base64: the same as `openssl rand -base64 32`. */
const randomBytesSource = z
    .object({
        kind: z.literal("random-bytes"),
        /** Number of random bytes; 16 is the floor for any key or token. */
        bytes: z.number().int().min(16, "must be at least 16").max(1024),
        /** How the bytes are written: base64 (openssl's default), hex, or url-safe base64 without padding. */
        encoding: z.enum(["base64", "hex", "base64url"]).default("base64"),
    })
    .strict();

/** A password of N characters from a URL-safe alphabet unless `special` asks for more. */
const passwordSource = z
    .object({
        kind: z.literal("password"),
        length: z.number().int().min(16, "must be at least 16").max(256),
        /** Add punctuation. Composed URLs percent-encode it, so any value round-trips through a DSN. */
        special: z.boolean().default(false),
    })
    .strict();

/** A value built from other secrets of the same app: `{name}` is replaced by that secret. */
const composedSource = z
    .object({
        kind: z.literal("composed"),
        template: z.string().min(1),
        /** `uri` percent-encodes every substituted value (for DSNs and URLs); `none` inserts it as is. */
        encode: z.enum(["uri", "none"]).default("uri"),
    })
    .strict();

/** A value the operator supplies with `pulumi config set --secret` (a Hugging Face token). */
const suppliedSource = z
    .object({
        kind: z.literal("supplied"),
        /** A required value that is missing fails the preview with the command to run. */
        required: z.boolean().default(true),
    })
    .strict();

/** A non-secret setting versioned alongside the secrets (an endpoint URL). */
const plainSource = z
    .object({
        kind: z.literal("plain"),
        value: z.string(),
    })
    .strict();

export const secretSource = z.discriminatedUnion("kind", [
    randomBytesSource,
    passwordSource,
    composedSource,
    suppliedSource,
    plainSource,
]);

const catalogSecret = z
    .object({
        /** Key in the target Kubernetes Secret: the env var (SOMA_API_TOKEN) or file name it is exposed as. Omit to keep the value in Vault only. */
        env: secretKeyName.optional(),
        /** Vault KV property; defaults to the catalog key. */
        property: propertyName.optional(),
        source: secretSource,
        /**
         * `single`: one value, replaced on rotation. `dual-key`: two slots, `<key>_primary` and
         * `<key>_previous`, so values signed with the old key keep verifying (JWT signing keys).
         */
        rotation: z.enum(["single", "dual-key"]).default("single"),
        /** Also expose the primary under the plain key (runbook 004's legacy `jwt_secret`). dual-key only. */
        aliasPrimary: z.boolean().default(false),
        /** Overrides rotation.maxAgeDays for this secret; 0 disables scheduled rotation for it. */
        maxAgeDays: z.number().int().min(0).optional(),
        description: z.string().optional(),
    })
    .strict();

const backupTarget = z
    .object({
        /** ServiceAccount the backup CronJob runs as; defaults to `<app>-<target>-backup`. */
        serviceAccount: dnsLabel.optional(),
        /** Whether this program creates that ServiceAccount (false: the app's chart owns it, and only the role ARN is exported). */
        manageServiceAccount: z.boolean().default(true),
        /** Object key prefix the job writes under; defaults to `<target>/`. */
        prefix: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._\/-]*\/$/, "must be a key prefix ending in '/'").optional(),
    })
    .strict();

const app = z
    .object({
        namespace: dnsLabel,
        /** Create the namespace (true) or reference an existing one (false). */
        manageNamespace: z.boolean().default(false),
        /** Target Kubernetes Secret the ExternalSecret writes; defaults to `<app>-runtime-secrets`. */
        secretName: dnsLabel.optional(),
        serviceAccounts: z
            .object({
                /** The ServiceAccount External Secrets logs in to Vault as, for this app only. */
                reader: dnsLabel.optional(),
            })
            .strict()
            .prefault({}),
        /** SecretStore name; defaults to `<app>-vault-store`. Runbook 001 names soma-memory's `soma-vault-store`. */
        storeName: dnsLabel.optional(),
        /** Backup targets (postgres, qdrant): one encrypted bucket and one IRSA role each. */
        backups: z.record(dnsLabel, backupTarget).prefault({}),
        secrets: z.record(propertyName, catalogSecret).refine((s) => Object.keys(s).length > 0, "an app needs at least one secret"),
    })
    .strict();

// ---------------------------------------------------------------------------------------------
// Platform settings
// ---------------------------------------------------------------------------------------------

const vault = z
    .object({
        /** Vault server address for the provider and for the External Secrets store. */
        address: httpsUrl,
        /** Vault Enterprise namespace, if any. */
        namespace: z.string().optional(),
        /**
         * PEM bundle of the CA that signs Vault's certificate, for the Pulumi Vault provider: a file
         * committed in this repository, path relative to Pulumi.yaml (the provider resolves it in the
         * project directory, where the engine starts it). Not secret.
         */
        caCertFile: z
            .string()
            .regex(/^(?!\/)(?!.*(^|\/)\.\.(\/|$))[A-Za-z0-9._\/-]+\.(pem|crt)$/, "must be a .pem or .crt file inside the project, relative to Pulumi.yaml")
            .optional(),
        /** Vault's certificate chains to a public CA in the runner's system roots: no CA file needed. */
        caFromSystemRoots: z.boolean().default(false),
        kv: z
            .object({
                /** KV v2 mount path. */
                path: pathSegment.default("secret"),
                /** Create and own the mount (true), or use an existing one this program must not own (false). */
                manage: z.boolean().default(true),
                /** Versions kept per secret: the history an operator rolls a bad rotation back to. */
                maxVersions: z.number().int().min(1).max(1000).default(10),
            })
            .strict()
            .prefault({}),
        /** Path prefix under the mount: secrets live at <mount>/data/<prefix>/<app>/<env>. */
        pathPrefix: pathSegment.default("shared-infra"),
        kubernetesAuth: z
            .object({
                /** Auth backend path. */
                path: pathSegment.default("kubernetes"),
                /** Create and own the backend and its config (true), or use an existing one (false). */
                manage: z.boolean().default(true),
                /**
                 * Kubernetes API server Vault reviews tokens against; defaults to the endpoint of the EKS
                 * cluster `aws.eks.clusterName`. A configured host must be a name the API server's
                 * certificate covers (with the cluster's CA: the EKS endpoint itself).
                 */
                host: httpsUrl.optional(),
                /** PEM CA bundle of that API server (not secret); defaults to the EKS cluster's CA. */
                caCertPem: z.string().optional(),
                /** Service account token issuer Vault validates; defaults to `aws.eks.oidcIssuerUrl`. */
                issuer: httpsUrl.optional(),
                /** Audience the reader tokens must carry (the Vault role's `audience`). */
                audience: z.string().min(1).default("vault"),
                /**
                 * The API server's own audience, also requested on the reader tokens: Vault reviews a
                 * login with the login token itself, and the API server accepts it only if it carries one
                 * of its audiences (EKS: https://kubernetes.default.svc).
                 */
                apiServerAudience: z.string().min(1).default("https://kubernetes.default.svc"),
                /** Vault token TTL for the store's logins, in seconds. */
                tokenTtlSeconds: z.number().int().min(60).max(86400).default(600),
                tokenMaxTtlSeconds: z.number().int().min(60).max(86400).default(1800),
            })
            .strict()
            .prefault({}),
        audit: z
            .object({
                enabled: z.boolean().default(false),
                /** Audit device path (mount name). */
                path: pathSegment.default("file"),
                /** File the file device writes to (on the Vault server). */
                filePath: z.string().default("/vault/logs/audit.log"),
            })
            .strict()
            .prefault({}),
    })
    .strict();

const externalSecrets = z
    .object({
        install: z
            .object({
                /** Install the External Secrets Operator chart (false: the cluster already runs it). */
                enabled: z.boolean().default(false),
                /** `external-secrets` chart version (2.14.0: current as of 2026-10; serves external-secrets.io/v1). */
                chartVersion: semver.default("2.14.0"),
                namespace: dnsLabel.default("external-secrets"),
                repository: httpsUrl.default("https://charts.external-secrets.io"),
            })
            .strict()
            .prefault({}),
        /** ClusterSecretStore (one per app, limited to that app's namespace) or a namespaced SecretStore per app. */
        storeKind: z.enum(["ClusterSecretStore", "SecretStore"]).default("ClusterSecretStore"),
        /** How often ESO re-reads Vault; force-sync makes rotations immediate regardless. Must be above 0. */
        refreshInterval: goDuration.default("1h"),
        /** PEM CA bundle ESO uses to verify Vault's certificate (not secret). */
        vaultCaBundlePem: z.string().optional(),
        /**
         * Where ESO finds that CA in the cluster instead (ESO's caProvider): a ConfigMap or Secret key,
         * e.g. one trust-manager distributes. `namespace` only with ClusterSecretStores.
         */
        vaultCaProvider: z
            .object({ type: z.enum(["ConfigMap", "Secret"]), name: dnsLabel, key: z.string().min(1), namespace: dnsLabel.optional() })
            .strict()
            .optional(),
        /** Vault's certificate chains to a public CA in ESO's system roots: no bundle needed. */
        vaultCaFromSystemRoots: z.boolean().default(false),
    })
    .strict();

const kubernetes = z
    .object({
        /** kubeconfig context of the target cluster. */
        context: z.string().min(1).optional(),
        /** Path to a kubeconfig file; defaults to KUBECONFIG / ~/.kube/config. */
        kubeconfigPath: z.string().min(1).optional(),
        externalSecrets: externalSecrets.prefault({}),
        /**
         * Adopt objects that already exist in the cluster over the field managers that wrote them
         * (`pulumi.com/patchForce` on every object): for the first `up` of an environment the
         * runbooks set up by hand, then off again. README "Coming from the runbooks".
         */
        adoptExistingObjects: z.boolean().default(false),
    })
    .strict();

const resources = z
    .object({
        requests: z.object({ cpu: quantity.default("10m"), memory: quantity.default("64Mi") }).strict().prefault({}),
        limits: z.object({ cpu: quantity.default("100m"), memory: quantity.default("256Mi") }).strict().prefault({}),
    })
    .strict();

const reloader = z
    .object({
        enabled: z.boolean().default(true),
        /**
         * `reloader` chart version from the stakater repository. 2.2.16 (Reloader v1.4.21) is the newest
         * with evidence: chart-v2.2.16 in stakater/Reloader, published by its push-helm-chart workflow to
         * this index and oci://ghcr.io/stakater/charts. 2.2.17 could not be confirmed (docs/kubernetes.md).
         */
        chartVersion: semver.default("2.2.16"),
        repository: httpsUrl.default("https://stakater.github.io/stakater-charts"),
        namespace: dnsLabel.default("kube-utilities"),
        /** Run two replicas with leader election. */
        ha: z.boolean().default(false),
        replicas: z.number().int().min(1).max(5).default(1),
        /** Watch every namespace (true) or only the release namespace (false). */
        watchGlobally: z.boolean().default(true),
        resources: resources.prefault({}),
    })
    .strict();

const aws = z
    .object({
        region: z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-[0-9]$/, "must be an AWS region such as eu-west-1"),
        /** How backup jobs get AWS credentials: IRSA (OIDC web identity) or EKS Pod Identity. */
        identity: z.enum(["irsa", "pod-identity"]).default("irsa"),
        eks: z
            .object({
                clusterName: z.string().min(1),
                /** IAM OIDC provider ARN of the cluster (IRSA trust policies federate to it). */
                oidcProviderArn: z
                    .string()
                    .regex(/^arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider\/.+$/, "must be an IAM OIDC provider ARN"),
                /** The cluster's OIDC issuer URL (https://oidc.eks.<region>.amazonaws.com/id/<id>). */
                oidcIssuerUrl: httpsUrl,
            })
            .strict(),
        /** Tags on every AWS resource. */
        tags: z.record(z.string(), z.string()).prefault({}),
    })
    .strict();

const backup = z
    .object({
        /** Bucket names are <bucketPrefix>-<app>-<target>-<env>; S3 names are global, so make it yours. */
        bucketPrefix: z.string().regex(/^[a-z0-9][a-z0-9-]{1,30}[a-z0-9]$/, "must be 3-32 lower-case letters, digits or '-'"),
        /** Days a backup is kept. */
        retentionDays: z.number().int().min(1),
        /** Days a superseded (noncurrent) version is kept; shorter than retentionDays. */
        noncurrentVersionDays: z.number().int().min(1),
        objectLock: z
            .object({
                enabled: z.boolean().default(false),
                mode: z.enum(["GOVERNANCE", "COMPLIANCE"]).default("GOVERNANCE"),
                days: z.number().int().min(1).default(7),
            })
            .strict()
            .prefault({}),
        /** Let `pulumi destroy` delete non-empty buckets (dev only). */
        forceDestroy: z.boolean().default(false),
        /** Waiting period before a scheduled KMS key deletion takes effect. */
        kmsDeletionWindowDays: z.number().int().min(7).max(30).default(30),
    })
    .strict();

const rotation = z
    .object({
        /** Scheduled maximum age of a generated secret, in days; 0 turns scheduled rotation off. */
        maxAgeDays: z.number().int().min(0).max(3650).default(90),
        /** Start of the first rotation period (UTC). Periods of maxAgeDays follow back to back from it. */
        epoch: z.iso.date({ error: "must be a date YYYY-MM-DD" }).default("2026-01-01"),
        /** Manual rotation counter per secret, keyed "<app>/<secret>": bump by one to rotate that secret. */
        generations: z.record(z.string(), z.number().int().min(0)).prefault({}),
    })
    .strict();

const protection = z
    .object({
        /** Mark stateful resources (KV mount, KV data, buckets, KMS key) `protect`, so `pulumi destroy` stops at them. */
        protectStateful: z.boolean().default(false),
        /** Keep stateful resources in the cloud when they leave the program. */
        retainOnDelete: z.boolean().default(false),
    })
    .strict();

const security = z
    .object({
        /** Require TLS in every composed URL: sslmode=require or stronger for Postgres, rediss:// for Redis, https for HTTP. */
        requireTls: z.boolean().default(false),
    })
    .strict();

/** Operator-supplied secret values, `suppliedSecrets.<app>.<secret>`, set with `pulumi config set --secret --path`. */
const suppliedSecrets = z.record(z.string(), z.record(z.string(), z.string().min(1, "must not be empty")));

export const stackConfigSchema = z
    .object({
        /** Environment name used in paths and names (dev, prod, staging): data, never the stack's name. */
        environment: dnsLabel,
        apps: z.record(dnsLabel, app).refine((a) => Object.keys(a).length > 0, "at least one app is required"),
        vault,
        kubernetes: kubernetes.prefault({}),
        reloader: reloader.prefault({}),
        aws,
        backup,
        rotation: rotation.prefault({}),
        protection: protection.prefault({}),
        security: security.prefault({}),
        suppliedSecrets: suppliedSecrets.prefault({}),
    })
    .strict();

/** The parsed config with every default filled in. */
export type ParsedStackConfig = z.output<typeof stackConfigSchema>;
export type CatalogSecretConfig = z.output<typeof catalogSecret>;
export type SecretSourceConfig = z.output<typeof secretSource>;

/** Top-level keys, for Pulumi.yaml's declarations and the unknown-key check. */
export const topLevelKeys = Object.keys(stackConfigSchema.shape) as (keyof ParsedStackConfig)[];
