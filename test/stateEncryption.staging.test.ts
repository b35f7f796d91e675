/**
 * Staging's stack state is encrypted with KMS as prod's is, with its own key: an alias in staging's
 * account, so neither environment's key decrypts the other's state (runbook 002: keys different
 * from production, access limited to staging systems).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
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

describe("staging's secrets provider", () => {
    let staging: StackFile;
    let run: RunResult;

    before(async () => {
        staging = readStackFile("Pulumi.staging.yaml");
        run = await runStack("staging");
    });

    it("is AWS KMS, at the top level of the stack file", () => {
        assert.match(String(staging.secretsprovider), /^awskms:\/\//);
        assert.ok(!("secretsprovider" in (staging.config ?? {})), "not a config key");
    });

    it("names its own KMS alias, not prod's, in the stack's own AWS region", () => {
        const url = new URL(staging.secretsprovider!);
        assert.equal(url.host, "alias");
        assert.equal(url.pathname, "/platform-secrets-state-staging");
        assert.notEqual(staging.secretsprovider, readStackFile("Pulumi.prod.yaml").secretsprovider);
        assert.equal(url.searchParams.get("region"), stackConfig("staging")["platform-secrets:aws"].region);
    });

    it("carries no passphrase salt, and a data key only in its KMS-encrypted form", () => {
        assert.equal(staging.encryptionsalt, undefined);
        if (staging.encryptedkey !== undefined) assert.match(staging.encryptedkey, /^[A-Za-z0-9+/]+=*$/);
    });

    it("uses a key this stack does not manage", () => {
        const aliases = byType(run, "aws:kms/alias:Alias").map((a) => a.inputs.name);
        assert.ok(!aliases.includes("alias/platform-secrets-state-staging"));
    });
});
