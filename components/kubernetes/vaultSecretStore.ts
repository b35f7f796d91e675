import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { namedObjectOptions } from "./provider";
import type { AppSpec } from "../config/model";
import { ESO_API_VERSION, managedLabels, StoreKind, vaultStoreSpec, VaultStoreSettings } from "./specs";

export interface VaultSecretStoreArgs {
    /** The app this store serves; its name, namespace, store name, reader and Vault role come from here. */
    readonly app: AppSpec;
    /** The app's namespace, as an Output of the Namespace when this program creates it. */
    readonly namespace: pulumi.Input<string>;
    readonly kind: StoreKind;
    /** Vault connection and auth settings, without the role (the app's own). */
    readonly vault: Omit<VaultStoreSettings, "role">;
    /** The stack's Kubernetes provider. */
    readonly provider: k8s.Provider;
    /** The ESO install, when this program runs it: the store's CRD and webhook come from it. */
    readonly operator?: pulumi.Resource;
    /**
     * The database secrets engine mount, when the app has alternating database users: a second
     * store, `<storeName>-database`, reads `<mount>/static-creds/<role>` with the same Vault role.
     */
    readonly databaseMount?: string;
}

/**
 * One app's way into Vault: the ServiceAccount External Secrets logs in as, the right for Vault to
 * review its tokens, and the store (ClusterSecretStore limited to the app's namespace, or a
 * SecretStore in it) that logs in with the app's own Vault role.
 */
export class VaultSecretStore extends pulumi.ComponentResource {
    /** Store name, an Output so ExternalSecrets are created after the store. */
    readonly storeName: pulumi.Output<string>;
    readonly kind: StoreKind;
    readonly readerServiceAccount: k8s.core.v1.ServiceAccount;
    /** The store on the database mount, when args.databaseMount is set. */
    readonly databaseStoreName?: pulumi.Output<string>;

    constructor(name: string, args: VaultSecretStoreArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform-secrets:kubernetes:VaultSecretStore", name, {}, opts);
        const { app, provider } = args;
        // The Vault audience differs from the API server's (config rules): otherwise every API token
        // of the reader would be a Vault login token.
        this.kind = args.kind;
        const labels = managedLabels(app.name);

        // Only ESO uses this account, through the TokenRequest API; no pod mounts its token.
        this.readerServiceAccount = new k8s.core.v1.ServiceAccount(
            `${name}-reader`,
            { metadata: { name: app.readerServiceAccount, namespace: args.namespace, labels }, automountServiceAccountToken: false },
            namedObjectOptions(this, provider),
        );

        // Vault reviews the reader's token with that same token: the auth backend has no reviewer
        // JWT and Vault runs outside the cluster, so it sends the login JWT itself, as bearer, to the
        // TokenReview API. The store therefore requests the token for the API server's audience as
        // well as Vault's (specs.ts), and the reader needs this binding, which grants
        // TokenReview/SubjectAccessReview and nothing else. For its ten minutes the token can call
        // the API as the reader, which can do no more than that. The alternative, a reviewer JWT
        // stored in Vault, is a long-lived credential able to review any token, to rotate by hand.
        const authDelegator = new k8s.rbac.v1.ClusterRoleBinding(
            `${name}-auth-delegator`,
            {
                metadata: { name: app.authDelegatorBindingName, labels },
                roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "system:auth-delegator" },
                subjects: [{ kind: "ServiceAccount", name: this.readerServiceAccount.metadata.name, namespace: this.readerServiceAccount.metadata.namespace }],
            },
            namedObjectOptions(this, provider),
        );

        const spec = vaultStoreSpec(
            args.kind,
            { ...args.vault, role: app.vaultRoleName },
            { name: this.readerServiceAccount.metadata.name, namespace: this.readerServiceAccount.metadata.namespace },
        );
        const store = new k8s.apiextensions.CustomResource(
            `${name}-store`,
            {
                apiVersion: ESO_API_VERSION,
                kind: args.kind,
                metadata: {
                    name: app.storeName,
                    ...(args.kind === "SecretStore" ? { namespace: args.namespace } : {}),
                    labels,
                },
                spec,
            },
            namedObjectOptions(this, provider, {
                // The binding: ESO validates a store by logging in, which fails until Vault may
                // review the reader's token. The operator: a store cannot be created before the
                // chart's CRD exists ("no matches for kind") and its validating webhook serves.
                dependsOn: [authDelegator, ...(args.operator ? [args.operator] : [])],
            }),
        );
        this.storeName = store.metadata.name;
        if (args.databaseMount !== undefined) {
            // KV version v1 reads `<path>/<key>` as it is: the database engine's static-creds endpoint.
            const dbSpec = { ...spec, provider: { vault: { ...spec.provider.vault, path: args.databaseMount, version: "v1" } } };
            const dbStore = new k8s.apiextensions.CustomResource(
                `${name}-database-store`,
                {
                    apiVersion: ESO_API_VERSION,
                    kind: args.kind,
                    metadata: { name: `${app.storeName}-database`, ...(args.kind === "SecretStore" ? { namespace: args.namespace } : {}), labels },
                    spec: dbSpec,
                },
                namedObjectOptions(this, provider, { dependsOn: [authDelegator, ...(args.operator ? [args.operator] : [])] }),
            );
            this.databaseStoreName = dbStore.metadata.name;
        }
        this.registerOutputs({ storeName: this.storeName, kind: this.kind, databaseStoreName: this.databaseStoreName });
    }
}
