/**
 * Pulumi.yaml's `config:` declarations, applied to a stack's config the way the engine applies them
 * before a program runs. The mock runtime never reads Pulumi.yaml, so without this a stack that
 * `pulumi preview` stops at ("Stack 'dev' is missing configuration value ...") passes every test.
 *
 * A port of the Pulumi CLI v3.248.0 sources (github.com/pulumi/pulumi/sdk/v3@v3.248.0):
 * - go/common/workspace/project.go: Project.Validate (a declared key's default must match its type,
 *   an array type needs `items`, a key of another namespace takes `value` only) and
 *   ValidateConfigValue / InferFullTypeName (the type check), plus project.json's
 *   configTypeDeclaration (type one of string, integer, boolean, array, object; no other attributes);
 * - go/common/workspace/config.go: mergeConfig, as ValidateStackConfigAndApplyProjectConfig calls it
 *   for preview, up, refresh, destroy and import: a declared key of the project's namespace with no
 *   value in the stack and no default or value is missing (all missing keys in one error), a
 *   default is set on the stack where the key is absent, then validateStackConfigValues checks every
 *   explicitly typed key (secret first, then the type).
 * Error messages are the engine's, word for word.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { repoRoot } from "./stackConfig";

export interface ProjectConfigItemsType {
    type: string;
    items?: ProjectConfigItemsType;
}

export interface ProjectConfigType {
    type?: string;
    description?: string;
    items?: ProjectConfigItemsType;
    default?: unknown;
    value?: unknown;
    secret?: boolean;
}

export interface ProjectFile {
    name: string;
    config: Record<string, ProjectConfigType>;
}

/** An error the engine raises before the program runs (the program never sees the config). */
export class StackConfigError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "StackConfigError";
    }
}

const simpleConfigTypes = ["string", "integer", "boolean", "array", "object"];
const declarationAttributes = ["type", "items", "description", "secret", "default", "value"];

/** Reads and validates a Pulumi.yaml (the repository's by default), as LoadProjectBytes does. */
export function loadProject(text: string = readFileSync(path.join(repoRoot, "Pulumi.yaml"), "utf8")): ProjectFile {
    const raw = (parse(text) ?? {}) as { name?: unknown; config?: Record<string, unknown> };
    if (typeof raw.name !== "string" || raw.name === "") throw new StackConfigError("project is missing a non-empty string 'name' attribute");
    const config: Record<string, ProjectConfigType> = {};
    for (const [key, decl] of Object.entries(raw.config ?? {})) {
        // RewriteShorthandConfigValues: `key: <scalar or array>` is shorthand for `key: { value: ... }`.
        if (decl === null || typeof decl !== "object" || Array.isArray(decl)) {
            config[key] = { value: decl };
            continue;
        }
        // project.json, configTypeDeclaration: additionalProperties false, type from simpleConfigType.
        for (const attr of Object.keys(decl)) {
            if (!declarationAttributes.includes(attr)) throw new StackConfigError(`config.${key}: '${attr}' not allowed`);
        }
        const d = decl as ProjectConfigType;
        if (d.type !== undefined && !simpleConfigTypes.includes(d.type)) {
            throw new StackConfigError(`config.${key}.type: value must be one of ${simpleConfigTypes.map((t) => `"${t}"`).join(", ")}`);
        }
        config[key] = d;
    }
    const project = { name: raw.name, config };
    validateProject(project);
    return project;
}

/** Project.Validate: the declarations themselves. */
export function validateProject(project: ProjectFile): void {
    for (const [configKey, t] of Object.entries(project.config)) {
        if (t.default !== undefined && t.value !== undefined) {
            throw new StackConfigError(`project config '${configKey}' cannot have both a 'default' and 'value' attribute`);
        }
        const namespacedByProject = !configKey.includes(":") || configKey.startsWith(`${project.name}:`);
        if (namespacedByProject) {
            if (t.type !== undefined && t.type === "array" && t.items === undefined) {
                throw new StackConfigError(`The configuration key '${configKey}' declares an array but does not specify the underlying type via the 'items' attribute`);
            }
            if (t.type !== undefined && t.default !== undefined && !validateConfigValue(t.type, t.items, t.default)) {
                throw new StackConfigError(`The default value specified for configuration key '${configKey}' is not of the expected type '${inferFullTypeName(t.type, t.items)}'`);
            }
        } else {
            if (t.type !== undefined) throw new StackConfigError(`Configuration key '${configKey}' is not namespaced by the project and should not define a type`);
            if (t.default !== undefined) {
                throw new StackConfigError(
                    `Configuration key '${configKey}' is not namespaced by the project and should not define a default value. Did you mean to use the 'value' attribute instead of 'default'?`,
                );
            }
            if (t.value === undefined) throw new StackConfigError(`Configuration key '${configKey}' is namespaced and must provide an attribute 'value'`);
        }
    }
}

export function inferFullTypeName(typeName: string, items?: ProjectConfigItemsType): string {
    return items ? `array<${inferFullTypeName(items.type, items.items)}>` : typeName;
}

