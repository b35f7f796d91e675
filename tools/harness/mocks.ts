/**
 * Realistic outputs for every resource type the program registers, computed the way the providers
 * would: random values deterministic from the resource's name and inputs (so a changed keeper gives
 * a new value, as a replacement would), ARNs and ids of the right shape. One table per provider in
 * mocks/. Invokes are a closed table: an unmocked call throws, so an unexpected lookup fails tests.
 */
import * as pulumi from "@pulumi/pulumi";
import { awsInvokes, awsOutputs } from "./mocks/aws";
import { MockContext, Outputs, shortHash, State } from "./mocks/common";
import { helmReleaseOutputs, kubernetesOutputs } from "./mocks/kubernetes";
import { randomOutputs } from "./mocks/random";
import { pkiOutputs } from "./mocks/pki";
import { vaultOutputs } from "./mocks/vault";
import { reveal } from "./secret";

export * from "./mocks/common";
export { mockPassword, PASSWORD_CLASSES } from "./mocks/random";

const outputs: Record<string, Outputs> = { ...randomOutputs, ...awsOutputs, ...vaultOutputs, ...pkiOutputs };

/** Invokes the program may make, and what they return; anything else is an error. */
export function invokes(ctx: MockContext): Record<string, (inputs: State) => State> {
    return { ...awsInvokes(ctx) };
}

export function createMocks(ctx: MockContext): pulumi.runtime.Mocks {
    const table = invokes(ctx);
    return {
        async newResource(args) {
            const kept = ctx.untouched.get(`${args.type}::${args.name}`);
            if (kept) return { id: kept.id ?? `${args.name}-id`, state: kept.state };
            const inputs = reveal(args.inputs) as State;
            let computed: { id?: string; state?: State };
            if (outputs[args.type]) computed = await outputs[args.type](args, inputs, ctx);
            else if (args.type === "kubernetes:helm.sh/v3:Release") computed = helmReleaseOutputs(args, inputs);
            else if (args.type.startsWith("kubernetes:")) computed = kubernetesOutputs(args, inputs);
            else if (args.type.startsWith("pulumi:providers:")) computed = { id: shortHash(args.name, 32) };
            // The program reads its own last outputs (rotation state) through a StackReference.
            else if (args.type === "pulumi:pulumi:StackReference") {
                // Only the stack itself may be referenced, by its full name.
                const self = `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`;
                if (inputs.name !== self) throw new Error(`StackReference to ${String(inputs.name)}: the program may reference only itself (${self})`);
                computed = { id: self, state: { name: self, outputs: ctx.previousOutputs, secretOutputNames: [] } };
            }
            else computed = {}; // a type not listed echoes its inputs, which is what most resources do
            // Inputs come back as outputs, as they do from a provider; they keep their secret markers.
            return { id: computed.id ?? `${args.name}-id`, state: { ...args.inputs, ...(computed.state ?? {}) } };
        },
        call(args) {
            const fn = table[args.token];
            if (!fn) {
                const message = `unmocked invoke ${args.token}: add it to tools/harness/mocks/ if the program really needs it`;
                // The SDK reports a failed invoke by the gRPC error's `details`, not its message.
                throw Object.assign(new Error(message), { details: message });
            }
            const inputs = reveal(args.inputs) as State;
            ctx.invokes.push({ token: args.token, args: inputs });
            return fn(inputs);
        },
    };
}
