/**
 * Preloaded by tools/test.js into every test process (`--require`): makes node's test runner cheap
 * for promise-heavy code.
 *
 * node:test (Node 20, lib/internal/test_runner/harness.js `setup`) enables an async hook whose
 * `init` maps every new async resource to the test that created it and whose `destroy` forgets it;
 * it only serves to blame an uncaught exception on the test it came from. The Pulumi SDK makes tens
 * of thousands of promises per program run, and V8 calls into that hook for each one (plus a weak
 * callback per promise for `destroy`): 40 % of a test file that runs the program many times
 * (test/credentialsSpec.ts: 9.4 s → 6.3 s measured with and without).
 *
 * This keeps the hook for every resource but promises (timers, immediates, child processes, sockets,
 * file operations: an error thrown from their callbacks still fails the test that started them), and
 * drops `destroy` (the few non-promise entries it keeps are small). What changes: an unhandled
 * rejection whose chain began in a test is reported as a top-level diagnostic of the file, which
 * still fails the run (exit code 1), instead of on that test.
 *
 * The harness's hook is recognised by its call site; if a later Node moves it, nothing is changed
 * (the tests are only slower). PLATFORM_SECRETS_FULL_TEST_HOOK=1 leaves node's hook as it is.
 */
"use strict";
const asyncHooks = require("node:async_hooks");

if (!process.env.PLATFORM_SECRETS_FULL_TEST_HOOK) {
    const createHook = asyncHooks.createHook;
    asyncHooks.createHook = function (callbacks) {
        const caller = new Error().stack ?? "";
        if (!/internal\/test_runner\/harness/.test(caller) || typeof callbacks?.init !== "function") return createHook.call(this, callbacks);
        const init = callbacks.init;
        // What a test can check (test/testRunner.test.ts): the harness's hook is the light one.
        globalThis[Symbol.for("platform-secrets.testRunnerHook")] = "promises untracked";
        return createHook.call(this, {
            init(asyncId, type, triggerAsyncId, resource) {
                if (type !== "PROMISE") init(asyncId, type, triggerAsyncId, resource);
            },
        });
    };
}
