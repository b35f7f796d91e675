/**
 * TLS material in the catalog, checked as certificates, never as text: every CA bundle is parsed
 * with node:crypto's X509Certificate (OpenSSL's parser), must be unexpired and must carry the CA
 * flag; client certificate requests name exactly the names and key sizes a PKI role allows.
 */
import { X509Certificate } from "node:crypto";

/** The certificates of a PEM bundle, in order (each block parsed by OpenSSL). Throws on a block that does not parse. */
export function parseBundle(pem: string): X509Certificate[] {
    return [...pem.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)].map((m) => new X509Certificate(m[0]));
}

/** Why a bundle is not a set of usable CA certificates at `now`, or undefined. Assumes certificateBundleProblem passed. */
export function caBundleProblem(pem: string, now: Date = new Date()): string | undefined {
    let certs: X509Certificate[];
    try {
        certs = parseBundle(pem);
    } catch {
        return "holds a CERTIFICATE block that does not parse as an X.509 certificate";
    }
    for (const c of certs) {
        const subject = c.subject.replace(/\n/g, ", ");
        if (!c.ca) return `holds ${subject}, which is not a CA (basicConstraints CA:TRUE missing): a leaf certificate verifies nothing`;
        if (Date.parse(c.validTo) <= now.getTime()) return `holds ${subject}, which expired ${new Date(c.validTo).toISOString().slice(0, 10)}`;
        if (Date.parse(c.validFrom) > now.getTime()) return `holds ${subject}, which is not valid before ${new Date(c.validFrom).toISOString().slice(0, 10)}`;
    }
    return undefined;
}

/** SHA-256 fingerprints of a bundle's certificates, in order: what a CA change is told by. */
export function bundleFingerprints(pem: string): string[] {
    return parseBundle(pem).map((c) => c.fingerprint256);
}

/** Key sizes a PKI role may issue: RSA from 2048 bits, EC from P-256. */
export const PKI_KEY_BITS = { rsa: [2048, 3072, 4096], ec: [256, 384, 521] } as const;
