/** @pulumi/kubernetes: metadata.name as the provider sets it, Helm releases as deployed. */
import type * as pulumi from "@pulumi/pulumi";
import { shortHash, State } from "./common";

/** Kubernetes objects: autonamed with a suffix when metadata.name is absent. */
export function kubernetesOutputs(a: pulumi.runtime.MockResourceArgs, i: State): { id: string; state: State } {
    const metadata = { ...((i.metadata as State | undefined) ?? {}) };
    metadata.name ??= `${a.name}-${shortHash(a.name, 8)}`;
    const ns = metadata.namespace ? `${metadata.namespace}/` : "";
    return { id: `${ns}${metadata.name}`, state: { metadata } };
}

export function helmReleaseOutputs(a: pulumi.runtime.MockResourceArgs, i: State): { id: string; state: State } {
    const name = String(i.name ?? `${a.name}-${shortHash(a.name, 8)}`);
    return {
        id: `${i.namespace ?? "default"}/${name}`,
        state: { name, status: { name, namespace: i.namespace, chart: i.chart, version: i.version, status: "deployed", revision: 1 } },
    };
}
