/**
 * ExternalSecrets keep syncing: a refreshInterval of 0, or a refreshPolicy other than Periodic,
 * means a rotated value in Vault never reaches the Kubernetes Secret (runbook 002: rotate,
 * propagate, verify). An absent refreshInterval is the CRD default, 1h.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { forTypePattern } from "../lib/dispatch";
import { goDurationSeconds } from "../lib/duration";
import { EXTERNAL_SECRET_TYPE } from "../types";

/** The ExternalSecret spec fields read here (@kubernetes-models/external-secrets IExternalSecretSpec). */
export interface ExternalSecretSpecProps {
    refreshInterval?: string;
    refreshPolicy?: string;
}
export interface ExternalSecretProps {
    kind?: string;
    spec?: ExternalSecretSpecProps & { externalSecretSpec?: ExternalSecretSpecProps };
}

export const externalSecretRefresh: ResourceValidationPolicy = {
    name: "external-secret-refresh",
    description: "ExternalSecrets refresh periodically: refreshInterval above 0 and refreshPolicy Periodic (or unset).",
    enforcementLevel: "mandatory",
    severity: "medium",
    remediationSteps: "Set spec.refreshInterval to a positive duration (platform-secrets:kubernetes.externalSecrets.refreshInterval) and leave refreshPolicy unset.",
    validateResource: forTypePattern<ExternalSecretProps>(EXTERNAL_SECRET_TYPE, (props, args, report) => {
        // A ClusterExternalSecret carries the ExternalSecret spec one level down.
        const spec = args.type.endsWith(":ClusterExternalSecret") ? props.spec?.externalSecretSpec : props.spec;
        const where = args.type.endsWith(":ClusterExternalSecret") ? "spec.externalSecretSpec" : "spec";
        const interval = spec?.refreshInterval;
        if (interval !== undefined) {
            const seconds = typeof interval === "string" ? goDurationSeconds(interval) : undefined;
            if (seconds === undefined) report(`${where}.refreshInterval ${JSON.stringify(interval)} is not a duration.`);
            else if (seconds <= 0) report(`${where}.refreshInterval is ${JSON.stringify(interval)}: the Secret would never be refreshed.`);
        }
        const policy = spec?.refreshPolicy;
        if (policy !== undefined && policy !== "Periodic") report(`${where}.refreshPolicy is ${JSON.stringify(policy)}: rotations would not propagate.`);
    }),
};
