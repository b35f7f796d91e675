/**
 * @pulumi/vault's PKI resources as Vault's PKI engine answers them: real X.509 certificates, signed
 * by a real CA key (WebCrypto, via @peculiar/x509), so tests parse what the program would get with
 * OpenSSL's parser and check names, key sizes and validity, never a string that looks like a
 * certificate. Like Vault:
 * - a root generated `internal` keeps its key inside the emulated Vault (only the certificate is an output);
 * - an existing mount (vault.pki.manage: false) already has a default issuer, made on first use;
 * - a certificate takes its key type and size from the role, and is refused for a name the role
 *   does not allow, or a TTL above the role's max_ttl, or a notAfter beyond its issuer's.
 */
import "reflect-metadata";
import { createHash, createPrivateKey, createPublicKey, webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";
import { emulatedStore, seedOf, stableJson, type MockContext, type Outputs, type State } from "./common";

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

interface Issuer {
    cert: x509.X509Certificate;
    pem: string;
    keys: CryptoKeyPair;
    alg: Algorithm;
}

interface RoleState {
    allowedDomains: string[];
    allowBareDomains: boolean;
    allowSubdomains: boolean;
    allowGlobDomains: boolean;
    allowAnyName: boolean;
    keyType: string;
    keyBits: number;
    maxTtlSeconds: number;
    clientFlag: boolean;
    serverFlag: boolean;
}

/** The emulated Vault's PKI state across the runs of one process, per provider and mount. */
const issuers = emulatedStore<string, Issuer>();
const roles = emulatedStore<string, RoleState>();

function algorithm(keyType: string, keyBits: number): { gen: RsaHashedKeyGenParams | EcKeyGenParams | Algorithm; sign: Algorithm } {
    if (keyType === "ed25519") return { gen: { name: "Ed25519" }, sign: { name: "Ed25519" } };
    if (keyType === "rsa") {
        const gen = { name: "RSASSA-PKCS1-v1_5", modulusLength: keyBits, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" };
        return { gen, sign: gen };
    }
    const curve = { 256: "P-256", 384: "P-384", 521: "P-521" }[keyBits];
    if (!curve) throw new Error(`Vault PKI: ec key_bits ${keyBits} is not 256, 384 or 521`);
    const hash = { 256: "SHA-256", 384: "SHA-384", 521: "SHA-512" }[keyBits]!;
    return { gen: { name: "ECDSA", namedCurve: curve }, sign: { name: "ECDSA", hash } as Algorithm };
}

/**
 * Serial numbers: unique per issue, yet the same in two processes that run the same program (the
 * offline plan is byte-identical across runs): a hash of the resource's seed, the clock, and how
 * many times this process issued for that seed before.
 */
const issues = emulatedStore<string, number>();
function serial(seed: string): string {
    const n = issues.get(seed) ?? 0;
    issues.set(seed, n + 1);
    const b = createHash("sha256").update(`${seed}#${n}`).digest().subarray(0, 16);
    b[0] &= 0x7f; // positive
    b[0] |= 0x01; // no leading zero byte
    return b.toString("hex");
}

/**
 * An Ed25519 key pair derived from a seed. Ed25519 signatures are deterministic too, so a CA made
 * from a seed is the same certificate in every process (the plan shows its fingerprint).
 */
async function seededEd25519(seed: string): Promise<CryptoKeyPair> {
    const der = Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), createHash("sha256").update(seed).digest()]);
    const pub = createPublicKey(createPrivateKey({ key: der, format: "der", type: "pkcs8" })).export({ format: "der", type: "spki" });
    const alg = { name: "Ed25519" };
    return {
        privateKey: await webcrypto.subtle.importKey("pkcs8", der, alg, true, ["sign"]),
        publicKey: await webcrypto.subtle.importKey("spki", pub, alg, true, ["verify"]),
    } as CryptoKeyPair;
}

/** Vault's serial_number format: lower-case hex bytes joined by ':'. */
export function vaultSerial(hex: string): string {
    return hex.toLowerCase().match(/../g)!.join(":");
}

function ttlSeconds(v: unknown): number | undefined {
    if (v === undefined || v === null || v === "") return undefined;
    const s = String(v);
    if (/^[0-9]+$/.test(s)) return Number(s);
    const m = /^([0-9]+)(s|m|h|d)$/.exec(s);
    if (!m) throw new Error(`Vault PKI: ttl ${s} does not parse`);
    return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[m[2] as "s"];
}

