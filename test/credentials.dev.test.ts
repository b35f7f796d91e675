import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runStack, SUPPLIED, TEST_NOW } from "./support";
import { runProgram } from "../tools/harness/run";
import { appData, describeCredentials } from "./credentialsSpec";

describe("credentials: dev", () => {
    describeCredentials("dev");

    it("leaves the optional Hugging Face token out when the operator has not set it", async () => {
        // Only the database managers' bootstrap passwords, which every stack with databases needs.
        const { huggingface_token: _hf, ...nemoBootstrap } = SUPPLIED["nemo-server"];
        const run = await runProgram({ stack: "dev", now: TEST_NOW, secretConfig: { suppliedSecrets: { "soma-memory": SUPPLIED["soma-memory"], "nemo-server": nemoBootstrap } } });
        const data = appData(run, "nemo-server");
        assert.equal("huggingface_token" in data, false);
        const entry = (run.outputs.inventory as { secret: string; present: boolean }[]).find((e) => e.secret === "huggingface_token")!;
        assert.equal(entry.present, false);
        // ...and present, secret, when it is set.
        const withToken = await runStack("dev");
        const data2 = appData(withToken, "nemo-server");
        assert.match(data2.huggingface_token, /^hf_/);
    });
});
