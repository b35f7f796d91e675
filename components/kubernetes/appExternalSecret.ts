import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { namedObjectOptions } from "./provider";
import type { AppSpec, PropertySpec } from "../config/model";
import { databaseSync } from "./databaseSync";
import { ESO_API_VERSION, externalSecretSpec, FORCE_SYNC_ANNOTATION, forceSyncValue, managedLabels, PATCH_FORCE_ANNOTATION, StoreKind } from "./specs";

export interface AppExternalSecretArgs {
    readonly app: AppSpec;
    /** The app's namespace, as an Output of the Namespace when this program creates it. */
    readonly namespace: pulumi.Input<string>;
    /** The app's store (an Output of it, so the ExternalSecret comes after the store). */
    readonly store: { readonly name: pulumi.Input<string>; readonly kind: StoreKind };
    /** The properties the app's Vault secret holds; those with an env var become Secret keys. */
    readonly properties: readonly PropertySpec[];
    /** kubernetes.externalSecrets.refreshInterval (never 0: ESO ignores force-sync then). */
    readonly refreshInterval: string;
    /**
     * Non-secret version of the app's data that changes when, and only when, its values change.
     * Its hash is the force-sync annotation, so a rotation reaches the Secret in the same `up`.
     */
    readonly dataVersion: pulumi.Input<string>;
    /** The stack's Kubernetes provider. */
    readonly provider: k8s.Provider;
    /** The ESO install, when this program runs it (the ExternalSecret CRD comes from it). */
    readonly operator?: pulumi.Resource;
    /**
     * Alternating database users (docs/database-credentials.md): the store on the database mount
     * and, per database, the active slot's static role (an Output known only after Vault rotated it).
     */
    readonly database?: { readonly store: { readonly name: pulumi.Input<string>; readonly kind: StoreKind }; readonly activeRoles: Readonly<Record<string, pulumi.Input<string>>> };
}

/**
 * The app's ExternalSecret (runbook 001 §3.3): syncs its Vault KV secret into the target Secret,
 * every refreshInterval and at once when the data version changes.
 */
export class AppExternalSecret extends pulumi.ComponentResource {
    readonly externalSecret: k8s.apiextensions.CustomResource;
    /** The force-sync annotation value (a hash of the data version). */
    readonly forceSync: pulumi.Output<string>;

    constructor(name: string, args: AppExternalSecretArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform-secrets:kubernetes:AppExternalSecret", name, {}, opts);
        const { app, provider } = args;
        const spec = externalSecretSpec({
            kvPath: app.kvPath,
            properties: args.properties,
            store: args.store,
            targetSecret: app.secretName,
            refreshInterval: args.refreshInterval,
            granted: app.granted,
        });
        if (args.database) {
            const sync = databaseSync({ app, activeRoles: args.database.activeRoles, store: args.database.store, kvStore: args.store, kvPath: app.kvPath });
            (spec.data as unknown[]).push(...sync.data);
            if (sync.template) Object.assign(spec.target.template, sync.template);
        }
        // An app with no env key at all (an ExternalSecret syncing nothing) is refused by the config rules.
        // Only a hash of the version reaches the cluster. unsecret: should a caller's version come
        // secret-marked (it is a counter, not a value), the annotation stays readable in diffs.
        this.forceSync = pulumi.unsecret(pulumi.output(args.dataVersion).apply(forceSyncValue));
        this.externalSecret = new k8s.apiextensions.CustomResource(
            `${name}-external-secret`,
            {
                apiVersion: ESO_API_VERSION,
                kind: "ExternalSecret",
                metadata: {
                    // Named after its target Secret, one per app and namespace.
                    name: app.secretName,
                    namespace: args.namespace,
                    labels: managedLabels(app.name),
                    annotations: {
                        [FORCE_SYNC_ANNOTATION]: this.forceSync,
                        // An operator's `kubectl annotate ... force-sync=...` leaves force-sync owned by
                        // kubectl's field manager; the provider's server-side apply then fails the next
                        // update that changes it (a rotation) with a field conflict unless forced.
                        [PATCH_FORCE_ANNOTATION]: "true",
                    },
                },
                spec,
            },
            // The operator: the CRD must exist before an ExternalSecret can be created.
            namedObjectOptions(this, provider, { dependsOn: args.operator ? [args.operator] : [] }),
        );
        this.registerOutputs({ forceSync: this.forceSync });
    }
}
