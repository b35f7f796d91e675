/**
 * The stack configuration, as data: one zod schema for every `platform-secrets:*` key of a
 * Pulumi.<stack>.yaml, with the defaults the README's config reference lists.
 *
 * Everything that differs between environments is a setting here; code never branches on the
 * stack's name. Every object is strict, so a typo in a key is an error, not a silent default.
 * Cross-field rules (references between secrets, uniqueness, required operator secrets) live in
 * rules.ts, run after this schema has parsed.
 */
import { X509Certificate } from "node:crypto";
import { posix } from "node:path";
import { z } from "zod";
import { caBundleProblem, PKI_KEY_BITS } from "./certificates";

/** Any string setting: an empty string is never a choice. */
export const text = z.string().min(1, "must not be empty");

/**
 * A map read as a map: every key is kept as the plain name it is (`constructor`, `__proto__` and
 * `toString` included), in an object without a prototype, so a lookup of an absent key is always
 * undefined. (z.record assigns keys onto an ordinary object, where `__proto__` vanishes.)
 */
export function mapOf<V extends z.ZodType>(key: z.ZodType<string>, value: V, what = "a mapping") {
    const schema = z.unknown().transform((input, ctx): Record<string, z.output<V>> => {
        if (input === null || typeof input !== "object" || Array.isArray(input)) {
            ctx.issues.push({ code: "custom", message: `must be ${what}`, input, path: [] });
            return z.NEVER;
        }
        const out = Object.create(null) as Record<string, z.output<V>>;
        for (const k of Object.keys(input)) {
            const kr = key.safeParse(k);
            if (!kr.success) for (const issue of kr.error.issues) ctx.issues.push({ ...issue, message: issue.message, path: [k], input: k } as never);
            const vr = value.safeParse((input as Record<string, unknown>)[k]);
            if (!vr.success) for (const issue of vr.error.issues) ctx.issues.push({ ...issue, path: [k, ...issue.path] } as never);
            else Object.defineProperty(out, k, { value: vr.data, enumerable: true, writable: true, configurable: true });
        }
        return out;
    });
    // For introspection (the README test walks the schema): what the map holds, as z.record's def says.
    Object.assign(schema._zod.def, { mapOf: { keyType: key, valueType: value } });
    return schema;
}

/** A Kubernetes DNS-1123 label: namespaces, app and environment names (they become label values too). */
export const dnsLabel = z
    .string()
    .max(63, "must be at most 63 characters (a Kubernetes DNS-1123 label)")
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "must be a DNS-1123 label (lower-case letters, digits and '-', starting and ending with a letter or digit)");

/** A Kubernetes object name (Secrets, ServiceAccounts, stores): a DNS-1123 subdomain. */
export const dnsSubdomain = z
    .string()
    .max(253, "must be at most 253 characters (a Kubernetes DNS-1123 subdomain)")
    .regex(
        /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
        "must be a DNS-1123 subdomain (lower-case letters, digits, '-' and '.', each dot-separated part starting and ending with a letter or digit)",
    );

/** Why a string is not a key of a Kubernetes Secret (or ConfigMap): up to 253 of [-._a-zA-Z0-9], not '.', '..' or '..'-prefixed. */
export function secretDataKeyProblem(key: string): string | undefined {
    if (key.length === 0) return "must not be empty";
    if (key.length > 253) return "must be at most 253 characters (a Kubernetes Secret key)";
    if (!/^[-._a-zA-Z0-9]+$/.test(key)) return "must be a Kubernetes Secret key: letters, digits, '-', '_' and '.'";
    if (key === "." || key === ".." || key.startsWith("..")) return "must not be '.', '..' or start with '..'";
    return undefined;
}

/** A key in a Kubernetes Secret: an env var name (SOMA_API_TOKEN) or a file name (session_key, tls.crt). */
const secretKeyName = z.string().superRefine((k, ctx) => {
    const why = secretDataKeyProblem(k);
    if (why) ctx.addIssue({ code: "custom", message: why });
});

/** A Vault KV property / catalog key (soma_api_token). */
export const propertyName = z
    .string()
    .max(128, "must be at most 128 characters")
    .regex(/^[a-z][a-z0-9_]*$/, "must be lower snake_case (a-z, 0-9, '_')");

/** Mounts every Vault has, which no KV mount may take. */
export const VAULT_RESERVED_MOUNTS = ["sys", "auth", "identity", "cubbyhole"];

