/**
 * Composed values: `{name}` in a template is replaced by that secret's value. With `uri` encoding
 * every substituted value is percent-encoded, so a password with any character round-trips through
 * a DSN: `decodeURIComponent(new URL(dsn).password)` gives it back exactly.
 */
export type TemplateEncoding = "uri" | "none";

const PLACEHOLDER = /\{([^{}]*)\}/g;

/** The `{name}` references of a template, each once. */
export function templateReferences(template: string): string[] {
    return [...new Set([...template.matchAll(PLACEHOLDER)].map((m) => m[1]))];
}

export function renderTemplate(template: string, values: Record<string, string>, encode: TemplateEncoding): string {
    return template.replace(PLACEHOLDER, (_, name: string) => {
        const v = Object.hasOwn(values, name) ? values[name] : undefined;
        if (v === undefined) throw new Error(`template references {${name}}, which has no value`);
        return encode === "uri" ? encodeURIComponent(v) : v;
    });
}
