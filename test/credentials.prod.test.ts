import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { registeredBeforeFailure, runProgram } from "../tools/harness/run";
import { TEST_NOW } from "./support";
import { describeCredentials } from "./credentialsSpec";

describe("credentials: prod", () => {
    describeCredentials("prod");

    it("fails without the required Hugging Face token, naming the command to run, and registers nothing", async () => {
        const error = await runProgram({ stack: "prod", now: TEST_NOW }).then(
            () => assert.fail("prod accepted a missing required operator secret"),
            (e: Error) => e,
        );
        assert.match(error.message, /pulumi config set --stack prod --secret --path 'suppliedSecrets\.nemo-server\.huggingface_token' '<value>'/);
        assert.deepEqual(registeredBeforeFailure(error).filter((r) => r.type !== "pulumi:pulumi:Stack"), []);
    });
});