/**
 * A Vault path (mount, prefix, auth path), normalised: leading and trailing '/' are dropped; every
 * segment starts with a letter or digit, so '.', '..' and glob characters (*, +) never pass.
 */
const vaultPath = z
    .string()
    .transform((p) => p.replace(/^\/+|\/+$/g, ""))
    .pipe(
        z
            .string()
            .min(1, "must not be empty")
            .max(256, "must be at most 256 characters")
            .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)*$/, "must be a Vault path: segments of letters, digits, '.', '_' and '-', each starting with a letter or digit (no '..', no globs, no empty segment)"),
    );

/** A Vault Enterprise namespace, normalised (no leading or trailing '/'), nested with '/'. */
const vaultNamespace = z
    .string()
    .transform((p) => p.replace(/^\/+|\/+$/g, ""))
    .pipe(
        z
            .string()
            .min(1, "must not be empty (omit it for the root namespace)")
            .regex(/^[A-Za-z0-9][A-Za-z0-9_-]*(\/[A-Za-z0-9][A-Za-z0-9_-]*)*$/, "must be a Vault namespace: segments of letters, digits, '_' and '-' (no '..', no globs, no spaces)")
            .refine((ns) => !ns.split("/").some((seg) => ["root", "sys", "audit", "auth", "cubbyhole", "identity"].includes(seg)), "uses a name Vault reserves (root, sys, audit, auth, cubbyhole, identity)"),
    );

/** A Go duration as ESO and Vault read them (1h, 15m, 90s); never zero. */
export const goDuration = z
    .string()
    .regex(/^([0-9]+(ns|us|ms|s|m|h))+$/, "must be a duration such as 1h, 15m or 30s")
    .refine((d) => durationSeconds(d) > 0, "must be greater than 0 (ESO ignores force-sync with a refreshInterval of 0)")
    .refine((d) => durationSeconds(d) <= 365 * 86400, "must be at most a year (8760h)");

