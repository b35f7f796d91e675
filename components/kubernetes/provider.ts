import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { PlatformConfig } from "../config/model";

/** The stack's Kubernetes provider; every Kubernetes resource names it explicitly. */
export function createKubernetesProvider(config: PlatformConfig): k8s.Provider {
    return new k8s.Provider("kubernetes", {
        context: config.kubernetes.context,
        kubeconfig: config.kubernetes.kubeconfigPath,
    });
}

/**
 * Options for every object this program names itself (all of them: no auto-naming). A replacement
 * (`--target-replace`, or a change the provider cannot update in place) must delete the object
 * before it creates it again: the default, create then delete, makes pulumi-kubernetes apply the
 * "new" object onto the existing one of the same name (server-side apply upserts) and then delete
 * it, so the object is gone from the cluster while the state says it exists. Scenario g of the
 * real-engine e2e caught exactly that with a ServiceAccount.
 */
export function namedObjectOptions(parent: pulumi.Resource, provider: k8s.Provider, extra: pulumi.CustomResourceOptions = {}): pulumi.CustomResourceOptions {
    return { parent, provider, deleteBeforeReplace: true, ...extra };
}
