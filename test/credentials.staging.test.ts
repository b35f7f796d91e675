import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { registeredBeforeFailure, runProgram } from "../tools/harness/run";
import { TEST_NOW } from "./support";
import { describeCredentials } from "./credentialsSpec";

describe("credentials: staging", () => {
    describeCredentials("staging");

    it("fails without its own required Hugging Face token, naming the staging command to run, and registers nothing", async () => {
        const error = await runProgram({ stack: "staging", now: TEST_NOW }).then(
            () => assert.fail("staging accepted a missing required operator secret"),
            (e: Error) => e,
        );
        assert.match(error.message, /pulumi config set --stack staging --secret --path 'suppliedSecrets\.nemo-server\.huggingface_token' '<value>'/);
        assert.deepEqual(registeredBeforeFailure(error).filter((r) => r.type !== "pulumi:pulumi:Stack"), []);
    });
});
