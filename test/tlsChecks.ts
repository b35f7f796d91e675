/**
 * The TLS material of a stack (runbook 001 §4, runbook 003), shared by test/tls.<stack>.test.ts.
 * Every certificate the mocks issue is a real X.509 certificate signed by a real CA key
 * (tools/harness/mocks/pki.ts); here it is parsed with node:crypto's X509Certificate (OpenSSL) and
 * checked against the config: names, key type and size, client-only use, validity against the
 * rotation schedule, the chain to the CA bundle the app receives, and the private key kept secret.
 * The Vault policies are parsed with @cdktf/hcl2json and evaluated like the KV rules (vaultChecks.ts).
 */
import assert from "node:assert/strict";
import { createPrivateKey, createPublicKey, X509Certificate } from "node:crypto";
import { before, describe, it } from "node:test";
import { parseBundle } from "../components/config/certificates";
import type { AppSpec, PlatformConfig, SecretSpec } from "../components/config/model";
import { schedulePeriod } from "../components/credentials/rotation";
import { pipelinePolicyNames } from "../components/vault/policies";
import { byType, one, plaintextStrings, resolvedConfig, reveal, RunResult, runStack, SecretValue, TEST_NOW } from "./support";
import { granted, parsePolicy, T } from "./vaultChecks";

export const PKI = {
    mount: "vault:index/mount:Mount",
    root: "vault:pkiSecret/secretBackendRootCert:SecretBackendRootCert",
    role: "vault:pkiSecret/secretBackendRole:SecretBackendRole",
    cert: "vault:pkiSecret/secretBackendCert:SecretBackendCert",
    externalSecret: "kubernetes:external-secrets.io/v1:ExternalSecret",
} as const;

const DAY = 86_400_000;

type CertSource = Extract<SecretSpec["source"], { kind: "vault-pki-cert" }>;

/** The KV data the program writes for an app, revealed (a test may look; the program never prints it). */
export function kvData(run: RunResult, config: PlatformConfig, app: string): Record<string, string> {
    const kv = byType(run, T.kvSecret).find((r) => r.inputs.name === config.apps.find((a) => a.name === app)!.kvPath)!;
    return JSON.parse(String(reveal(kv.inputs.dataJson))) as Record<string, string>;
}

/** Does some CA of the bundle sign this certificate (signature and issuer name)? */
export function chainsTo(cert: X509Certificate, bundle: string): boolean {
    return parseBundle(bundle).some((ca) => ca.ca && cert.checkIssued(ca) && cert.verify(ca.publicKey));
}

