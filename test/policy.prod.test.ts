/** The policy pack on the prod graph with policy/config/prod.json (see test/policyStack.ts). */
import { describePolicyPackOnStack } from "./policyStack";

describePolicyPackOnStack("prod");
