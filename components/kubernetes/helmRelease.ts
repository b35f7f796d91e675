import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { namedObjectOptions } from "./provider";

/** A pinned chart from a repository, installed into a namespace of its own. */
export interface PinnedChart {
    /** Helm release name, also the chart name. */
    readonly chart: string;
    /** Exact chart version. */
    readonly version: string;
    /** Chart repository URL. */
    readonly repository: string;
    /** Namespace of the release; Helm creates it when it is missing. */
    readonly namespace: string;
    readonly values: Record<string, unknown>;
}

/**
 * The release `<name>-release` under `parent`, in its namespace. helm.v3.Release rather than
 * helm.v4.Chart: Helm manages the chart's objects (CRDs, webhooks, certificates) as one release,
 * with Helm's upgrades and rollbacks, as the charts document.
 *
 * Helm creates the namespace when it is missing (`createNamespace`) and never deletes it: these are
 * shared utility namespaces (runbook 001 §3.5 created kube-utilities by hand), so this program must
 * not own them, nor delete them with everything else in them on destroy.
 */
export function namespacedRelease(parent: pulumi.Resource, name: string, chart: PinnedChart, provider: k8s.Provider): k8s.helm.v3.Release {
    return new k8s.helm.v3.Release(
        `${name}-release`,
        {
            name: chart.chart,
            chart: chart.chart,
            version: chart.version,
            repositoryOpts: { repo: chart.repository },
            namespace: chart.namespace,
            createNamespace: true,
            values: chart.values,
        },
        // A release name is unique in its namespace: Helm refuses a second install of it.
        namedObjectOptions(parent, provider),
    );
}
