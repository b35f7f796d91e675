/** @pulumi/random and @pulumiverse/time: values deterministic from name and inputs, like a replacement. */
import { deterministicBytes, Outputs, seedOf, shortHash, State } from "./common";

// The character classes of terraform-provider-random's random_password (internal/random/string.go).
export const PASSWORD_CLASSES = {
    lower: "abcdefghijklmnopqrstuvwxyz",
    upper: "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    numeric: "0123456789",
    special: "!@#$%&*()-_=+[]{}<>:?",
};

/** What random_password would produce for these inputs, drawn from `seed`. */
export function mockPassword(inputs: State, seed: string): string {
    const length = Number(inputs.length);
    const on = (k: string) => inputs[k] !== false; // every class defaults to true in the provider
    const special = typeof inputs.overrideSpecial === "string" ? inputs.overrideSpecial : PASSWORD_CLASSES.special;
    const classes: [string, number][] = [];
    if (on("lower")) classes.push([PASSWORD_CLASSES.lower, Number(inputs.minLower ?? 0)]);
    if (on("upper")) classes.push([PASSWORD_CLASSES.upper, Number(inputs.minUpper ?? 0)]);
    if (on("numeric")) classes.push([PASSWORD_CLASSES.numeric, Number(inputs.minNumeric ?? 0)]);
    if (on("special") && special.length > 0) classes.push([special, Number(inputs.minSpecial ?? 0)]);
    const alphabet = classes.map(([c]) => c).join("");
    const bytes = deterministicBytes(seed, length * 2);
    const chars: string[] = [];
    let b = 0;
    for (const [cls, min] of classes) for (let i = 0; i < min; i++) chars.push(cls[bytes[b++ % bytes.length] % cls.length]);
    while (chars.length < length) chars.push(alphabet[bytes[b++ % bytes.length] % alphabet.length]);
    return chars.slice(0, length).join("");
}

function rfc3339(d: Date): string {
    return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

export const randomOutputs: Record<string, Outputs> = {
    "random:index/randomBytes:RandomBytes": (a, i) => {
        const bytes = deterministicBytes(seedOf(a, i), Number(i.length));
        return { id: "none", state: { base64: bytes.toString("base64"), hex: bytes.toString("hex") } };
    },
    "random:index/randomPassword:RandomPassword": (a, i) => {
        const result = mockPassword(i, seedOf(a, i));
        return { id: "none", state: { result, bcryptHash: `$2a$10$${shortHash(result, 53)}` } };
    },
    // time.Static records the clock at creation (the harness clock here).
    "time:index/static:Static": (a, i, ctx) => {
        const at = new Date(typeof i.rfc3339 === "string" ? i.rfc3339 : rfc3339(ctx.now));
        return { id: rfc3339(at), state: { rfc3339: rfc3339(at), unix: Math.floor(at.getTime() / 1000), year: at.getUTCFullYear() } };
    },
};
