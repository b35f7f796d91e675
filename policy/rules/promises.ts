/**
 * Prod's promises (README "Config reference", runbooks 000-003): TLS in every composed or plain URL,
 * an audit device on Vault, object lock on backup buckets, Reloader in HA, and the 90-day rotation
 * schedule. Each has its own policy, required where the stack's policy config says so
 * (policy/config/prod.json; dev.json turns them off) and required without a config file (fail
 * closed), never by the stack's name. The program's own settings (security.requireTls,
 * vault.audit.enabled, ...) are deliberately not read: the guardrail exists to catch a stack file
 * that turned one off. The one promise the README allows a reasoned exception for, a secret kept out
 * of the schedule for coordinated rotation, is advisory and recorded in
 * `prod-rotation-unscheduled.coordinatedRotation`.
 */
import type { PolicyResource, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { forTypePattern, forTypes } from "../lib/dispatch";
import { field, known, parseJsonDocument, UNKNOWN } from "../lib/values";
import { bucketOf } from "./s3";
import { BUCKET_TYPES, EXTERNAL_SECRET_TYPE, SECRET_STORE_TYPE, T } from "../types";

/** Postgres sslmodes and MySQL ssl-modes that encrypt the connection. */
const PG_TLS = ["require", "verify-ca", "verify-full"];
const MYSQL_TLS = ["required", "verify_ca", "verify_identity"];
/** Schemes that are plaintext, with their TLS twin. */
const PLAINTEXT: Record<string, string> = { http: "https", redis: "rediss", amqp: "amqps", ldap: "ldaps", ws: "wss", ftp: "ftps", nats: "tls", mqtt: "mqtts" };

function queryOf(url: string): Record<string, string> {
    const q = url.indexOf("?");
    const out: Record<string, string> = {};
    if (q < 0) return out;
    for (const part of url.slice(q + 1).split("#")[0].split("&")) {
        const [k, v = ""] = part.split("=");
        out[decodeURIComponent(k).toLowerCase()] = decodeURIComponent(v).toLowerCase();
    }
    return out;
}

/** Why a value is a URL without TLS (undefined when it is not a URL or uses TLS). Never returns the value. */
export function plaintextUrl(value: string): string | undefined {
    const m = /^\s*([a-z][a-z0-9+.-]*):\/\//i.exec(value);
    if (!m) return undefined;
    const scheme = m[1].toLowerCase();
    const query = queryOf(value.trim());
    if (scheme in PLAINTEXT) return `a ${scheme}:// URL; use ${PLAINTEXT[scheme]}://`;
    if (scheme === "postgres" || scheme === "postgresql") return PG_TLS.includes(query.sslmode ?? "") ? undefined : `a ${scheme}:// URL without sslmode=require, verify-ca or verify-full`;
    if (scheme === "mysql") return MYSQL_TLS.includes(query["ssl-mode"] ?? "") || query.tls === "true" ? undefined : "a mysql:// URL without ssl-mode=REQUIRED";
    if (scheme === "mongodb") return query.tls === "true" || query.ssl === "true" ? undefined : "a mongodb:// URL without tls=true";
    return undefined;
}

export interface RequireConfig {
    /** Whether this stack must keep the promise (true unless the stack's policy config says otherwise). */
    require?: boolean;
}
const requireSchema = { require: { type: "boolean", default: true, description: "Whether this stack must keep the promise (prod: true)." } } as const;
const required = (config: RequireConfig) => config.require !== false;

/** The string values of a JSON object given as text or object, by key (a KV secret's data). */
function jsonStrings(v: unknown): [string, string][] {
    const doc = parseJsonDocument(v);
    return doc ? Object.entries(doc).filter((e): e is [string, string] => typeof e[1] === "string") : [];
}

export const prodTlsUrls: ResourceValidationPolicy = {
    name: "prod-tls-urls",
    description: "Every URL the stack writes for an app (Vault KV data, ConfigMaps, Secrets' stringData) and every store's Vault address uses TLS: https, rediss, amqps, Postgres with sslmode=require or stricter.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps: "Set platform-secrets:security.requireTls: true and give every composed or plain URL its TLS form (rediss://, https://, ?sslmode=require).",
    configSchema: { properties: { ...requireSchema } },
    validateResource: [
        forTypes<Record<string, unknown>>([T.vaultKvSecretV2, T.vaultKvSecret, T.vaultGenericSecret, T.configMap, "kubernetes:core/v1:Secret"], (props, args, report) => {
            if (!required(args.getConfig<RequireConfig>())) return args.notApplicable("this stack's policy config does not require TLS");
            const entries: [string, string][] = [];
            if (args.type.startsWith("vault:")) for (const [k, v] of jsonStrings(props.dataJson)) entries.push([`dataJson.${k}`, v]);
            for (const f of ["data", "stringData"]) {
                if (args.type.startsWith("vault:") && f === "data") {
                    for (const [k, v] of Object.entries((props[f] as Record<string, unknown>) ?? {})) if (typeof v === "string") entries.push([`data.${k}`, v]);
                    continue;
                }
                if (args.type === "kubernetes:core/v1:Secret" && f === "data") continue; // base64: the ExternalSecret path never writes it
                for (const [k, v] of Object.entries((props[f] as Record<string, unknown>) ?? {})) if (typeof v === "string") entries.push([`${f}.${k}`, v]);
            }
            for (const [where, value] of entries) {
                const why = plaintextUrl(value);
                if (why) report(`${where} is ${why}.`);
            }
        }),
        forTypePattern<{ spec?: { provider?: { vault?: { server?: string } } } }>(SECRET_STORE_TYPE, (props, args, report) => {
            if (!required(args.getConfig<RequireConfig>())) return args.notApplicable("this stack's policy config does not require TLS");
            const server = props.spec?.provider?.vault?.server;
            const why = typeof server === "string" ? plaintextUrl(server) : undefined;
            if (why) report(`spec.provider.vault.server is ${why}.`);
        }),
        // URLs ESO composes at sync time (alternating database users): the target template's text.
        forTypePattern<{ spec?: { target?: { template?: { data?: Record<string, unknown> } } } }>(EXTERNAL_SECRET_TYPE, (props, args, report) => {
            if (!required(args.getConfig<RequireConfig>())) return args.notApplicable("this stack's policy config does not require TLS");
            for (const [k, v] of Object.entries(props.spec?.target?.template?.data ?? {})) {
                const why = typeof v === "string" ? plaintextUrl(v) : undefined;
                if (why) report(`spec.target.template.data.${k} is ${why}.`);
            }
        }),
        // Vault's own connections to the databases whose users it rotates.
        forTypes<{ postgresql?: { connectionUrl?: string }; redis?: { tls?: boolean } }>([T.vaultDatabaseConnection], (props, args, report) => {
            if (!required(args.getConfig<RequireConfig>())) return args.notApplicable("this stack's policy config does not require TLS");
            const url = props.postgresql?.connectionUrl;
            const why = typeof url === "string" ? plaintextUrl(url) : undefined;
            if (why) report(`postgresql.connectionUrl is ${why}.`);
            if (props.redis && props.redis.tls !== true) report("redis.tls is off: Vault's connection to Redis carries the manager's password in plaintext.");
        }),
    ],
};

const isVaultResource = (r: PolicyResource) => r.type.startsWith("vault:");

export const prodVaultAudit: StackValidationPolicy = {
    name: "prod-vault-audit",
    description: "A stack that configures Vault has an audit device that records: type file, socket or syslog, not discarding its output (file_path discard or /dev/null), never logging secrets raw (log_raw).",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps: "Set platform-secrets:vault.audit.enabled: true (path file, filePath /vault/logs/audit.log).",
    configSchema: { properties: { ...requireSchema } },
    validateStack: (args, report) => {
        if (!required(args.getConfig<RequireConfig>())) return args.notApplicable("this stack's policy config does not require an audit device");
        const vaultResources = args.resources.filter(isVaultResource);
        if (vaultResources.length === 0) return args.notApplicable("the stack configures no Vault");
        const audits = args.resources.filter((r) => r.type === T.vaultAudit);
        if (audits.length === 0) {
            const root = args.resources.find((r) => r.type === T.stack);
            report("The stack configures Vault without an audit device (vault.audit.enabled): requests to the secrets would go unrecorded.", root?.urn ?? vaultResources[0].urn);
        }
        for (const a of audits) {
            const type = known(() => field(a.props, "type"));
            const options = known(() => field(a.props, "options"));
            if (type === UNKNOWN || options === UNKNOWN) continue;
            const opt = (key: string) => String(field(options, key) ?? "").toLowerCase();
            if (!["file", "socket", "syslog"].includes(String(type))) report(`Audit device ${a.name} has type ${JSON.stringify(type)}, not file, socket or syslog.`, a.urn);
            if (type === "file" && ["discard", "/dev/null"].includes(opt("file_path"))) report(`Audit device ${a.name} discards what it records (file_path ${opt("file_path")}).`, a.urn);
            if (["true", "1"].includes(opt("log_raw"))) report(`Audit device ${a.name} logs requests raw: every secret read would sit in plaintext in the audit log.`, a.urn);
        }
    },
};

export const prodObjectLock: StackValidationPolicy = {
    name: "prod-object-lock",
    description: "Every backup bucket has object lock on (objectLockEnabled) and a BucketObjectLockConfiguration with a default retention of at least one day.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps: "Set platform-secrets:backup.objectLock: { enabled: true, mode: GOVERNANCE, days: 14 }.",
    configSchema: { properties: { ...requireSchema } },
    validateStack: (args, report) => {
        if (!required(args.getConfig<RequireConfig>())) return args.notApplicable("this stack's policy config does not require object lock");
        const buckets = args.resources.filter((r) => BUCKET_TYPES.includes(r.type));
        if (buckets.length === 0) return args.notApplicable("the stack has no S3 buckets");
        const locks = args.resources.filter((r) => r.type === T.bucketObjectLock || r.type === T.bucketObjectLockV2);
        for (const b of buckets) {
            const enabled = known(() => field(b.props, "objectLockEnabled"));
            if (enabled !== UNKNOWN && enabled !== true) report(`Bucket ${b.name} is created without object lock (objectLockEnabled), which cannot be turned on later.`, b.urn);
            const mine = locks.filter((l) => bucketOf(l, buckets)?.urn === b.urn);
            if (mine.length === 0) report(`Bucket ${b.name} has no object lock configuration (BucketObjectLockConfiguration).`, b.urn);
            for (const l of mine) {
                const on = known(() => field(l.props, "objectLockEnabled"));
                const retention = known(() => field(field(l.props, "rule"), "defaultRetention"));
                if (on === UNKNOWN || retention === UNKNOWN) continue;
                const days = Number(field(retention, "days") ?? 0);
                const years = Number(field(retention, "years") ?? 0);
                if (on !== undefined && on !== "Enabled") report(`Object lock configuration ${l.name} is ${JSON.stringify(on)}, not Enabled.`, l.urn);
                if (!(days > 0 || years > 0)) report(`Object lock configuration ${l.name} sets no default retention.`, l.urn);
            }
        }
    },
};

/** The Reloader installs of the stack: Helm releases or charts of the chart `reloader`. */
function reloaderInstalls(resources: PolicyResource[]): PolicyResource[] {
    return resources.filter((r) => {
        if (r.type !== T.helmRelease && r.type !== T.helmChartV4) return false;
        const chart = known(() => field(r.props, "chart"));
        return typeof chart === "string" && /(^|\/)reloader$/.test(chart);
    });
}

export const prodReloaderHa: StackValidationPolicy = {
    name: "prod-reloader-ha",
    description: "A stack that syncs ExternalSecrets installs Stakater Reloader in HA: values reloader.enableHA true and reloader.deployment.replicas of 2 or more.",
    enforcementLevel: "mandatory",
    severity: "medium",
    remediationSteps: "Set platform-secrets:reloader: { enabled: true, ha: true, replicas: 2 }.",
    configSchema: { properties: { ...requireSchema } },
    validateStack: (args, report) => {
        if (!required(args.getConfig<RequireConfig>())) return args.notApplicable("this stack's policy config does not require Reloader HA");
        const synced = args.resources.filter((r) => EXTERNAL_SECRET_TYPE.test(r.type));
        if (synced.length === 0) return args.notApplicable("the stack syncs no ExternalSecrets");
        const installs = reloaderInstalls(args.resources);
        if (installs.length === 0) report("No Reloader is installed: a rotated Secret would not restart the pods that read it.", synced[0].urn);
        for (const r of installs) {
            const values = known(() => field(r.props, "values"));
            if (values === UNKNOWN) continue;
            const reloader = field(values, "reloader");
            const replicas = Number(field(field(reloader, "deployment"), "replicas") ?? 1);
            if (field(reloader, "enableHA") !== true) report(`Reloader ${r.name} runs without HA (values.reloader.enableHA).`, r.urn);
            if (!(replicas >= 2)) report(`Reloader ${r.name} runs ${replicas} replica(s); HA needs 2 or more.`, r.urn);
        }
    },
};

/** One inventory entry (the stack output `inventory`), the part read here. */
interface InventoryEntry {
    app?: string;
    secret?: string;
    source?: string;
    maxAgeDays?: number;
    /** `alternating-users`: a database password rotated through Vault's database secrets engine. */
    rotation?: string;
    /** Why the secret is exempt from the schedule (maxAgeDays 0), from the stack file. */
    exemptReason?: string;
}
const GENERATED_SOURCES = ["random-bytes", "password"];

/** The generated secrets of the stack's inventory output, or undefined when the output is missing or unreadable. */
function generatedInventory(resources: PolicyResource[]): InventoryEntry[] | undefined | typeof UNKNOWN {
    const root = resources.find((r) => r.type === T.stack);
    const inventory = root ? known(() => field(root.props, "inventory")) : undefined;
    if (inventory === UNKNOWN) return UNKNOWN;
    if (!Array.isArray(inventory)) return undefined;
    // Generated secrets, and database passwords (alternating users): everything with a rotation counter.
    return (inventory as InventoryEntry[]).filter((e) => e && (GENERATED_SOURCES.includes(String(e.source)) || e.rotation === "alternating-users"));
}

export interface ScheduleConfig extends RequireConfig {
    maxAgeDays?: number;
}

export const prodRotationSchedule: StackValidationPolicy = {
    name: "prod-rotation-schedule",
    description: "Generated secrets rotate on a schedule of at most 90 days (runbook 003), as the stack's inventory output shows: none scheduled later than that, and the schedule not switched off for all of them.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps: "Set platform-secrets:rotation.maxAgeDays: 90 (or less) and keep per-secret maxAgeDays at or below it.",
    configSchema: { properties: { ...requireSchema, maxAgeDays: { type: "integer", minimum: 1, default: 90, description: "Longest allowed scheduled age." } } },
    validateStack: (args, report) => {
        const config = args.getConfig<ScheduleConfig>();
        if (!required(config)) return args.notApplicable("this stack's policy config does not require a rotation schedule");
        const generators = args.resources.filter((r) => r.type === T.randomBytes || r.type === T.randomPassword || r.type === T.randomString || r.type === T.randomId);
        if (generators.length === 0) return args.notApplicable("the stack generates no credentials");
        const limit = config.maxAgeDays ?? 90;
        const root = args.resources.find((r) => r.type === T.stack);
        const entries = generatedInventory(args.resources);
        if (entries === UNKNOWN) return;
        if (!entries) return report("The stack has no inventory output, so its rotation schedule cannot be checked.", root?.urn ?? generators[0].urn);
        for (const e of entries) {
            if (typeof e.maxAgeDays !== "number" || e.maxAgeDays > limit) report(`${e.app}/${e.secret} is scheduled every ${JSON.stringify(e.maxAgeDays)} days; at most ${limit}.`, root?.urn);
        }
        if (entries.length > 0 && entries.every((e) => e.maxAgeDays === 0)) report("The rotation schedule is off: no generated secret rotates on a schedule (rotation.maxAgeDays).", root?.urn);
        // One secret on its own schedule must not hide the others being switched off: every secret out
        // of the schedule carries its reason (runbook 003's exceptions are reasoned, not silent).
        else for (const e of entries) if (e.maxAgeDays === 0 && !(e as { exemptReason?: string }).exemptReason) report(`${e.app}/${e.secret} is out of the rotation schedule (maxAgeDays 0) without an exemptReason.`, root?.urn);
    },
};

export interface UnscheduledConfig {
    /** "<app>/<secret>" kept out of the schedule (README "Data-encryption keys"), each with its exemptReason in the stack file. */
    coordinatedRotation?: string[];
}

export const prodRotationUnscheduled: StackValidationPolicy = {
    name: "prod-rotation-unscheduled",
    description: "A rotating secret kept out of the rotation schedule (maxAgeDays 0) is a reasoned exception: its reason is in the stack file (exemptReason, shown in the inventory) and it is recorded in this policy's coordinatedRotation config; one without a reason, or unrecorded, is reported (advisory).",
    enforcementLevel: "advisory",
    severity: "medium",
    remediationSteps: "Either schedule the secret (remove its maxAgeDays: 0), or give it an exemptReason in the stack file and record \"<app>/<secret>\" in prod-rotation-unscheduled.coordinatedRotation in policy/config/<stack>.json.",
    configSchema: {
        properties: {
            ...requireSchema,
            coordinatedRotation: { type: "array", items: { type: "string" }, default: [], description: "\"<app>/<secret>\" entries rotated only by a reviewed generation bump." },
        },
    },
    validateStack: (args, report) => {
        const config = args.getConfig<UnscheduledConfig & RequireConfig>();
        if (!required(config)) return args.notApplicable("this stack's policy config does not require a rotation schedule");
        const entries = generatedInventory(args.resources);
        if (!entries || entries === UNKNOWN) return args.notApplicable("no readable inventory (prod-rotation-schedule reports it)");
        const recorded = new Set(config.coordinatedRotation ?? []);
        const root = args.resources.find((r) => r.type === T.stack);
        for (const e of entries) {
            if (e.maxAgeDays === 0 && !recorded.has(`${e.app}/${e.secret}`)) {
                report(`${e.app}/${e.secret} is not rotated on a schedule and is not recorded in prod-rotation-unscheduled.coordinatedRotation.`, root?.urn);
            }
            if (e.maxAgeDays === 0 && (typeof e.exemptReason !== "string" || e.exemptReason.trim() === "")) {
                report(`${e.app}/${e.secret} is exempt from scheduled rotation without a reason (exemptReason in the stack file, shown in the inventory).`, root?.urn);
            }
        }
    },
};
