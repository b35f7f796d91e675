import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { managedLabels } from "./specs";

/** A pinned chart from a repository, installed into a namespace of its own. */
export interface PinnedChart {
    /** Helm release name, also the chart name. */
    readonly chart: string;
    /** Exact chart version. */
    readonly version: string;
    /** Chart repository URL. */
    readonly repository: string;
    /** Namespace created for the release. */
    readonly namespace: string;
    readonly values: Record<string, unknown>;
}

/**
 * Creates `<name>-namespace` and `<name>-release` under `parent`: the namespace, then the release
 * in it. helm.v3.Release rather than helm.v4.Chart: Helm manages the chart's objects (CRDs,
 * webhooks, certificates) as one release, with Helm's upgrades and rollbacks, as the charts document.
 */
export function namespacedRelease(parent: pulumi.Resource, name: string, chart: PinnedChart, provider: k8s.Provider): k8s.helm.v3.Release {
    const namespace = new k8s.core.v1.Namespace(`${name}-namespace`, { metadata: { name: chart.namespace, labels: managedLabels() } }, { parent, provider });
    return new k8s.helm.v3.Release(
        `${name}-release`,
        {
            name: chart.chart,
            chart: chart.chart,
            version: chart.version,
            repositoryOpts: { repo: chart.repository },
            namespace: namespace.metadata.name,
            values: chart.values,
        },
        { parent, provider },
    );
}
