// The pack's entry point for the Pulumi CLI (`pulumi preview --policy-pack policy`). Never import
// it: `new PolicyPack` starts the analyzer's gRPC server and never returns. Tests import ./policies.
import { PolicyPack } from "@pulumi/policy";
import { PACK_NAME, policies } from "./policies";

new PolicyPack(PACK_NAME, { policies, enforcementLevel: "mandatory" });
