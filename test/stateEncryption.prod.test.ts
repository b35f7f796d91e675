/**
 * Prod's stack state is encrypted with its own KMS key (test/stateEncryptionChecks.ts); and no stack
 * of the repository uses a passphrase or shares another stack's state key.
 */
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { describe, it } from "node:test";
import { repoRoot } from "../tools/harness/stackConfig";
import { describeKmsState, readStackFile } from "./stateEncryptionChecks";

describeKmsState("prod", "platform-secrets-state");

describe("every stack's secrets provider", () => {
    const files = readdirSync(repoRoot).filter((f) => /^Pulumi\.[^.]+\.yaml$/.test(f));
    it("is never a passphrase", () => {
        for (const file of files) {
            const doc = readStackFile(file);
            assert.equal(doc.encryptionsalt, undefined, file);
            assert.ok(!String(doc.secretsprovider ?? "").startsWith("passphrase"), file);
        }
    });

    it("is no other stack's: one environment's key never decrypts another's state (runbook 002)", () => {
        const providers = files.map((f) => readStackFile(f).secretsprovider).filter((p): p is string => p !== undefined);
        assert.equal(new Set(providers).size, providers.length, providers.join(", "));
    });
});