async function makeIssuer(seed: string, commonName: string, keyType: string, keyBits: number, notBefore: Date, notAfter: Date): Promise<Issuer> {
    const { gen, sign } = algorithm(keyType, keyBits);
    const keys = keyType === "ed25519" ? await seededEd25519(seed) : ((await webcrypto.subtle.generateKey(gen, true, ["sign", "verify"])) as CryptoKeyPair);
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
        serialNumber: serial(seed),
        name: [{ CN: [commonName] }],
        notBefore,
        notAfter,
        keys,
        signingAlgorithm: sign,
        extensions: [
            new x509.BasicConstraintsExtension(true, undefined, true),
            new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
            await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
        ],
    });
    return { cert, pem: cert.toString("pem"), keys, alg: sign };
}

const key = (a: { provider?: string }, backend: unknown) => `${a.provider ?? ""}|${String(backend)}`;

/** The issuer of a mount: the generated root, or (an existing mount) the Vault admins' CA, made once. */
async function issuerOf(a: { provider?: string }, backend: unknown, ctx: MockContext): Promise<Issuer> {
    const k = key(a, backend);
    let issuer = issuers.get(k);
    if (!issuer) {
        // The admins' CA: its key is theirs, so any algorithm will do; Ed25519 from a seed keeps plans stable.
        const from = new Date(Date.UTC(ctx.now.getUTCFullYear() - 1, 0, 1));
        issuer = await makeIssuer(k, `existing issuing CA of ${String(backend)} (mock)`, "ed25519", 0, from, new Date(Date.UTC(ctx.now.getUTCFullYear() + 9, 0, 1)));
        issuers.set(k, issuer);
    }
    return issuer;
}

/** Does a role allow a name, as Vault's role checks read allowed_domains? */
function roleAllows(role: RoleState, name: string): boolean {
    if (role.allowAnyName) return true;
    return role.allowedDomains.some((d) => {
        if (role.allowGlobDomains && d.includes("*")) return new RegExp(`^${d.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`).test(name);
        if (role.allowBareDomains && name === d) return true;
        return role.allowSubdomains && name.endsWith(`.${d}`);
    });
}

const rootCert: Outputs = async (a, i, ctx) => {
    if (i.type !== "internal") throw new Error("Vault PKI: this emulation generates internal roots only (the key stays in Vault)");
    const ttl = ttlSeconds(i.ttl) ?? 365 * 86400;
    const notBefore = new Date(ctx.now.getTime() - 30_000);
    const issuer = await makeIssuer(seedOf(a, i), String(i.commonName), String(i.keyType ?? "rsa"), Number(i.keyBits ?? 2048), notBefore, new Date(ctx.now.getTime() + ttl * 1000));
    issuers.set(key(a, i.backend), issuer);
    return {
        id: `${i.backend}/root/generate/internal`,
        state: { certificate: issuer.pem, issuingCa: issuer.pem, serialNumber: vaultSerial(issuer.cert.serialNumber), issuerId: `issuer-${issuer.cert.serialNumber.slice(0, 8)}`, keyId: `key-${issuer.cert.serialNumber.slice(0, 8)}` },
    };
};

const role: Outputs = (a, i) => {
    roles.set(`${key(a, i.backend)}|${i.name}`, {
        allowedDomains: (i.allowedDomains as string[]) ?? [],
        allowBareDomains: Boolean(i.allowBareDomains),
        allowSubdomains: Boolean(i.allowSubdomains),
        allowGlobDomains: Boolean(i.allowGlobDomains),
        allowAnyName: Boolean(i.allowAnyName),
        keyType: String(i.keyType ?? "rsa"),
        keyBits: Number(i.keyBits ?? 2048),
        maxTtlSeconds: ttlSeconds(i.maxTtl) ?? 32 * 86400,
        clientFlag: i.clientFlag !== false,
        serverFlag: i.serverFlag !== false,
    });
    return { id: `${i.backend}/roles/${i.name}` };
};

/**
 * What the engine and the emulated Vault hold per certificate resource across the runs of one
 * process: the inputs and trigger it was issued for, and what it returned. The engine replaces a
 * vault_pki_secret_backend_cert (every input is ForceNew) only when an input or its replacement
 * trigger changes; otherwise the next `up` keeps the certificate it has.
 */
const certificates = emulatedStore<string, { digest: string; result: { id: string; state: State } }>();

