import * as k8s from "@pulumi/kubernetes";
import type { PlatformConfig } from "../config/model";

/** The stack's Kubernetes provider; every Kubernetes resource names it explicitly. */
export function createKubernetesProvider(config: PlatformConfig): k8s.Provider {
    return new k8s.Provider("kubernetes", {
        context: config.kubernetes.context,
        kubeconfig: config.kubernetes.kubeconfigPath,
    });
}
