import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { PlatformConfig } from "../config/model";

/**
 * The stack's Kubernetes provider; every Kubernetes resource names it explicitly.
 *
 * Since pulumi-kubernetes 4.29 a create is a client-side create: an object that already exists is an
 * AlreadyExists error, not silently updated. `kubernetes.adoptExistingObjects` turns on, for the
 * one `up` that takes over what the runbooks made by hand, `upsertExistingObjects` (create by
 * server-side apply) and `enablePatchForce` (this program's values win over the kubectl and Helm
 * field managers that wrote those objects). Off otherwise, deliberately: with upsert on, a renamed
 * resource's create-then-delete would adopt and then delete the live object, and any object that
 * happens to carry one of this program's names would be taken over without a word.
 * Toggling either setting is a provider update, never a replacement of the resources.
 */
export function createKubernetesProvider(config: PlatformConfig): k8s.Provider {
    const adopt = config.kubernetes.adoptExistingObjects;
    return new k8s.Provider("kubernetes", {
        context: config.kubernetes.context,
        kubeconfig: config.kubernetes.kubeconfigPath,
        // Explicit either way, so no PULUMI_K8S_* variable on a runner decides it.
        upsertExistingObjects: adopt,
        enablePatchForce: adopt,
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
