/**
 * The platform's guardrails as CrossGuard policies: what tests import, and what policy/index.ts
 * serves. Every policy is mandatory: a violation fails `pulumi preview` and `pulumi up`.
 */
import type { Policies } from "@pulumi/policy";
import { generatedCredentialLength, generatedValuesSecretOnly } from "./rules/credentials";
import { externalSecretRefresh } from "./rules/externalSecrets";
import { irsaTrustPinned } from "./rules/irsa";
import { statefulResourcesProtected } from "./rules/protection";
import { s3BucketControlsPresent, s3KmsEncryption, s3Private, s3TlsOnly, s3Versioning } from "./rules/s3";
import { vaultAppPolicyScoped } from "./rules/vault";

export {
    externalSecretRefresh,
    generatedCredentialLength,
    generatedValuesSecretOnly,
    irsaTrustPinned,
    s3BucketControlsPresent,
    s3KmsEncryption,
    s3Private,
    s3TlsOnly,
    s3Versioning,
    statefulResourcesProtected,
    vaultAppPolicyScoped,
};

export const PACK_NAME = "platform-secrets";

export const policies: Policies = [
    s3KmsEncryption,
    s3Versioning,
    s3Private,
    s3TlsOnly,
    s3BucketControlsPresent,
    irsaTrustPinned,
    vaultAppPolicyScoped,
    generatedCredentialLength,
    generatedValuesSecretOnly,
    statefulResourcesProtected,
    externalSecretRefresh,
];
