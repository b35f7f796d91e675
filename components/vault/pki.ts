import * as pulumi from "@pulumi/pulumi";
import * as vault from "@pulumi/vault";
import { certificateTtlHours, PlatformConfig, SecretSpec } from "../config/model";
import type { StatefulOptions } from "../config/stateful";
import { CertificateState, certificateDecision, ReissueReason, TlsState } from "../credentials/certificateRotation";
import { schedulePeriod } from "../credentials/rotation";
import type { RotationState } from "../credentials/rotationState";

export interface VaultPkiArgs {
    /** The resolved config: vault.pki, the apps' vault-pki-cert secrets and PKI roles, the rotation schedule. */
    readonly config: PlatformConfig;
    /** The clock for scheduled rotation and the expiry check. */
    readonly now: Date;
    /** What the last deployment applied: rotation counters and the certificates it issued. */
    readonly previous: { readonly rotation: RotationState; readonly tls: TlsState };
    /** The mount and its root CA: protected and retained where config says so. */
    readonly stateful: StatefulOptions;
    /** The stack's Vault provider (components/vault/provider.ts), passed to every resource. */
    readonly provider: vault.Provider;
}

/** One issued client certificate, as the app's credentials and the inventory read it. */
export interface IssuedCertificate {
    /** The certificate (PEM): public. */
    readonly certificate: pulumi.Output<string>;
    /** Its private key (PKCS#8 PEM): always a Pulumi secret. */
    readonly privateKey: pulumi.Output<string>;
    /** The CA that issued it (PEM): what a ca-bundle with includePkiCa appends. */
    readonly issuingCa: pulumi.Output<string>;
    /** Vault's serial number (hex bytes joined by ':'). */
    readonly serialNumber: pulumi.Output<string>;
    /** RFC 3339 expiry. */
    readonly notAfter: pulumi.Output<string>;
    /** The rotation counter applied: the certificate's replacement trigger. */
    readonly rotation: number;
    /** Desired minus applied counter (rotationState.ts). */
    readonly offset: number;
    readonly reason: ReissueReason;
    /** The date of the next scheduled re-issue. */
    readonly nextScheduledRotation?: string;
}

/**
 * The apps' client certificates from Vault's PKI secrets engine: the mount (or an existing one,
 * vault.pki.manage: false) with a root CA generated inside Vault, so its key never leaves it; per
 * app one role that allows exactly the names of its certificates, one key type and size, client
 * use only, and a max TTL of its rotation period plus graceDays; per certificate one issue.
 *
 * A certificate is replaced (re-issued) when its replacement trigger, the rotation counter of
 * certificateRotation.ts, moves: a new scheduled period, a generation bump, or a certificate that
 * would expire before the next period. autoRenew with minSecondsRemaining is the provider's own
 * net under that: a plan within graceDays of expiry re-issues too.
 */
export class VaultPki extends pulumi.ComponentResource {
    readonly mountPath: pulumi.Output<string>;
    /** app → catalog key → certificate. */
    readonly certificates: Readonly<Record<string, Readonly<Record<string, IssuedCertificate>>>>;
    /** The counters applied, per "<app>/<secret>" (merged into the stack's rotationState). */
    readonly rotationState: pulumi.Output<RotationState>;
    /** What was issued, per "<app>/<secret>" (the stack's tlsState.certificates). */
    readonly certificateState: pulumi.Output<Record<string, CertificateState>>;