export function durationSeconds(d: string): number {
    const unit: Record<string, number> = { ns: 1e-9, us: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
    let total = 0;
    for (const m of d.matchAll(/([0-9]+)(ns|us|ms|s|m|h)/g)) total += Number(m[1]) * unit[m[2]];
    return total;
}

/** Why a URL's host is not what it looks like, or undefined. */
export function hostProblem(raw: string): string | undefined {
    let url: URL;
    try {
        url = new URL(raw);
    } catch {
        return undefined;
    }
    if (url.hostname === "") return "must name a host";
    if (url.username !== "" || url.password !== "") return "must not carry credentials (user:password@): they would be plaintext in the stack file";
    // eslint-disable-next-line no-control-regex
    if (/[^\x21-\x7e]/.test(raw)) {
        return `must be ASCII: the host is really ${url.hostname} (punycode); a look-alike character never passes silently, so write the punycode form if that is the host you mean`;
    }
    return undefined;
}

/** An https URL whose host is plain ASCII (or punycode written out) and carries no credentials. */
const httpsUrl = z
    .string()
    .pipe(z.url({ protocol: /^https$/, error: "must be an https:// URL" }))
    .superRefine((u, ctx) => {
        const why = hostProblem(u);
        if (why) ctx.addIssue({ code: "custom", message: why });
    });

const semver = z.string().regex(/^v?[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$/, "must be an exact chart version such as 1.2.3");

/** Multipliers of Kubernetes quantity suffixes (resource.Quantity). */
const QUANTITY_SUFFIX: Record<string, number> = {
    "": 1, n: 1e-9, u: 1e-6, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
    Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

/** A Kubernetes quantity's value (512Mi → 536870912, 100m → 0.1, 1e3 → 1000), or undefined if it is not one. */
export function parseQuantity(q: string): number | undefined {
    const m = /^([+-]?)([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)|[eE]([+-]?[0-9]+))?$/.exec(q);
    if (!m) return undefined;
    const value = Number(m[2]) * (m[4] !== undefined ? 10 ** Number(m[4]) : QUANTITY_SUFFIX[m[3] ?? ""]);
    return m[1] === "-" ? -value : value;
}

/** A CPU quantity: 100m, 0.5, 2; at least 1m (Kubernetes' precision). */
const cpuQuantity = z.string().superRefine((q, ctx) => {
    const v = parseQuantity(q);
    if (v === undefined) ctx.addIssue({ code: "custom", message: "must be a Kubernetes CPU quantity such as 100m or 0.5" });
    else if (v < 0.001) ctx.addIssue({ code: "custom", message: "must be at least 1m (one thousandth of a CPU)" });
    else if (v > 1024) ctx.addIssue({ code: "custom", message: "must be at most 1024 CPUs" });
});

/** A memory quantity in whole bytes: 64Mi, 1Gi, 500M. `512m` is 0.512 bytes (m is milli), not megabytes. */
const memoryQuantity = z.string().superRefine((q, ctx) => {
    const v = parseQuantity(q);
    if (v === undefined) ctx.addIssue({ code: "custom", message: "must be a Kubernetes memory quantity such as 64Mi or 1Gi" });
    else if (!Number.isInteger(Math.round(v * 1e6) / 1e6) || v < 1)
        ctx.addIssue({ code: "custom", message: `is ${v} bytes: in Kubernetes quantities m means milli (512m is 0.512 bytes); write Mi for mebibytes or M for megabytes` });
    else if (v > 2 ** 40) ctx.addIssue({ code: "custom", message: "must be at most 1Ti" });
});

/** A PEM bundle that is certificates and nothing else, every one of which parses. */
const certificatePem = z.string().superRefine((pem, ctx) => {
    const why = certificateBundleProblem(pem);
    if (why) ctx.addIssue({ code: "custom", message: why });
});

export function certificateBundleProblem(pem: string): string | undefined {
    if (pem.trim() === "") return "must not be empty: an empty bundle is not a CA (omit the key instead)";
    const blocks = [...pem.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g)];
    if (blocks.length === 0) return "must be a PEM certificate bundle (-----BEGIN CERTIFICATE-----)";
    for (const [whole, label] of blocks) {
        if (label !== "CERTIFICATE") {
            return label.includes("PRIVATE KEY") ? `holds a ${label}, which is a secret: remove it from the stack file and rotate it` : `holds a ${label}, not a CERTIFICATE`;
        }
        try {
            new X509Certificate(whole);
        } catch {
            return "holds a CERTIFICATE block that does not parse as an X.509 certificate";
        }
    }
    const rest = pem.replace(/-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g, "").trim();
    if (rest !== "") return "has text outside its PEM blocks";
    return undefined;
}

/** An absolute file path on the Vault server, normalised (no '..', '.', '//'), no globs; or stdout / discard. */
const auditFilePath = z
    .string()
    .min(1, "must not be empty")
    .superRefine((p, ctx) => {
        if (p === "stdout" || p === "discard") return;
        if (!p.startsWith("/")) ctx.addIssue({ code: "custom", message: 'must be an absolute path, "stdout" or "discard"' });
        else if (p.endsWith("/")) ctx.addIssue({ code: "custom", message: "must name a file, not a directory" });
        else if (posix.normalize(p) !== p) ctx.addIssue({ code: "custom", message: "must be a normalised path (no '..', '.' or '//' segments)" });
        // eslint-disable-next-line no-control-regex
        else if (/[*?[\]{}\\\s\x00-\x1f\x7f]/.test(p)) ctx.addIssue({ code: "custom", message: "must not contain glob characters, backslashes or whitespace" });
        else if (p.length > 4096) ctx.addIssue({ code: "custom", message: "must be at most 4096 characters" });
    });

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

/**
 * A password's alphabet as @pulumi/random draws it: letters and digits (62), plus the provider's 21
 * default specials with `special`. 128 bits of entropy, as for random bytes (16 bytes) and as the
 * policy pack requires: at least 22 characters, 21 with `special`.
 */
export function passwordEntropyBits(length: number, special: boolean): number {
    return length * Math.log2(special ? 62 + 21 : 62);
}

/** A password of N characters from a URL-safe alphabet unless `special` asks for more. */
const passwordSource = z
    .object({
        kind: z.literal("password"),
        length: z.number().int().min(16, "must be at least 16").max(256),
        /** Add punctuation. Composed URLs percent-encode it, so any value round-trips through a DSN. */
        special: z.boolean().default(false),
    })
    .strict()
    .superRefine((p, ctx) => {
        if (passwordEntropyBits(p.length, p.special) < 128) {
            const min = Math.ceil(128 / Math.log2(p.special ? 83 : 62));
            ctx.addIssue({ code: "custom", path: ["length"], message: `must be at least ${min}${p.special ? " with special" : " (21 with special)"}: ${p.length} characters carry ${Math.floor(passwordEntropyBits(p.length, p.special))} bits, below 128` });
        }
    });

/** A value built from other secrets of the same app: `{name}` is replaced by that secret. */
const composedSource = z
    .object({
        kind: z.literal("composed"),
        template: text.max(4096, "must be at most 4096 characters"),
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
        value: text.max(4096, "must be at most 4096 characters"),
    })
    .strict();

/** A JWT claim name the program does not set itself (it sets iat and exp). */
const jwtClaimName = z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_:.-]{0,63}$/, "must be a JWT claim name (letters, digits, '_', ':', '.', '-')")
    .refine((k) => !["iat", "exp", "nbf"].includes(k), "is set by the program (iat: the signing secret's last rotation; exp: its next scheduled one)");

