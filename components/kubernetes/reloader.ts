import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { PlatformConfig } from "../config/model";
import { namespacedRelease } from "./helmRelease";

export interface ReloaderArgs {
    /** The stack's `reloader` settings: chart version, repository, namespace, HA, replicas, resources. */
    readonly settings: PlatformConfig["reloader"];
    /** The stack's Kubernetes provider. */
    readonly provider: k8s.Provider;
}

/**
 * Stakater Reloader (runbook 001 §3.5): restarts the workloads that opted in with
 * `reloader.stakater.com/search: "true"` when a Secret annotated `reloader.stakater.com/match: "true"`
 * changes, which is what every ExternalSecret's target Secret is.
 */
export class Reloader extends pulumi.ComponentResource {
    readonly release: k8s.helm.v3.Release;

    constructor(name: string, args: ReloaderArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform-secrets:kubernetes:Reloader", name, {}, opts);
        const { settings: s, provider } = args;
        // Several replicas without leader election would each restart every workload: rules.ts
        // rejects that config before anything registers.
        this.release = namespacedRelease(
            this,
            name,
            {
                chart: "reloader",
                version: s.chartVersion,
                repository: s.repository,
                namespace: s.namespace,
                values: {
                    reloader: {
                        // Reloader marks the pod template with an annotation instead of injecting an
                        // env var, so the workload's containers stay as their owners wrote them.
                        reloadStrategy: "annotations",
                        watchGlobally: s.watchGlobally,
                        // Leader election: only one replica acts, the other takes over.
                        enableHA: s.ha,
                        deployment: {
                            replicas: s.replicas,
                            resources: {
                                requests: { cpu: s.resources.requests.cpu, memory: s.resources.requests.memory },
                                limits: { cpu: s.resources.limits.cpu, memory: s.resources.limits.memory },
                            },
                        },
                    },
                },
            },
            provider,
        );
        this.registerOutputs({ release: this.release.status });
    }
}
