/**
 * Go durations as External Secrets reads `refreshInterval` (time.ParseDuration): "1h", "15m",
 * "1h30m", "1.5h", "0". The pack keeps its own parser, because it is loaded without the program's
 * dependencies; test/policy.test.ts checks it agrees with the config schema's.
 */
const UNIT_SECONDS: Record<string, number> = { ns: 1e-9, us: 1e-6, "µs": 1e-6, "μs": 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
const DURATION = /^[+-]?(0|([0-9]*\.?[0-9]+(ns|us|µs|μs|ms|s|m|h))+)$/;

/** Seconds, or undefined when `text` is not a Go duration. */
export function goDurationSeconds(text: string): number | undefined {
    if (!DURATION.test(text)) return undefined;
    const sign = text.startsWith("-") ? -1 : 1;
    let total = 0;
    for (const m of text.matchAll(/([0-9]*\.?[0-9]+)(ns|us|µs|μs|ms|s|m|h)/g)) total += Number(m[1]) * UNIT_SECONDS[m[2]];
    return sign * total;
}