/**
 * A derived key (runbook 002, self-hosted Supabase): an HS256 JWT signed with another secret of
 * the same app, such as the anon and service-role keys signed with the JWT secret. `iat` is when
 * the signing secret was last generated and `exp` its next scheduled rotation, so the token is
 * re-derived in the same `up` that rotates its key, and a no-change `up` changes nothing.
 */
const jwtSource = z
    .object({
        kind: z.literal("jwt"),
        /** Catalog key of the signing secret, in the same app: a generated secret with scheduled rotation. */
        signingKey: propertyName,
        /** Claims, in this order (role: anon, iss: supabase); iat and exp are added. */
        claims: mapOf(jwtClaimName, z.union([text.max(1024), z.number(), z.boolean()]), "a mapping of claim names to values").prefault({}),
    })
    .strict();

/**
 * A credential of one of the app's `databases` (docs/database-credentials.md): the username or the
 * password of the login user that is active now. Vault's database secrets engine holds it, never the
 * program's state; the ExternalSecret reads it at sync time, and templates that reference it are
 * composed by ESO. A `password` field rotates on the schedule of this catalog entry.
 */
const databaseSource = z
    .object({
        kind: z.literal("database"),
        /** Key of the app's `databases` entry. */
        database: z.string().min(1),
        field: z.enum(["username", "password"]),
    })
    .strict();
/** A committed certificate file, relative to Pulumi.yaml: public material as .crt (.gitignore drops *.pem). */
const certificateFile = z
    .string()
    .regex(/^(?!\/)(?!.*(^|\/)\.\.(\/|$))[A-Za-z0-9._\/-]+\.crt$/, "must be a .crt file inside the project, relative to Pulumi.yaml");

/**
 * CA certificates the app verifies its servers with (Postgres root cert, Qdrant CA): public, never
 * a secret. From the stack file (`pem`), a committed file (`file`), and/or the issuing CA of the
 * stack's Vault PKI mount (`includePkiCa`). A change of CA keeps the previous one in the bundle
 * for one rotation period (README "Rotation").
 */
const caBundleSource = z
    .object({
        kind: z.literal("ca-bundle"),
        pem: certificatePem.optional(),
        file: certificateFile.optional(),
        /** Append the issuing CA of vault.pki (the CA the app's own client certificates chain to). */
        includePkiCa: z.boolean().default(false),
    })
    .strict()
    .superRefine((s, ctx) => {
        if (s.pem === undefined && s.file === undefined && !s.includePkiCa) ctx.addIssue({ code: "custom", message: "needs pem, file or includePkiCa: true" });
        if (s.pem !== undefined && s.file !== undefined) ctx.addIssue({ code: "custom", path: ["file"], message: "conflicts with pem: give the bundle once" });
        if (s.pem !== undefined && certificateBundleProblem(s.pem) === undefined) {
            const why = caBundleProblem(s.pem);
            if (why) ctx.addIssue({ code: "custom", path: ["pem"], message: why });
        }
    });

/** A name a PKI role allows exactly: a DNS name or a user name (Postgres maps the CN to a role); no wildcard. */
const pkiName = z
    .string()
    .max(253, "must be at most 253 characters")
    .regex(/^[a-z0-9]([-a-z0-9_]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9_]*[a-z0-9])?)*$/, "must be a lower-case DNS name or user name (letters, digits, '-', '_', '.'; no wildcard, no glob)");

/**
 * A client certificate and its private key, issued by the stack's Vault PKI mount (vault.pki) under
 * the app's own role, which allows exactly the names of the app's certificates. The certificate
 * goes to the Secret key `env`, the private key (a Pulumi secret) to `privateKeyEnv`. Re-issued on
 * the rotation schedule, and earlier when it would expire before the next period.
 */
