/** Issue 14 in staging: vault delivery, grants and derived keys (test/deliveryChecks.ts). */
import { describeDelivery } from "./deliveryChecks";

describeDelivery({ stack: "staging", somaDelivery: "both" });