    constructor(name: string, args: VaultPkiArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform-secrets:vault:VaultPki", name, {}, opts);
        const { config, provider } = args;
        const pki = config.vault.pki;

        if (pki.manage) {
            const mount = new vault.Mount(
                `${name}-mount`,
                {
                    path: pki.path,
                    type: "pki",
                    description: "PKI: the apps' client certificates (platform-secrets).",
                    // The root's validity: Vault caps every certificate of the mount at max_lease_ttl.
                    maxLeaseTtlSeconds: pki.rootTtlDays * 86400,
                },
                { parent: this, provider, ...args.stateful },
            );
            // type internal: Vault generates the key and never returns it; only the certificate is in state.
            const root = new vault.pkisecret.SecretBackendRootCert(
                `${name}-root`,
                { backend: mount.path, type: "internal", commonName: pki.rootCommonName, ttl: String(pki.rootTtlDays * 86400), keyType: "ec", keyBits: 384, format: "pem" },
                { parent: this, provider, ...args.stateful },
            );
            this.mountPath = pulumi.all([mount.path, root.serialNumber]).apply(([p]) => p);
        } else {
            this.mountPath = pulumi.output(pki.path);
        }

        const certificates: Record<string, Record<string, IssuedCertificate>> = {};
        const rotation: pulumi.Output<[string, { applied: number; offset: number }]>[] = [];
        const issued: pulumi.Output<[string, CertificateState]>[] = [];
        for (const app of config.apps) {
            if (!app.pki) continue;
            const spec = app.pki;
            const role = new vault.pkisecret.SecretBackendRole(
                `${name}-${app.name}-role`,
                {
                    backend: this.mountPath,
                    name: spec.roleName,
                    // Exactly the app's names: no subdomains, globs, wildcards, IPs, localhost or any name.
                    allowedDomains: spec.names,
                    allowBareDomains: true,
                    allowSubdomains: false,
                    allowGlobDomains: false,
                    allowWildcardCertificates: false,
                    allowAnyName: false,
                    allowIpSans: false,
                    allowLocalhost: false,
                    allowedUriSans: [],
                    allowedOtherSans: [],
                    // A common name may be a database user (Postgres maps the CN to a role), not a hostname.
                    enforceHostnames: false,
                    requireCn: true,
                    keyType: spec.keyType,
                    keyBits: spec.keyBits,
                    keyUsages: spec.keyType === "rsa" ? ["DigitalSignature", "KeyEncipherment"] : ["DigitalSignature", "KeyAgreement"],
                    clientFlag: true,
                    serverFlag: false,
                    codeSigningFlag: false,
                    emailProtectionFlag: false,
                    ttl: String(spec.maxTtlHours * 3600),
                    maxTtl: String(spec.maxTtlHours * 3600),
                    generateLease: false,
                },
                { parent: this, provider },
            );
            certificates[app.name] = {};
            for (const s of app.secrets) {
                if (s.source.kind !== "vault-pki-cert") continue;
                const cert = this.issue(name, app.name, s, role, args);
                certificates[app.name][s.key] = cert;
                const decision = { applied: cert.rotation, offset: cert.offset };
                rotation.push(pulumi.output([s.id, decision] as [string, { applied: number; offset: number }]));
                issued.push(pulumi.all([cert.serialNumber, cert.notAfter]).apply(([serial, notAfter]): [string, CertificateState] => [s.id, { serial, notAfter, rotation: cert.rotation }]));
            }
        }
        this.certificates = certificates;
        this.rotationState = pulumi.all(rotation).apply((e) => Object.fromEntries(e));
        this.certificateState = pulumi.all(issued).apply((e) => Object.fromEntries(e));
        this.registerOutputs({ mountPath: this.mountPath, certificateState: this.certificateState });
    }

    private issue(name: string, app: string, s: SecretSpec, role: vault.pkisecret.SecretBackendRole, args: VaultPkiArgs): IssuedCertificate {
        if (s.source.kind !== "vault-pki-cert") throw new Error("unreachable");
        const { config, now, previous, provider } = args;
        const graceDays = config.vault.pki.graceDays;
        const period = schedulePeriod(now, config.rotation.epoch, s.maxAgeDays);
        const decision = certificateDecision({ generation: s.generation, period, graceDays, previousRotation: previous.rotation[s.id], previousCertificate: previous.tls.certificates[s.id] });
        const cert = new vault.pkisecret.SecretBackendCert(
            `${name}-${app}-${s.key}`,
            {
                backend: this.mountPath,
                name: role.name,
                commonName: s.source.commonName,
                altNames: s.source.altNames,
                // The rotation period plus graceDays: valid past the next scheduled re-issue, never longer.
                ttl: String(certificateTtlHours(s, graceDays) * 3600),
                format: "pem",
                privateKeyFormat: "pkcs8",
                autoRenew: true,
                minSecondsRemaining: graceDays * 86400,
                // A replaced certificate expires on its own within graceDays of the next period; revoking
                // it would cut off pods that have not yet reloaded the new one.
                revoke: false,
            },
            // The counter is the trigger: a new period, a generation bump or an expiring certificate
            // replaces the certificate, and `pulumi preview` shows the trigger next to the reason.
            { parent: this, provider, replacementTrigger: String(decision.applied) },
        );
        return {
            certificate: cert.certificate,
            privateKey: pulumi.secret(cert.privateKey),
            issuingCa: cert.issuingCa,
            serialNumber: cert.serialNumber,
            notAfter: cert.expiration.apply((e) => new Date(e * 1000).toISOString()),
            rotation: decision.applied,
            offset: decision.offset,
            reason: decision.reason,
            nextScheduledRotation: period.next,
        };
    }
}