const vaultPkiCertSource = z
    .object({
        kind: z.literal("vault-pki-cert"),
        commonName: pkiName,
        /** DNS subject alternative names, besides the common name. */
        altNames: z.array(pkiName).max(32, "must be at most 32 names").default([]),
        keyType: z.enum(["rsa", "ec"]),
        /** RSA: 2048, 3072 or 4096. EC: 256 (P-256), 384 or 521. */
        keyBits: z.number().int(),
        /** Key in the target Secret for the private key (POSTGRES_SSL_KEY); omit to keep it in Vault's KV only. */
        privateKeyEnv: secretKeyName.optional(),
    })
    .strict()
    .superRefine((s, ctx) => {
        const allowed = PKI_KEY_BITS[s.keyType] as readonly number[];
        if (!allowed.includes(s.keyBits)) ctx.addIssue({ code: "custom", path: ["keyBits"], message: `must be one of ${allowed.join(", ")} for ${s.keyType} (at least RSA 2048 or EC P-256)` });
        if (new Set([s.commonName, ...s.altNames]).size !== 1 + s.altNames.length) ctx.addIssue({ code: "custom", path: ["altNames"], message: "must not repeat a name (or the common name)" });
    });

export const secretSource = z.discriminatedUnion("kind", [
    randomBytesSource,
    passwordSource,
    composedSource,
    suppliedSource,
    plainSource,
    jwtSource,
    databaseSource,
    caBundleSource,
    vaultPkiCertSource,
]);

/**
 * A grant of a secret to another app of the catalog (runbook 002's access patterns): the secret
 * is written, on its own, to `<prefix>/<owner>/<env>/shared/<secret>`, and the consumer's read
 * policy gets exactly that path (never the owner's own path).
 */
const grant = z
    .object({
        /** The consumer app. */
        app: dnsLabel,
        /** Key in the consumer's Secret (and ConfigMap listing); defaults to the owner's env. */
        env: secretKeyName.optional(),
    })
    .strict();

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
        maxAgeDays: z.number().int().min(0).max(3650, "must be at most 3650 (ten years)").optional(),
        /**
         * Why this secret is kept out of the rotation schedule: required with `maxAgeDays: 0` on a
         * generated secret, shown in the inventory, reported by the policy pack in prod when missing.
         */
        exemptReason: text.max(500, "must be at most 500 characters").optional(),
        description: z.string().optional(),
        /** Consumer apps that read this secret too, each through its own policy on the secret's shared path only. */
        grants: z.array(grant).max(64).default([]),
    })
    .strict();

/** A Postgres or Redis login name (two per app, alternating). */
const databaseUserName = z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, "must be a lower-case database user name: letters, digits and '_' (at most 63)");

/**
 * A database or cache whose app credentials rotate by alternating users through Vault's database
 * secrets engine (docs/database-credentials.md): two login users, the active one following the
 * rotation counter, the previous one valid until the next rotation.
 */
const databaseConfig = z
    .object({
        engine: z.enum(["postgresql", "redis"]),
        /** Host and port Vault connects to (from Vault's network). */
        host: z.string().regex(/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/, "must be a host name or IPv4 address"),
        port: z.number().int().min(1).max(65535),
        /** Postgres: database Vault's management user connects to. */
        database: databaseUserName.optional(),
        /** Postgres: sslmode of Vault's connection (require or stronger where security.requireTls). */
        sslmode: z.enum(["disable", "prefer", "require", "verify-ca", "verify-full"]).default("require"),
        /** Redis: TLS on Vault's connection. */
        tls: z.boolean().default(true),
        /** The two login users, slot a then slot b; the DBA creates both (docs/database-credentials.md). */
        users: z.tuple([databaseUserName, databaseUserName]).refine(([a, b]) => a !== b, "must be two different users"),
        /** The least-privilege management user Vault connects as (bootstrap SQL in docs/database-credentials.md). */
        manager: databaseUserName,
        /**
         * `suppliedSecrets.<app>.<key>` holding the manager's bootstrap password: used once, then Vault
         * rotates it (rotate-root) so no one knows it.
         */
        managerBootstrapSecret: propertyName,
    })
    .strict()
    .superRefine((d, ctx) => {
        if (d.engine === "postgresql" && d.database === undefined) ctx.addIssue({ code: "custom", path: ["database"], message: "is required for postgresql" });
        if (d.engine === "redis" && d.database !== undefined) ctx.addIssue({ code: "custom", path: ["database"], message: "applies to postgresql only" });
        if (d.users.includes(d.manager)) ctx.addIssue({ code: "custom", path: ["manager"], message: "must not be one of the app's users" });
    });

