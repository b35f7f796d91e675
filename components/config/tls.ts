/**
 * `security.requireTls`, checked as the clients read a value, not by a first-match regex:
 * - Postgres URIs (postgres://, postgresql://, and driver-qualified postgresql+psycopg://) and libpq
 *   keyword/value DSNs (`host=db sslmode=require`): libpq takes the LAST `sslmode`, percent-decodes
 *   URI parameters, and defaults to `prefer` (which falls back to plaintext) when there is none;
 *   only require, verify-ca and verify-full encrypt for certain.
 * - Schemes with a TLS twin (redis → rediss, http → https, ...), compared case-insensitively and
 *   with any `+driver` qualifier removed.
 * - MongoDB: mongodb+srv:// is TLS unless tls/ssl=false; mongodb:// needs tls=true or ssl=true.
 * A composed value is checked after composition: plain values are substituted as they will be, and a
 * scheme that comes from a value the plan cannot see (a generated or supplied secret) cannot be
 * shown to be TLS, so it is refused.
 */

/** Stands in for a value the checker cannot see (generated or supplied); letters only, so it parses anywhere. */
export const UNKNOWN = "unknownvalue";

const TLS_SSLMODES = new Set(["require", "verify-ca", "verify-full"]);

/** Schemes with a TLS twin, which requireTls demands instead. */
const PLAINTEXT_SCHEMES: Record<string, string> = {
    redis: "rediss://",
    valkey: "valkeys://",
    http: "https://",
    ws: "wss://",
    amqp: "amqps://",
    ldap: "ldaps://",
    ftp: "ftps://",
    nats: "tls:// (or a NATS URL with TLS required on the server)",
    mqtt: "mqtts://",
};

/** libpq's percent-decoding of URI parts; undefined for a malformed escape (libpq rejects the URI). */
function pctDecode(s: string): string | undefined {
    try {
        return decodeURIComponent(s);
    } catch {
        return undefined;
    }
}

/** Query parameters in order, as libpq reads them (key=value pairs separated by '&', both decoded). */
function queryParams(uri: string): [string, string][] | undefined {
    const q = uri.indexOf("?");
    if (q < 0) return [];
    const out: [string, string][] = [];
    for (const part of uri.slice(q + 1).split("&")) {
        if (part === "") continue;
        const eq = part.indexOf("=");
        if (eq < 0) return undefined;
        const k = pctDecode(part.slice(0, eq));
        const v = pctDecode(part.slice(eq + 1));
        if (k === undefined || v === undefined) return undefined;
        out.push([k, v]);
    }
    return out;
}

/** The last value of a parameter: what libpq (and most drivers) use when it is repeated. */
function last(params: [string, string][], ...names: string[]): string | undefined {
    let found: string | undefined;
    for (const [k, v] of params) if (names.includes(k)) found = v;
    return found;
}

/**
 * A libpq keyword/value connection string (`host=db port=5432 sslmode=require`), parsed as libpq's
 * conninfo_parse does: `key = value`, values unquoted (backslash escapes) or single-quoted.
 * Undefined when the text is not one.
 */
export function parseKeywordDsn(text: string): [string, string][] | undefined {
    const out: [string, string][] = [];
    let i = 0;
    const ws = (c: string | undefined) => c !== undefined && /\s/.test(c);
    while (i < text.length) {
        while (ws(text[i])) i++;
        if (i >= text.length) break;
        const keyStart = i;
        while (i < text.length && text[i] !== "=" && !ws(text[i])) i++;
        const key = text.slice(keyStart, i);
        while (ws(text[i])) i++;
        if (text[i] !== "=" || !/^[a-z_]+$/.test(key)) return undefined;
        i++;
        while (ws(text[i])) i++;
        let value = "";
        if (text[i] === "'") {
            i++;
            for (;;) {
                if (i >= text.length) return undefined;
                if (text[i] === "\\" && i + 1 < text.length) {
                    value += text[i + 1];
                    i += 2;
                } else if (text[i] === "'") {
                    i++;
                    break;
                } else value += text[i++];
            }
        } else {
            while (i < text.length && !ws(text[i])) {
                if (text[i] === "\\" && i + 1 < text.length) {
                    value += text[i + 1];
                    i += 2;
                } else value += text[i++];
            }
        }
        out.push([key, value]);
    }
    return out.length > 0 ? out : undefined;
}

const LIBPQ_KEYWORDS = new Set(["host", "hostaddr", "port", "dbname", "user", "password", "sslmode", "service", "application_name", "connect_timeout", "options", "target_session_attrs"]);

function sslmodeProblem(mode: string | undefined, where: string): string | undefined {
    if (mode !== undefined && TLS_SSLMODES.has(mode)) return undefined;
    const what = mode === undefined ? "has no sslmode (libpq then uses prefer, which falls back to plaintext)" : `ends with sslmode=${mode.includes(UNKNOWN) ? "<a secret value>" : mode}`;
    return `security.requireTls: this ${where} ${what}; its last sslmode must be require, verify-ca or verify-full`;
}

/** Why a rendered value fails the TLS requirement, or undefined if it passes (or is not a connection string). */
export function tlsViolation(rendered: string): string | undefined {
    const value = rendered.trim();
    const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(value)?.[1];
    if (scheme !== undefined) {
        if (scheme.toLowerCase().includes(UNKNOWN)) return "security.requireTls: the scheme comes from a secret value the plan cannot see, so TLS cannot be shown; write the scheme literally";
        const lower = scheme.toLowerCase();
        const base = lower.split("+")[0];
        if (base === "postgres" || base === "postgresql") {
            const params = queryParams(value);
            if (params === undefined) return "security.requireTls: this Postgres URI has a malformed query string, so its sslmode cannot be read";
            return sslmodeProblem(last(params, "sslmode"), "Postgres URI");
        }
        if (base === "mongodb") {
            const params = queryParams(value) ?? [];
            const tls = last(params, "tls", "ssl");
            const on = lower === "mongodb+srv" ? tls !== "false" : tls === "true";
            return on ? undefined : "security.requireTls: this MongoDB URI does not enable TLS: use mongodb+srv:// or tls=true";
        }
        const twin = PLAINTEXT_SCHEMES[base];
        return twin ? `security.requireTls needs ${twin} instead of ${lower}://` : undefined;
    }
    const dsn = parseKeywordDsn(value);
    if (dsn && dsn.some(([k]) => LIBPQ_KEYWORDS.has(k))) return sslmodeProblem(last(dsn, "sslmode"), "keyword/value DSN");
    return undefined;
}

/**
 * Whether a value, with UNKNOWN standing in for every referenced secret, carries a literal password:
 * in a URI's user-info or a libpq DSN's `password=`. Such a password is a secret in plaintext in
 * the stack file.
 */
export function literalPassword(rendered: string): boolean {
    const value = rendered.trim();
    if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(value)) {
        const authority = value.replace(/^[A-Za-z][A-Za-z0-9+.-]*:\/\//, "").split(/[/?#]/)[0];
        const at = authority.lastIndexOf("@");
        if (at < 0) return false;
        const userinfo = authority.slice(0, at);
        const colon = userinfo.indexOf(":");
        if (colon < 0) return false;
        const password = userinfo.slice(colon + 1);
        return password !== "" && !password.includes(UNKNOWN);
    }
    const dsn = parseKeywordDsn(value);
    const password = dsn ? last(dsn, "password") : undefined;
    return password !== undefined && password !== "" && !password.includes(UNKNOWN);
}
