/**
 * Prod's stack state is encrypted with a KMS key (runbook 000: production secrets in a managed
 * secrets system, never a passphrase), and that key lives outside the stack it protects.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import { parse } from "yaml";
import { repoRoot } from "../tools/harness/stackConfig";
import { byType, runStack, stackConfig, type RunResult } from "./support";

interface StackFile {
    secretsprovider?: string;
    encryptedkey?: string;
    encryptionsalt?: string;
    config?: Record<string, unknown>;
}

const readStackFile = (file: string) => parse(readFileSync(path.join(repoRoot, file), "utf8")) as StackFile;

describe("prod's secrets provider", () => {
    let prod: StackFile;
    let run: RunResult;

    before(async () => {
        prod = readStackFile("Pulumi.prod.yaml");
        run = await runStack("prod");
    });

    it("is AWS KMS (or Vault transit), at the top level of the stack file", () => {
        assert.equal(typeof prod.secretsprovider, "string");
        assert.match(prod.secretsprovider!, /^(awskms|hashivault):\/\//);
        assert.ok(!("secretsprovider" in (prod.config ?? {})), "not a config key");
    });

    it("names a KMS alias in the stack's own AWS region", () => {
        const url = new URL(prod.secretsprovider!);
        assert.equal(url.protocol, "awskms:");
        assert.equal(url.host, "alias");
        assert.equal(url.pathname, "/platform-secrets-state");
        assert.equal(url.searchParams.get("region"), stackConfig("prod")["platform-secrets:aws"].region);
    });

    it("carries no passphrase salt, and a data key only in its KMS-encrypted form", () => {
        assert.equal(prod.encryptionsalt, undefined);
        if (prod.encryptedkey !== undefined) assert.match(prod.encryptedkey, /^[A-Za-z0-9+/]+=*$/);
    });

    it("uses a key this stack does not manage: a stack cannot hold the key to its own state", () => {
        const aliases = byType(run, "aws:kms/alias:Alias").map((a) => a.inputs.name);
        assert.ok(!aliases.includes("alias/platform-secrets-state"));
    });
});

describe("every stack's secrets provider", () => {
    it("is never a passphrase", () => {
        for (const file of readdirSync(repoRoot).filter((f) => /^Pulumi\.[^.]+\.yaml$/.test(f))) {
            const doc = readStackFile(file);
            assert.equal(doc.encryptionsalt, undefined, file);
            assert.ok(!String(doc.secretsprovider ?? "").startsWith("passphrase"), file);
        }
    });
});