const backupTarget = z
    .object({
        /** ServiceAccount the backup CronJob runs as; defaults to `<app>-<target>-backup`. */
        serviceAccount: dnsSubdomain.optional(),
        /** Whether this program creates that ServiceAccount (false: the app's chart owns it, and only the role ARN is exported). */
        manageServiceAccount: z.boolean().default(true),
        /** Object key prefix the job writes under; defaults to `<target>/`. */
        prefix: z
            .string()
            .max(512, "must be at most 512 characters")
            .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*\/([A-Za-z0-9][A-Za-z0-9._-]*\/)*$/, "must be a relative key prefix ending in '/': segments of letters, digits, '.', '_' and '-' (no '..', no empty segment)")
            .optional(),
    })
    .strict();

const app = z
    .object({
        namespace: dnsLabel,
        /** Create the namespace (true) or reference an existing one (false). */
        manageNamespace: z.boolean().default(false),
        /** Target Kubernetes Secret the ExternalSecret writes; defaults to `<app>-runtime-secrets`. */
        secretName: dnsSubdomain.optional(),
        serviceAccounts: z
            .object({
                /** The ServiceAccount External Secrets logs in to Vault as, for this app only. */
                reader: dnsSubdomain.optional(),
                /** `vault` delivery: the app's own workload ServiceAccounts (its chart's), the only ones its Vault role binds. */
                workloads: z.array(dnsSubdomain).max(16).optional(),
            })
            .strict()
            .prefault({}),
        /**
         * How the app gets its values: `externalSecret` (runbook 001: a store, an ExternalSecret and its
         * target Secret), `vault` (runbook 000: the app logs in to Vault itself with its workload
         * ServiceAccount; no store, no ExternalSecret, no Secret), or `both`.
         */
        delivery: z.enum(["externalSecret", "vault", "both"]).default("externalSecret"),
        /** `vault` delivery: the ConfigMap this program writes with the login settings (nothing secret). */
        vaultLogin: z
            .object({
                /** Defaults to `<app>-vault-login`. */
                configMapName: dnsSubdomain.optional(),
                /** ConfigMap key of Vault's address (runbook 000: SOMA_VAULT_URL). */
                addressKey: secretKeyName.default("VAULT_ADDR"),
                /** ConfigMap key of the app's Vault role (runbook 000: SOMA_VAULT_ROLE). */
                roleKey: secretKeyName.default("VAULT_ROLE"),
            })
            .strict()
            .prefault({}),
        /** SecretStore name; defaults to `<app>-vault-store`. Runbook 001 names soma-memory's `soma-vault-store`. */
        storeName: dnsSubdomain.optional(),
        /** Backup targets (postgres, qdrant): one encrypted bucket and one IRSA role each. */
        backups: mapOf(dnsLabel, backupTarget, "a mapping of backup targets").prefault({}),
        /** Databases and caches whose credentials rotate by alternating users (docs/database-credentials.md). */
        // Names without '-': Vault's role names <app>-<database>-<env>-<slot> then never overlap between apps.
        databases: mapOf(z.string().regex(/^[a-z][a-z0-9]{0,30}$/, "must be lower-case letters and digits (no '-': it separates app, database and environment in Vault role names)"), databaseConfig, "a mapping of databases").prefault({}),
        /** May be empty only for an app that is granted secrets (rules.ts). */
        secrets: mapOf(propertyName, catalogSecret, "a mapping of secrets"),
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
        namespace: vaultNamespace.optional(),
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
                path: vaultPath.default("secret").refine((p) => !VAULT_RESERVED_MOUNTS.includes(p.split("/")[0]), `must not be one of Vault's own mounts (${VAULT_RESERVED_MOUNTS.join(", ")})`),
                /** Create and own the mount (true), or use an existing one this program must not own (false). */
                manage: z.boolean().default(true),
                /** Versions kept per secret: the history an operator rolls a bad rotation back to. */
                maxVersions: z.number().int().min(1).max(1000).default(10),
            })
            .strict()
            .prefault({}),
        /** Path prefix under the mount: secrets live at <mount>/data/<prefix>/<app>/<env>. */
        pathPrefix: vaultPath.default("shared-infra"),
        kubernetesAuth: z
            .object({
                /** Auth backend path. */
                path: vaultPath.default("kubernetes"),
                /** Create and own the backend and its config (true), or use an existing one (false). */
                manage: z.boolean().default(true),
                /**
                 * Kubernetes API server Vault reviews tokens against; defaults to the endpoint of the EKS
                 * cluster `aws.eks.clusterName`. A configured host must be a name the API server's
                 * certificate covers (with the cluster's CA: the EKS endpoint itself).
                 */
                host: httpsUrl.optional(),
                /** PEM CA bundle of that API server (not secret); defaults to the EKS cluster's CA. */
                caCertPem: certificatePem.optional(),
                /** Service account token issuer Vault validates; defaults to `aws.eks.oidcIssuerUrl`. */
                issuer: httpsUrl.optional(),
                /** Audience the reader tokens must carry (the Vault role's `audience`). */
                audience: text.max(256, "must be at most 256 characters").default("vault"),
                /**
                 * The API server's own audience, also requested on the reader tokens: Vault reviews a
                 * login with the login token itself, and the API server accepts it only if it carries one
                 * of its audiences (EKS: https://kubernetes.default.svc).
                 */
                apiServerAudience: text.max(256, "must be at most 256 characters").default("https://kubernetes.default.svc"),
                /** Vault token TTL for the store's logins, in seconds. */
                tokenTtlSeconds: z.number().int().min(60).max(86400).default(600),
                tokenMaxTtlSeconds: z.number().int().min(60).max(86400).default(1800),
            })
            .strict()
            .prefault({}),
        /** The database secrets engine mount the apps' `databases` use (docs/database-credentials.md). */
        database: z
            .object({
                path: vaultPath.default("database").refine((p) => !VAULT_RESERVED_MOUNTS.includes(p.split("/")[0]), `must not be one of Vault's own mounts (${VAULT_RESERVED_MOUNTS.join(", ")})`),
                /** Create and own the mount (true), or use an existing one (false). */
                manage: z.boolean().default(true),
            })
            .strict()
            .prefault({}),
        /**
         * The PKI secrets engine that issues the apps' client certificates (vault-pki-cert sources).
         * Used only when an app has one.
         */
        pki: z
            .object({
                /** PKI mount path. */
                path: vaultPath.default("pki").refine((p) => !VAULT_RESERVED_MOUNTS.includes(p.split("/")[0]), `must not be one of Vault's own mounts (${VAULT_RESERVED_MOUNTS.join(", ")})`),
                /**
                 * Create and own the mount and generate its root CA inside Vault (true: the key never
                 * leaves Vault), or use an existing mount whose default issuer the Vault admins keep (false).
                 */
                manage: z.boolean().default(true),
                /** Managed mount: common name of the root CA generated in it. */
                rootCommonName: text.max(64, "must be at most 64 characters").default("platform-secrets issuing CA"),
                /** Managed mount: validity of that root CA, in days. */
                rootTtlDays: z.number().int().min(365).max(7300).default(3650),
                /**
                 * Days a certificate outlives its rotation period: its TTL is the period plus this, so an
                 * `up` a few days late still finds it valid. A certificate that would expire within this
                 * many days of the next period is re-issued at once.
                 */
                graceDays: z.number().int().min(1).max(30).default(7),
            })
            .strict()
            .prefault({}),
        audit: z
            .object({
                enabled: z.boolean().default(false),
                /** Audit device path (mount name). */
                path: vaultPath.default("file"),
                /** File the file device writes to (on the Vault server). */
                filePath: auditFilePath.default("/vault/logs/audit.log"),
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
        vaultCaBundlePem: certificatePem.optional(),
        /**
         * Where ESO finds that CA in the cluster instead (ESO's caProvider): a ConfigMap or Secret key,
         * e.g. one trust-manager distributes. `namespace` only with ClusterSecretStores.
         */
        vaultCaProvider: z
            .object({ type: z.enum(["ConfigMap", "Secret"]), name: dnsSubdomain, key: secretKeyName, namespace: dnsLabel.optional() })
            .strict()
            .optional(),
        /** Vault's certificate chains to a public CA in ESO's system roots: no bundle needed. */
        vaultCaFromSystemRoots: z.boolean().default(false),
    })
    .strict();

