/** Issue 14 in prod: vault delivery, grants and derived keys (test/deliveryChecks.ts). */
import { describeDelivery } from "./deliveryChecks";

describeDelivery({ stack: "prod", somaDelivery: "both" });
