import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { PlatformConfig } from "../config/model";
import { PATCH_FORCE_ANNOTATION } from "./specs";

/**
 * The stack's Kubernetes provider; every Kubernetes resource names it explicitly.
 *
 * @pulumi/kubernetes is pinned to 4.25.0, the one provider version whose plugin the Go module proxy
 * serves (README, "End-to-end under the real engine"). In 4.25 a create is a server-side apply: an
 * object that already exists (one the runbooks made by hand) is taken over, and the create fails
 * with a field conflict only where another field manager (kubectl, Helm) set a field to another
 * value. `kubernetes.adoptExistingObjects` settles those for the one takeover `up`
 * (adoptionTransformation below); 4.25 has neither `upsertExistingObjects` nor `enablePatchForce`.
 */
export function createKubernetesProvider(config: PlatformConfig): k8s.Provider {
    return new k8s.Provider("kubernetes", {
        context: config.kubernetes.context,
        kubeconfig: config.kubernetes.kubeconfigPath,
        // A `vault` app's login ConfigMap changes its data on every rotation (VAULT_KV_VERSION). Without
        // this the provider replaces a ConfigMap whose data changes, delete-first here: the ConfigMap is
        // briefly gone, and Reloader, which restarts on updates (not on creates), never sees the change
        // (e2e scenario l found the replacement). Mutable, it is an in-place update Reloader acts on.
        // It is the only ConfigMap this program writes.
        enableConfigMapMutable: true,
    });
}

/**
 * With `kubernetes.adoptExistingObjects`, every Kubernetes object below the component carries
 * `pulumi.com/patchForce: "true"`: this program's values win over the kubectl and Helm field
 * managers that wrote the hand-made objects. Only for that `up`: while it is on, an operator's later
 * edit of any field this program sets is silently overwritten, and an object that happens to carry
 * one of this program's names is taken over without a conflict to stop it.
 */
export function adoptionTransformation(adopt: boolean): pulumi.ResourceTransformation[] {
    if (!adopt) return [];
    return [
        (args) => {
            if (!args.type.startsWith("kubernetes:") || args.type.startsWith("kubernetes:helm.sh/")) return undefined;
            const metadata = (args.props.metadata ?? {}) as Record<string, unknown>;
            const annotations = (metadata.annotations ?? {}) as Record<string, unknown>;
            return { props: { ...args.props, metadata: { ...metadata, annotations: { ...annotations, [PATCH_FORCE_ANNOTATION]: "true" } } }, opts: args.opts };
        },
    ];
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