const kubernetes = z
    .object({
        /** kubeconfig context of the target cluster. */
        context: text.optional(),
        /** Path to a kubeconfig file; defaults to KUBECONFIG / ~/.kube/config. */
        kubeconfigPath: text.optional(),
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
        requests: z.object({ cpu: cpuQuantity.default("10m"), memory: memoryQuantity.default("64Mi") }).strict().prefault({}),
        limits: z.object({ cpu: cpuQuantity.default("100m"), memory: memoryQuantity.default("256Mi") }).strict().prefault({}),
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
                /** EKS cluster name: 1-100 letters, digits, '-' and '_', starting with a letter or digit. */
                clusterName: z.string().regex(/^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/, "must be an EKS cluster name: 1-100 ASCII letters, digits, '-' and '_', starting with a letter or digit"),
                /** IAM OIDC provider ARN of the cluster (IRSA trust policies federate to it). */
                oidcProviderArn: z
                    .string()
                    .regex(/^arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider\/.+$/, "must be an IAM OIDC provider ARN"),
                /** The cluster's OIDC issuer URL (https://oidc.eks.<region>.amazonaws.com/id/<id>). */
                oidcIssuerUrl: httpsUrl.pipe(
                    z
                        .string()
                        .regex(
                            /^https:\/\/oidc\.eks\.[a-z]{2}(-gov)?-[a-z]+-[0-9]\.amazonaws\.com(\.cn)?\/id\/[0-9A-Za-z]{1,64}$/,
                            "must be an EKS issuer, https://oidc.eks.<region>.amazonaws.com/id/<id> (no wildcard, no trailing '/')",
                        ),
                ),
            })
            .strict(),
        /** Tags on every AWS resource. */
        tags: mapOf(
            z
                .string()
                .min(1, "must not be empty")
                .max(128, "must be at most 128 characters (an AWS tag key)")
                .regex(/^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$/u, "must be an AWS tag key: letters, digits, spaces and _ . : / = + - @")
                .refine((k) => !k.toLowerCase().startsWith("aws:"), "must not start with aws: (reserved by AWS)"),
            z
                .string()
                .max(256, "must be at most 256 characters (an AWS tag value)")
                .regex(/^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u, "must be an AWS tag value: letters, digits, spaces and _ . : / = + - @"),
            "a mapping of tag keys to values",
        )
            .refine((t) => Object.keys(t).length <= 40, "must have at most 40 tags (AWS allows 50 per resource, and the program adds its own)")
            .prefault({}),
    })
    .strict();