const isMap = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/** ValidateConfigValue: `value` is what the engine has after decrypting (a string, or parsed JSON for objects). */
export function validateConfigValue(typeName: string, items: ProjectConfigItemsType | undefined, value: unknown): boolean {
    if (typeName === "string") return typeof value === "string";
    if (typeName === "integer") {
        // YAML numbers arrive as float64: whole numbers pass; so do strings strconv.Atoi accepts.
        if (typeof value === "number") return Number.isInteger(value);
        if (typeof value === "string") return /^[+-]?[0-9]+$/.test(value);
        return false;
    }
    if (typeName === "boolean") return value === "true" || value === "false" || typeof value === "boolean";
    if (typeName === "object") return isMap(value);
    if (!Array.isArray(value) || !items) return false;
    return value.every((item) => validateConfigValue(items.type, items.items, item));
}

/** `{ secure: ... }`: an encrypted leaf, as a stack file stores it. */
const isSecureLeaf = (v: unknown): boolean => isMap(v) && Object.keys(v).length === 1 && typeof v.secure === "string";

function hasSecureLeaf(v: unknown): boolean {
    if (isSecureLeaf(v)) return true;
    return v !== null && typeof v === "object" && Object.values(v as object).some(hasSecureLeaf);
}

/**
 * What config.Value holds for a stack file's value: scalars are text (not objects), maps and arrays
 * are JSON objects; `decrypted` stands in for the decrypter (secret config the test supplies).
 */
function engineView(raw: unknown): { object: boolean; secure: boolean; content: unknown } {
    if (isSecureLeaf(raw)) return { object: false, secure: true, content: "[decrypted]" };
    // object.Secure(): a map or array is secure when any leaf is.
    if (raw !== null && typeof raw === "object") return { object: true, secure: hasSecureLeaf(raw), content: JSON.parse(JSON.stringify(raw)) };
    // Value(dec) of a scalar is its text; the type check sees a string.
    return { object: false, secure: false, content: raw === null || raw === undefined ? "" : String(raw) };
}

/** createConfigValue: string, int and bool become text; everything else a JSON object. */
function defaultAsStackValue(v: unknown): unknown {
    if (typeof v === "string" || typeof v === "boolean" || (typeof v === "number" && Number.isInteger(v))) return String(v);
    return v;
}

function formatMissingKeys(keys: string[]): string {
    if (keys.length === 1) return `'${keys[0]}'`;
    const sorted = [...keys].sort();
    return sorted.map((k, i) => (i === sorted.length - 1 ? `and '${k}'` : i === sorted.length - 2 ? `'${k}' ` : `'${k}', `)).join("");
}

function fullKey(projectName: string, key: string): string {
    return key.includes(":") ? key : `${projectName}:${key}`;
}

/**
 * ValidateStackConfigAndApplyProjectConfig for one stack: `stackConfig` is the stack file's config
 * map (keys namespace-qualified or bare), `secretConfig` the values set with `--secret` (decrypted,
 * as the engine's decrypter would give them). Returns the project defaults the engine adds (key →
 * stack value); throws StackConfigError where the engine stops before the program.
 */
export function applyProjectConfig(
    stackName: string,
    project: ProjectFile,
    stackConfig: Record<string, unknown>,
    secretConfig: Record<string, unknown> = {},
): Record<string, unknown> {
    const onStack = new Map<string, { raw: unknown; secret: boolean }>();
    for (const [k, v] of Object.entries(stackConfig)) onStack.set(fullKey(project.name, k), { raw: v, secret: false });
    for (const [k, v] of Object.entries(secretConfig)) onStack.set(fullKey(project.name, k), { raw: v, secret: true });

    const added: Record<string, unknown> = {};
    const missing: string[] = [];
    const keys = Object.keys(project.config).sort();
    for (const projectConfigKey of keys) {
        const t = project.config[projectConfigKey];
        const key = fullKey(project.name, projectConfigKey);
        const found = onStack.has(key);
        const hasDefault = t.default !== undefined;
        const hasValue = t.value !== undefined;
        if (!found && !hasValue && !hasDefault && key.slice(0, key.indexOf(":")) === project.name) {
            missing.push(projectConfigKey);
            continue;
        }
        if (!found && (hasValue || hasDefault)) {
            const value = defaultAsStackValue(hasDefault ? t.default : t.value);
            added[key] = value;
            onStack.set(key, { raw: value, secret: false });
        }
    }
    if (missing.length > 0) {
        throw new StackConfigError(`Stack '${stackName}' is missing configuration ${missing.length > 1 ? "values" : "value"} ${formatMissingKeys(missing)}`);
    }

    // validateStackConfigValues: explicitly typed keys only, in key order, first failure stops.
    for (const projectConfigKey of keys) {
        const t = project.config[projectConfigKey];
        if (t.type === undefined) continue;
        const entry = onStack.get(fullKey(project.name, projectConfigKey));
        // Get() of an absent key is the zero Value: not secure, not an object, empty text.
        const view = entry ? (entry.secret && !isMap(entry.raw) ? { object: false, secure: true, content: String(entry.raw) } : engineView(entry.raw)) : engineView(undefined);
        const secure = view.secure || (entry?.secret ?? false);
        if (t.secret && !secure) throw new StackConfigError(`Stack '${stackName}' with configuration key '${projectConfigKey}' must be encrypted as it's secret`);
        if (!validateConfigValue(t.type, t.items, view.content)) {
            throw new StackConfigError(`Stack '${stackName}' with configuration key '${projectConfigKey}' must be of type '${inferFullTypeName(t.type, t.items)}'`);
        }
    }
    return added;
}
