/**
 * The platform's guardrails as CrossGuard policies: what tests import, and what policy/index.ts
 * serves. Every policy is mandatory (a violation fails `pulumi preview` and `pulumi up`) except
 * prod-rotation-unscheduled, advisory because the README allows its exception for a reason.
 */
import type { Policies } from "@pulumi/policy";
import { configMapNoSecrets, generatedCredentialLength, generatedValuesSecretOnly } from "./rules/credentials";
import { externalSecretRefresh, externalSecretsConfined, externalSecretStoreConfined } from "./rules/externalSecrets";
import { irsaTrustPinned } from "./rules/irsa";
import { prodObjectLock, prodReloaderHa, prodRotationSchedule, prodRotationUnscheduled, prodTlsUrls, prodVaultAudit } from "./rules/promises";
import { statefulResourcesProtected } from "./rules/protection";
import { s3BucketControlsPresent, s3KmsEncryption, s3KmsStackKey, s3Private, s3TlsOnly, s3Versioning } from "./rules/s3";
import { vaultAppPolicyScoped, vaultAuthRoleBound, vaultSudoScoped } from "./rules/vault";
import { vaultPkiPathsScoped, vaultPkiRoleExact } from "./rules/pki";

export {
    configMapNoSecrets,
    externalSecretRefresh,
    externalSecretsConfined,
    externalSecretStoreConfined,
    generatedCredentialLength,
    generatedValuesSecretOnly,
    irsaTrustPinned,
    prodObjectLock,
    prodReloaderHa,
    prodRotationSchedule,
    prodRotationUnscheduled,
    prodTlsUrls,
    prodVaultAudit,
    s3BucketControlsPresent,
    s3KmsEncryption,
    s3KmsStackKey,
    s3Private,
    s3TlsOnly,
    s3Versioning,
    statefulResourcesProtected,
    vaultAppPolicyScoped,
    vaultAuthRoleBound,
    vaultSudoScoped,
    vaultPkiPathsScoped,
    vaultPkiRoleExact,
};

export const PACK_NAME = "platform-secrets";

export const policies: Policies = [
    s3KmsEncryption,
    s3KmsStackKey,
    s3Versioning,
    s3Private,
    s3TlsOnly,
    s3BucketControlsPresent,
    irsaTrustPinned,
    vaultAppPolicyScoped,
    vaultAuthRoleBound,
    vaultSudoScoped,
    vaultPkiRoleExact,
    vaultPkiPathsScoped,
    generatedCredentialLength,
    generatedValuesSecretOnly,
    configMapNoSecrets,
    statefulResourcesProtected,
    externalSecretRefresh,
    externalSecretStoreConfined,
    externalSecretsConfined,
    prodTlsUrls,
    prodVaultAudit,
    prodObjectLock,
    prodReloaderHa,
    prodRotationSchedule,
    prodRotationUnscheduled,
];
