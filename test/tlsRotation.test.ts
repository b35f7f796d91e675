/**
 * Certificates re-issued on the schedule and before they expire, and CA bundles that keep the
 * previous CA for one period (runbook 001 §4, runbook 003 §6), over successive runs of the prod
 * program against the same emulated Vault: each run reads the last one's outputs, as `pulumi up`
 * reads the last deployment's through its StackReference.
 */
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { describe, it } from "node:test";
import { parseBundle } from "../components/config/certificates";
import { certificateDecision, expiresTooSoon, rollCaBundle } from "../components/credentials/certificateRotation";
import { schedulePeriod } from "../components/credentials/rotation";
import { projectName } from "../tools/harness/stackConfig";
import { one, overlay, resolvedConfig, reveal, RunResult, runStack, stackConfig, TEST_CA_PEM } from "./support";
import { chainsTo, kvData, PKI } from "./tlsChecks";

const CERT = "vault-pki-soma-memory-postgres_client_cert";
const DAY = 86_400_000;
const PLATFORM_CA = parseBundle(require("node:fs").readFileSync(require("node:path").join(__dirname, "..", "certs", "platform-ca.crt"), "utf8"))[0];
const TEST_CA = parseBundle(TEST_CA_PEM)[0];

function trigger(run: RunResult): string {
    return String(one(run, PKI.cert, CERT).options.replacementTrigger);
}
function issued(run: RunResult): X509Certificate {
    return new X509Certificate(String(reveal(one(run, PKI.cert, CERT).outputs.certificate)));
}
function inventoryEntry(run: RunResult, secret: string): Record<string, unknown> {
    return (reveal(run.outputs.inventory) as Record<string, unknown>[]).find((e) => e.app === "soma-memory" && e.secret === secret)!;
}
const prev = (run: RunResult) => reveal(run.outputs) as Record<string, unknown>;
function withCatalog(patch: Record<string, unknown>, rotation?: Record<string, unknown>): Record<string, unknown> {
    const c = stackConfig("prod");
    c[`${projectName}:apps`] = overlay(c[`${projectName}:apps`], { "soma-memory": { secrets: patch } });
    if (rotation) c[`${projectName}:rotation`] = overlay(c[`${projectName}:rotation`], rotation);
    return c;
}

describe("certificate re-issue", () => {
    it("keeps the certificate while nothing moves, re-issues it when the schedule moves to the next period", async () => {
        const t0 = new Date("2026-11-22T09:00:00Z");
        const first = await runStack("prod", { now: t0 });
        assert.equal(inventoryEntry(first, "postgres_client_cert").reissue, "first issue");
        const again = await runStack("prod", { now: new Date(t0.getTime() + DAY), previousOutputs: prev(first) });
        assert.equal(trigger(again), trigger(first), "same period: same trigger, the engine keeps the certificate");
        assert.equal(inventoryEntry(again, "postgres_client_cert").reissue, "kept");
        assert.equal(issued(again).serialNumber, issued(first).serialNumber, "the same certificate (the emulated engine keeps it)");
        // Prod: 90-day periods from 2026-01-01; the next starts 2026-12-27.
        const next = new Date("2026-12-27T10:00:00Z");
        const rotated = await runStack("prod", { now: next, previousOutputs: prev(again) });
        assert.equal(Number(trigger(rotated)), Number(trigger(first)) + 1, "a new period re-issues, once");
        assert.equal(inventoryEntry(rotated, "postgres_client_cert").reissue, "scheduled");
        const cert = issued(rotated);
        assert.ok(Date.parse(cert.validFrom) <= next.getTime() && Date.parse(cert.validTo) >= Date.parse("2027-03-27T00:00:00Z") + 7 * DAY - 3_600_000, `${cert.validFrom} .. ${cert.validTo}`);
        assert.notEqual(cert.serialNumber, issued(first).serialNumber);
        // A generation bump re-issues too (a reviewed, one-line change), at once.
        const bumped = await runStack("prod", { now: next, previousOutputs: prev(rotated), config: withCatalog({}, { generations: { "soma-memory/postgres_client_cert": 1 } }) });
        assert.equal(Number(trigger(bumped)), Number(trigger(rotated)) + 1);
    });

    it("re-issues at once a certificate that would expire before the next period, even when the counter moves back", async () => {
        // Issued on 2026-10-01 under 90-day periods: valid until 2027-01-06 (90 + 7 days).
        const early = await runStack("prod", { now: new Date("2026-10-01T09:00:00Z") });
        const notAfter = String(inventoryEntry(early, "postgres_client_cert").notAfter);
        assert.equal(notAfter.slice(0, 10), "2027-01-06");
        // The schedule moves out: 150-day periods put the next re-issue on 2027-03-27, after that expiry
        // (and the counter goes from 3 periods to 2: on its own, nothing would be re-issued).
        const config = withCatalog({ postgres_client_cert: { maxAgeDays: 150 } });
        const now = new Date("2026-11-22T09:00:00Z");
        assert.equal(schedulePeriod(now, "2026-01-01", 150).next, "2027-03-27");
        const later = await runStack("prod", { now, previousOutputs: prev(early), config });
        assert.equal(inventoryEntry(later, "postgres_client_cert").reissue, "expiry");
        assert.equal(Number(trigger(later)), Number(trigger(early)) + 1, "re-issued by its trigger");
        const cert = issued(later);
        assert.ok(Date.parse(cert.validTo) >= Date.parse("2027-03-27T00:00:00Z") + 7 * DAY - 3_600_000, `now valid past the next period: ${cert.validTo}`);
        // The next update keeps it: no re-issue on every `up`.
        const after = await runStack("prod", { now: new Date(now.getTime() + DAY), previousOutputs: prev(later), config });
        assert.equal(trigger(after), trigger(later));
        assert.equal(inventoryEntry(after, "postgres_client_cert").reissue, "kept");
    });

    it("the decision, unit by unit: expiry slack, first issue, forward jump by one", () => {
        const period = schedulePeriod(new Date("2026-11-22T00:00:00Z"), "2026-01-01", 90);
        assert.equal(expiresTooSoon("2027-01-03T00:00:00Z", period, 7), false, "exactly next + grace is enough");
        assert.equal(expiresTooSoon("2027-01-02T00:00:00Z", period, 7), true);
        assert.equal(certificateDecision({ generation: 0, period, graceDays: 7 }).reason, "first issue");
        const jump = certificateDecision({ generation: 0, period, graceDays: 7, previousRotation: { applied: 0, offset: 0 } });
        assert.deepEqual([jump.applied, jump.reason], [1, "scheduled"], "three periods missed: one re-issue, not three");
    });
});

