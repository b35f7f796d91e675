/**
 * A protected stack's state is encrypted with a KMS key (runbook 000: production secrets in a managed
 * secrets system, never a passphrase), an alias of its own, and that key lives outside the stack it
 * protects. test/stateEncryption.<stack>.test.ts calls this with the alias its stack file must name.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import { parse } from "yaml";
import { repoRoot } from "../tools/harness/stackConfig";
import { byType, runStack, stackConfig, type RunResult } from "./support";

export interface StackFile {
    secretsprovider?: string;
    encryptedkey?: string;
    encryptionsalt?: string;
    config?: Record<string, unknown>;
}

export const readStackFile = (file: string) => parse(readFileSync(path.join(repoRoot, file), "utf8")) as StackFile;

export function describeKmsState(stack: string, alias: string): void {
    describe(`${stack}'s secrets provider`, () => {
        let file: StackFile;
        let run: RunResult;

        before(async () => {
            file = readStackFile(`Pulumi.${stack}.yaml`);
            run = await runStack(stack);
        });

        it("is AWS KMS, at the top level of the stack file", () => {
            assert.match(String(file.secretsprovider), /^awskms:\/\//);
            assert.ok(!("secretsprovider" in (file.config ?? {})), "not a config key");
        });

        it(`names the KMS alias ${alias} in the stack's own AWS region`, () => {
            const url = new URL(file.secretsprovider!);
            assert.equal(url.host, "alias");
            assert.equal(url.pathname, `/${alias}`);
            assert.equal(url.searchParams.get("region"), stackConfig(stack)["platform-secrets:aws"].region);
        });

        it("carries no passphrase salt, and a data key only in its KMS-encrypted form", () => {
            assert.equal(file.encryptionsalt, undefined);
            if (file.encryptedkey !== undefined) assert.match(file.encryptedkey, /^[A-Za-z0-9+/]+=*$/);
        });

        it("uses a key this stack does not manage: a stack cannot hold the key to its own state", () => {
            const aliases = byType(run, "aws:kms/alias:Alias").map((a) => a.inputs.name);
            assert.ok(!aliases.includes(`alias/${alias}`));
        });
    });
}
