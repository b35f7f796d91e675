/**
 * Composed values: `{name}` in a template is replaced by that secret's value. With `uri` encoding
 * every substituted value is percent-encoded, so a password with any character round-trips through
 * a DSN: `decodeURIComponent(new URL(dsn).password)` gives it back exactly.
 */
export type TemplateEncoding = "uri" | "none";

export function renderTemplate(template: string, values: Record<string, string>, encode: TemplateEncoding): string {
    return template.replace(/\{([^{}]*)\}/g, (_, name: string) => {
        const v = values[name];
        if (v === undefined) throw new Error(`template references {${name}}, which has no value`);
        return encode === "uri" ? encodeURIComponent(v) : v;
    });
}