describe("CA bundle during a CA change", () => {
    const caChange = (pem: string | null, file: string | null) => withCatalog({ qdrant_tls_ca: { source: { kind: "ca-bundle", pem, file } } });

    it("keeps the previous CA beside the new one for one period, then drops it", async () => {
        const config = resolvedConfig("prod");
        const t0 = new Date("2026-11-22T09:00:00Z");
        const before = await runStack("prod", { now: t0, config: caChange(null, "certs/platform-ca.crt") });
        const fps = (run: RunResult) => parseBundle(kvData(run, config, "soma-memory").qdrant_tls_ca).map((c) => c.fingerprint256);
        assert.deepEqual(fps(before), [PLATFORM_CA.fingerprint256]);
        // The CA changes: the new one first, the previous one still there.
        const roll = await runStack("prod", { now: new Date(t0.getTime() + DAY), previousOutputs: prev(before), config: caChange(TEST_CA_PEM, null) });
        assert.deepEqual(fps(roll), [TEST_CA.fingerprint256, PLATFORM_CA.fingerprint256]);
        assert.deepEqual(inventoryEntry(roll, "qdrant_tls_ca").caFingerprints, [TEST_CA.fingerprint256, PLATFORM_CA.fingerprint256]);
        // Still both, later in the period (the state carries the previous CA from run to run).
        const mid = await runStack("prod", { now: new Date(t0.getTime() + 60 * DAY), previousOutputs: prev(roll), config: caChange(TEST_CA_PEM, null) });
        assert.deepEqual(fps(mid), [TEST_CA.fingerprint256, PLATFORM_CA.fingerprint256]);
        // One period (prod: 90 days) after the change, only the new CA.
        const done = await runStack("prod", { now: new Date(t0.getTime() + 92 * DAY), previousOutputs: prev(mid), config: caChange(TEST_CA_PEM, null) });
        assert.deepEqual(fps(done), [TEST_CA.fingerprint256]);
    });

    it("the rolled bundle holds both CAs, a reordered bundle is no change, and the PKI CA in the Postgres bundle verifies the issued certificate", async () => {
        const config = resolvedConfig("prod");
        const run = await runStack("prod");
        const data = kvData(run, config, "soma-memory");
        assert.ok(chainsTo(issued(run), data.postgres_ssl_root_cert));
        const rolled = rollCaBundle(TEST_CA_PEM, { fingerprints: [PLATFORM_CA.fingerprint256], pem: PLATFORM_CA.toString() }, new Date(), 90);
        for (const ca of [PLATFORM_CA, TEST_CA]) assert.ok(parseBundle(rolled.bundle).some((c) => c.fingerprint256 === ca.fingerprint256 && ca.checkIssued(c)));
        // A bundle with the same CAs in another order is no change.
        const same = rollCaBundle(`${TEST_CA_PEM}\n${PLATFORM_CA.toString()}`, { fingerprints: [PLATFORM_CA.fingerprint256, TEST_CA.fingerprint256], pem: "" }, new Date(), 90);
        assert.equal(same.state.previousPem, undefined);
    });
});
