/**
 * Staging's stack state is encrypted with KMS as prod's is, with its own key: an alias in staging's
 * account, so neither environment's key decrypts the other's state (runbook 002: keys different
 * from production, access limited to staging systems).
 */
import { describeKmsState } from "./stateEncryptionChecks";

describeKmsState("staging", "platform-secrets-state-staging");