const backup = z
    .object({
        /** Bucket names are <bucketPrefix>-<app>-<target>-<env>; S3 names are global, so make it yours. */
        bucketPrefix: z.string().regex(/^[a-z0-9][a-z0-9-]{1,30}[a-z0-9]$/, "must be 3-32 lower-case letters, digits or '-'"),
        /** Days a backup is kept. */
        retentionDays: z.number().int().min(1).max(36500, "must be at most 36500 (S3's lifecycle and object-lock maximum: 100 years)"),
        /** Days a superseded (noncurrent) version is kept; shorter than retentionDays. */
        noncurrentVersionDays: z.number().int().min(1).max(36500, "must be at most 36500"),
        objectLock: z
            .object({
                enabled: z.boolean().default(false),
                mode: z.enum(["GOVERNANCE", "COMPLIANCE"]).default("GOVERNANCE"),
                days: z.number().int().min(1).max(36500, "must be at most 36500 (S3's object-lock maximum: 100 years)").default(7),
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
        epoch: z.iso
            .date({ error: "must be a date YYYY-MM-DD" })
            .refine((d) => d >= "2000-01-01" && d <= "2100-12-31", "must be between 2000-01-01 and 2100-12-31")
            .default("2026-01-01"),
        /** Manual rotation counter per secret, keyed "<app>/<secret>": bump by one to rotate that secret. */
        generations: mapOf(z.string(), z.number().int().min(0).max(1_000_000, "must be at most 1000000"), "a mapping of \"<app>/<secret>\" to counters").prefault({}),
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
const suppliedSecrets = mapOf(z.string(), mapOf(z.string(), z.string().min(1, "must not be empty"), "a mapping of secret names to values"), "a mapping of app names");

export const stackConfigSchema = z
    .object({
        /** Environment name used in paths and names (dev, prod, staging): data, never the stack's name. */
        environment: dnsLabel,
        apps: mapOf(dnsLabel, app, "a mapping of app names").refine((a) => Object.keys(a).length > 0, "at least one app is required"),
        vault,
        kubernetes: kubernetes.prefault({}),
        reloader: reloader.prefault({}),
        /** Only where the stack needs AWS: backups, or Vault's Kubernetes auth left to the EKS lookup. */
        aws: aws.optional(),
        /** Only where an app has backups. */
        backup: backup.optional(),
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
export type DatabaseConfig = z.output<typeof databaseConfig>;

/** Top-level keys, for Pulumi.yaml's declarations and the unknown-key check. */
export const topLevelKeys = Object.keys(stackConfigSchema.shape) as (keyof ParsedStackConfig)[];