export function describeTls(opts: { stack: string; managedMount: boolean }, extra?: (run: () => RunResult, config: () => PlatformConfig) => void): void {
    describe(`TLS material in ${opts.stack}`, () => {
        let run: RunResult;
        let config: PlatformConfig;
        before(async () => {
            config = resolvedConfig(opts.stack);
            run = await runStack(opts.stack);
        });
        const certApps = () => config.apps.filter((a): a is AppSpec & { pki: NonNullable<AppSpec["pki"]> } => a.pki !== undefined);
        const certSecrets = (app: AppSpec) => app.secrets.filter((s) => s.source.kind === "vault-pki-cert");

        it("issues every vault-pki-cert secret of the catalog, and nothing else", () => {
            const wanted = certApps().flatMap((a) => certSecrets(a).map((s) => `vault-pki-${a.name}-${s.key}`)).sort();
            assert.ok(wanted.length > 0, "the stack issues at least one certificate (runbook 001 §4)");
            assert.deepEqual(byType(run, PKI.cert).map((r) => r.name).sort(), wanted);
        });

        it("each certificate parses as X.509 and carries exactly its names, its key and client use", () => {
            for (const app of certApps()) {
                for (const s of certSecrets(app)) {
                    const src = s.source as CertSource;
                    const r = one(run, PKI.cert, `vault-pki-${app.name}-${s.key}`);
                    const cert = new X509Certificate(String(reveal(r.outputs.certificate)));
                    assert.equal(cert.ca, false, `${s.id}: a leaf, not a CA`);
                    assert.equal(cert.subject, `CN=${src.commonName}`);
                    const sans = (cert.subjectAltName ?? "").split(", ").filter(Boolean).sort();
                    assert.deepEqual(sans, [src.commonName, ...src.altNames].map((n) => `DNS:${n}`).sort(), `${s.id}: exactly its names`);
                    assert.equal(cert.publicKey.asymmetricKeyType, src.keyType);
                    const d = cert.publicKey.asymmetricKeyDetails!;
                    if (src.keyType === "rsa") assert.ok(d.modulusLength! >= 2048 && d.modulusLength === src.keyBits, `${s.id}: RSA ${d.modulusLength}`);
                    else assert.equal(d.namedCurve, { 256: "prime256v1", 384: "secp384r1", 521: "secp521r1" }[src.keyBits], `${s.id}: EC curve`);
                    assert.deepEqual(cert.keyUsage, ["1.3.6.1.5.5.7.3.2"], `${s.id}: clientAuth only (no serverAuth, no code signing)`);
                    // The private key is a Pulumi secret, and it is the certificate's.
                    assert.ok(r.outputs.privateKey instanceof SecretValue, `${s.id}: privateKey must be secret`);
                    const key = createPrivateKey(String(reveal(r.outputs.privateKey)));
                    assert.equal(createPublicKey(key).export({ format: "der", type: "spki" }).toString("hex"), cert.publicKey.export({ format: "der", type: "spki" }).toString("hex"));
                    // Signed by the CA the mount reports.
                    const issuing = new X509Certificate(String(reveal(r.outputs.issuingCa)));
                    assert.ok(issuing.ca && cert.checkIssued(issuing) && cert.verify(issuing.publicKey), `${s.id}: signed by its issuing CA`);
                }
            }
        });

        it("each certificate is valid now and past the next scheduled re-issue, for no longer than its period plus graceDays", () => {
            const grace = config.vault.pki.graceDays;
            for (const app of certApps()) {
                for (const s of certSecrets(app)) {
                    const cert = new X509Certificate(String(reveal(one(run, PKI.cert, `vault-pki-${app.name}-${s.key}`).outputs.certificate)));
                    const from = Date.parse(cert.validFrom);
                    const to = Date.parse(cert.validTo);
                    const next = Date.parse(`${schedulePeriod(TEST_NOW, config.rotation.epoch, s.maxAgeDays).next}T00:00:00Z`);
                    assert.ok(s.maxAgeDays > 0 && s.maxAgeDays <= 90, `${s.id}: rotated at least every 90 days (runbook 003), got ${s.maxAgeDays}`);
                    assert.ok(from <= TEST_NOW.getTime() && to > TEST_NOW.getTime(), `${s.id}: valid now`);
                    assert.ok(to >= next + grace * DAY - 3_600_000, `${s.id}: valid until the next scheduled re-issue plus ${grace} days (${cert.validTo})`);
                    assert.ok(to - from <= (s.maxAgeDays + grace) * DAY + 60_000, `${s.id}: TTL bounded by the schedule (${cert.validFrom} .. ${cert.validTo})`);
                }
            }
        });

        it("each app's PKI role allows exactly its names, one key size, client use, a TTL bounded by the schedule", () => {
            for (const app of certApps()) {
                const role = one(run, PKI.role, `vault-pki-${app.name}-role`).inputs;
                assert.equal(role.name, app.pki.roleName);
                assert.equal(role.backend, config.vault.pki.path);
                assert.deepEqual([...(role.allowedDomains as string[])].sort(), app.pki.names);
                for (const k of ["allowSubdomains", "allowGlobDomains", "allowWildcardCertificates", "allowAnyName", "allowIpSans", "allowLocalhost", "serverFlag", "codeSigningFlag", "emailProtectionFlag"]) {
                    assert.equal(role[k], false, `${app.name}: ${k} must be false`);
                }
                assert.equal(role.allowBareDomains, true);
                assert.equal(role.clientFlag, true);
                assert.deepEqual(role.allowedUriSans, []);
                assert.deepEqual(role.allowedOtherSans, []);
                assert.ok(role.keyType === "rsa" ? Number(role.keyBits) >= 2048 : role.keyType === "ec" && Number(role.keyBits) >= 256, `${app.name}: key ${role.keyType} ${role.keyBits}`);
                const longest = Math.max(...certSecrets(app).map((s) => s.maxAgeDays));
                assert.equal(Number(role.maxTtl), (longest + config.vault.pki.graceDays) * 86400);
            }
        });

        it(`${opts.managedMount ? "owns the PKI mount and generates its root inside Vault" : "uses the existing PKI mount and creates no mount or root"}`, () => {
            const mounts = byType(run, PKI.mount).filter((m) => m.inputs.type === "pki");
            const roots = byType(run, PKI.root);
            if (!opts.managedMount) {
                assert.deepEqual([mounts.length, roots.length], [0, 0]);
                return;
            }
            assert.equal(mounts.length, 1);
            assert.equal(mounts[0].inputs.path, config.vault.pki.path);
            assert.equal(roots.length, 1);
            assert.equal(roots[0].inputs.type, "internal", "the CA key never leaves Vault");
            const root = new X509Certificate(String(reveal(roots[0].outputs.certificate)));
            assert.ok(root.ca);
        });

        it("the app's Secret carries the certificate, the key and the CA bundles under the runbook's keys, and the bundle verifies the certificate", () => {
            const soma = config.apps.find((a) => a.name === "soma-memory")!;
            const es = byType(run, PKI.externalSecret).find((r) => (r.inputs.metadata as { name: string }).name === soma.secretName)!;
            const keys = ((es.inputs.spec as { data: { secretKey: string }[] }).data).map((d) => d.secretKey);
            for (const k of ["POSTGRES_SSL_ROOT_CERT", "POSTGRES_SSL_CERT", "POSTGRES_SSL_KEY", "QDRANT_TLS", "QDRANT_TLS_CA_PATH", "KAFKA_SECURITY_PROTOCOL", "KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD", "KAFKA_SSL_CA_LOCATION"]) {
                assert.ok(keys.includes(k), `${soma.secretName} lacks ${k}`);
            }
            const data = kvData(run, config, "soma-memory");
            const cert = new X509Certificate(data.postgres_client_cert);
            assert.match(data.postgres_client_cert_private_key, /^-----BEGIN PRIVATE KEY-----/);
            assert.equal(data.qdrant_tls, "true");
            assert.equal(data.kafka_security_protocol, "SASL_SSL");
            for (const bundle of ["postgres_ssl_root_cert", "qdrant_tls_ca", "kafka_ssl_ca_location"]) {
                const certs = parseBundle(data[bundle]);
                assert.ok(certs.length > 0 && certs.every((c) => c.ca && Date.parse(c.validTo) > TEST_NOW.getTime()), `${bundle}: CA certificates, unexpired`);
                assert.doesNotMatch(data[bundle], /PRIVATE KEY/);
            }
            // includePkiCa: the Postgres root bundle verifies the client certificate Vault issued.
            assert.ok(chainsTo(cert, data.postgres_ssl_root_cert), "POSTGRES_SSL_ROOT_CERT verifies POSTGRES_SSL_CERT");
            assert.ok(!chainsTo(cert, data.qdrant_tls_ca), "the Qdrant bundle holds the platform CA only");
        });

        it("the inventory shows each certificate's serial, not-after and next rotation, and no output holds a key", () => {
            const inventory = reveal(run.outputs.inventory) as { app: string; secret: string; source: string; serialNumber?: string; notAfter?: string; nextScheduledRotation?: string }[];
            for (const app of certApps()) {
                for (const s of certSecrets(app)) {
                    const e = inventory.find((x) => x.app === app.name && x.secret === s.key)!;
                    const cert = new X509Certificate(String(reveal(one(run, PKI.cert, `vault-pki-${app.name}-${s.key}`).outputs.certificate)));
                    assert.equal(e.serialNumber!.replace(/:/g, "").toUpperCase(), cert.serialNumber);
                    assert.equal(Date.parse(e.notAfter!), Date.parse(cert.validTo));
                    assert.equal(e.nextScheduledRotation, schedulePeriod(TEST_NOW, config.rotation.epoch, s.maxAgeDays).next);
                }
            }
            const tls = reveal(run.outputs.tlsState) as { certificates: Record<string, unknown> };
            assert.ok(Object.keys(tls.certificates).length > 0);
            const leaks = plaintextStrings(run.outputs).filter((p) => /PRIVATE KEY/.test(p.value));
            assert.deepEqual(leaks, [], "no stack output holds a private key in plaintext");
        });

        it("the rotator policy grants exactly the PKI paths the provider needs per app role; the read policies gain nothing", async () => {
            const names = pipelinePolicyNames(config);
            const policies = new Map<string, string>(byType(run, T.policy).map((r) => [String(r.inputs.name), String(r.inputs.policy)]));
            const rotator = await parsePolicy(names.rotator, policies.get(names.rotator)!);
            const pki = config.vault.pki.path;
            for (const rule of rotator.keys()) {
                if (rule.startsWith(`${pki}/`) || rule.startsWith(`sys/mounts/${pki}`)) assert.ok(!/[*+]/.test(rule), `${rule}: no glob on the PKI mount`);
            }
            for (const app of certApps()) {
                assert.deepEqual(granted(rotator, `${pki}/issue/${app.pki.roleName}`), ["update"]);
                assert.deepEqual(granted(rotator, `${pki}/roles/${app.pki.roleName}`), ["create", "delete", "read", "update"]);
                assert.deepEqual(granted(rotator, `${pki}/sign/${app.pki.roleName}`), [], "no signing of arbitrary CSRs");
            }
            for (const path of [`${pki}/issue/some-other-role`, `${pki}/roles/some-other-role`, `${pki}/revoke`, `${pki}/root`, `${pki}/root/sign-intermediate`, `${pki}/config/ca`, `${pki}/issuer/default`, `${pki}/sign-verbatim`, `${pki}/keys/generate/internal`]) {
                assert.deepEqual(granted(rotator, path), [], `rotator on ${path}`);
            }
            assert.ok(!granted(rotator, `sys/mounts/${pki}`).includes("delete"), "never disables the PKI mount");
            // The provider's certificate refresh reads the mount (mountutil.GetMount); an existing mount is only read.
            assert.deepEqual(granted(rotator, `sys/mounts/${pki}`), opts.managedMount ? ["create", "read", "update"] : ["read"]);
            assert.deepEqual(granted(rotator, `${pki}/root/generate/internal`), opts.managedMount ? ["update"] : []);
            for (const app of config.apps) {
                const read = await parsePolicy(app.readPolicyName, policies.get(app.readPolicyName)!);
                for (const path of [`${pki}/issue/${app.pki?.roleName ?? "x"}`, `${pki}/roles/${app.pki?.roleName ?? "x"}`, `${pki}/cert/ca`, `sys/mounts/${pki}`]) {
                    assert.deepEqual(granted(read, path), [], `${app.readPolicyName} on ${path}`);
                }
                assert.ok([...read.keys()].every((p) => !p.startsWith(`${pki}/`)), `${app.readPolicyName} names no PKI path`);
            }
        });

        extra?.(() => run, () => config);
    });
}
