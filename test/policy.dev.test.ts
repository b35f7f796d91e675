/** The policy pack on the dev graph with policy/config/dev.json (see test/policyStack.ts). */
import { describePolicyPackOnStack } from "./policyStack";

describePolicyPackOnStack("dev");
