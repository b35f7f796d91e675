/** Issue 14 in dev: vault delivery, grants and derived keys (test/deliveryChecks.ts). */
import { describeDelivery } from "./deliveryChecks";

describeDelivery({ stack: "dev", somaDelivery: "externalSecret" });
