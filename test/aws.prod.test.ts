/**
 * AWS backups, prod stack: the shared assertions on prod's recorded run, and what prod's settings
 * make different (protected and retained buckets and key, no forceDestroy, object lock), shown to
 * come from config by flipping it.
 */
import { describeBackups } from "./awsBackups";
import { protectedBackupChecks } from "./awsProtectedBackups";

describeBackups("prod", (current) => {
    protectedBackupChecks("prod", current, { objectLockDays: 14, retentionDays: 35, keyDeletionWindowDays: 30 });
});