const issuedCert: Outputs = async (a, i, ctx) => {
    const slot = `${a.provider ?? ""}|${a.name}`;
    const digest = stableJson({ i, trigger: ctx.replacementTriggers?.get(`${a.type}::${a.name}`) ?? null });
    const kept = certificates.get(slot);
    if (kept && kept.digest === digest) return kept.result;
    const result = await issue(a, i, ctx);
    certificates.set(slot, { digest, result });
    return result;
};

const issue = async (a: Parameters<Outputs>[0], i: State, ctx: MockContext): Promise<{ id: string; state: State }> => {
    const r = roles.get(`${key(a, i.backend)}|${i.name}`);
    if (!r) throw new Error(`Vault PKI: ${i.backend}/issue/${i.name}: unknown role`);
    const names = [String(i.commonName), ...((i.altNames as string[]) ?? [])];
    for (const n of names) if (!roleAllows(r, n)) throw new Error(`Vault PKI: ${i.backend}/issue/${i.name}: ${n} not allowed by this role`);
    const ttl = ttlSeconds(i.ttl) ?? r.maxTtlSeconds;
    if (ttl > r.maxTtlSeconds) throw new Error(`Vault PKI: ttl ${ttl}s is above the role's max_ttl ${r.maxTtlSeconds}s`);
    const issuer = await issuerOf(a, i.backend, ctx);
    const notBefore = new Date(ctx.now.getTime() - 30_000);
    const notAfter = new Date(ctx.now.getTime() + ttl * 1000);
    if (notAfter > issuer.cert.notAfter) throw new Error("Vault PKI: cannot satisfy request, as TTL would result in notAfter of the leaf beyond the issuer's (leaf_not_after_behavior=err)");
    const { gen } = algorithm(r.keyType, r.keyBits);
    const keys = (await webcrypto.subtle.generateKey(gen, true, ["sign", "verify"])) as CryptoKeyPair;
    const usage = r.keyType === "rsa" ? x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment : x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement;
    const eku = [...(r.clientFlag ? [x509.ExtendedKeyUsage.clientAuth] : []), ...(r.serverFlag ? [x509.ExtendedKeyUsage.serverAuth] : [])];
    const sans = i.excludeCnFromSans ? names.slice(1) : names;
    const cert = await x509.X509CertificateGenerator.create({
        serialNumber: serial(`${seedOf(a, i)}|${ctx.now.toISOString()}`),
        subject: [{ CN: [String(i.commonName)] }],
        issuer: issuer.cert.subject,
        notBefore,
        notAfter,
        publicKey: keys.publicKey,
        signingKey: issuer.keys.privateKey,
        signingAlgorithm: issuer.alg,
        extensions: [
            new x509.BasicConstraintsExtension(false, undefined, true),
            new x509.KeyUsagesExtension(usage, true),
            new x509.ExtendedKeyUsageExtension(eku),
            ...(sans.length ? [new x509.SubjectAlternativeNameExtension(sans.map((n) => ({ type: "dns" as const, value: n })))] : []),
            await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
            await x509.AuthorityKeyIdentifierExtension.create(issuer.keys.publicKey),
        ],
    });
    const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey)).toString("base64");
    const privateKey = `-----BEGIN PRIVATE KEY-----\n${pkcs8.match(/.{1,64}/g)!.join("\n")}\n-----END PRIVATE KEY-----`;
    const sn = vaultSerial(cert.serialNumber);
    const state: State = {
        certificate: cert.toString("pem"),
        issuingCa: issuer.pem,
        // The provider joins Vault's ca_chain list with "\n" (resource_pki_secret_backend_cert.go).
        caChain: issuer.pem,
        privateKey,
        privateKeyType: r.keyType,
        serialNumber: sn,
        expiration: Math.floor(notAfter.getTime() / 1000),
        renewPending: false,
    };
    // The provider's id: <backend>/<role>/<common name>.
    return { id: `${String(i.backend).replace(/^\/+|\/+$/g, "")}/${i.name}/${i.commonName}`, state };
};

export const pkiOutputs: Record<string, Outputs> = {
    "vault:pkiSecret/secretBackendRootCert:SecretBackendRootCert": rootCert,
    "vault:pkiSecret/secretBackendRole:SecretBackendRole": role,
    "vault:pkiSecret/secretBackendCert:SecretBackendCert": issuedCert,
};
