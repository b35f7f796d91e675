/**
 * Cross-field rules of the TLS material (runbook 001 §4): CA bundle files checked as certificates,
 * client certificates that rotate, one key type per app's PKI role, and broker settings that say
 * TLS where the stack requires it.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { caBundleProblem } from "./certificates";
import type { PlatformConfig } from "./model";
import type { Problem } from "./rules";
import { certificateBundleProblem, ParsedStackConfig } from "./schema";

/** The project directory (Pulumi.yaml's): committed certificate files are relative to it. */
export const PROJECT_DIR = path.resolve(__dirname, "..", "..");

/** A committed CA bundle file's text, or why it cannot be used. */
export function readCaBundleFile(file: string, now = new Date()): { pem?: string; problem?: string } {
    let pem: string;
    try {
        pem = readFileSync(path.join(PROJECT_DIR, file), "utf8");
    } catch {
        return { problem: `${file} does not exist in the project directory (commit the CA certificate there as .crt)` };
    }
    // A file may carry comments around its blocks (OpenSSL skips them); the app receives the blocks only.
    const blocks = [...pem.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g)].map((m) => m[0]).join("\n");
    const why = certificateBundleProblem(blocks) ?? caBundleProblem(blocks, now);
    return why ? { problem: `${file} ${why}` } : { pem: `${blocks}\n` };
}

/** Kafka's security.protocol values that encrypt. */
const KAFKA_TLS_PROTOCOLS = new Set(["SSL", "SASL_SSL"]);

export function tlsCatalogRules(c: ParsedStackConfig, resolved: PlatformConfig): Problem[] {
    const problems: Problem[] = [];
    const add = (p: (string | number)[], message: string) => problems.push({ path: p, message });
    let anyCert = false;
    for (const [appName, app] of Object.entries(c.apps)) {
        const base = ["apps", appName, "secrets"];
        let key: { type: string; bits: number; from: string } | undefined;
        const certKeys = new Set(Object.entries(app.secrets).filter(([, s]) => s.source.kind === "vault-pki-cert").map(([k]) => k));
        for (const [name, s] of Object.entries(app.secrets)) {
            const src = s.source;
            if (src.kind === "ca-bundle") {
                if (src.file !== undefined) {
                    const { problem } = readCaBundleFile(src.file);
                    if (problem) add([...base, name, "source", "file"], problem);
                }
                if (src.includePkiCa && certKeys.size === 0) {
                    add([...base, name, "source", "includePkiCa"], `needs a vault-pki-cert secret in apps.${appName}: the bundle takes the CA that issued it`);
                }
            }
            if (src.kind === "vault-pki-cert") {
                anyCert = true;
                if (s.maxAgeDays === 0) add([...base, name, "maxAgeDays"], "must be above 0: a certificate always expires, so it must rotate (its TTL is the period plus vault.pki.graceDays)");
                if (key && (key.type !== src.keyType || key.bits !== src.keyBits)) {
                    add([...base, name, "source", "keyBits"], `must match apps.${appName}.secrets.${key.from} (${key.type} ${key.bits}): the app's PKI role issues one key type and size`);
                } else if (!key) key = { type: src.keyType, bits: src.keyBits, from: name };
                if (s.env === undefined && src.privateKeyEnv !== undefined) add([...base, name, "env"], "is required with privateKeyEnv: a key without its certificate is of no use");
            }
            if (src.kind === "plain" && c.security.requireTls && s.env !== undefined && /SECURITY_PROTOCOL$/.test(s.env) && !KAFKA_TLS_PROTOCOLS.has(src.value)) {
                add([...base, name, "source", "value"], `security.requireTls: ${s.env}=${src.value} does not encrypt; use SASL_SSL or SSL`);
            }
        }
    }
    if (anyCert) {
        if (c.vault.pki.path === c.vault.kv.path) add(["vault", "pki", "path"], `must differ from vault.kv.path (${c.vault.kv.path}): one mount is one engine`);
        for (const app of resolved.apps) {
            if (app.pki && !/^[a-z0-9][a-z0-9._-]{0,127}$/.test(app.pki.roleName)) add(["apps", app.name], `makes the PKI role name ${app.pki.roleName}, which is not a plain Vault name`);
        }
    }
    return problems;
}
