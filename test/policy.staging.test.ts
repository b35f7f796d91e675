/** The policy pack on the staging graph with policy/config/staging.json (see test/policyStack.ts). */
import { describePolicyPackOnStack } from "./policyStack";

describePolicyPackOnStack("staging");
