/** @pulumi/vault: ids as the provider sets them (mount paths, policy names, role paths). */
import { Outputs, shortHash } from "./common";

export const vaultOutputs: Record<string, Outputs> = {
    "vault:index/mount:Mount": (a, i) => ({ id: String(i.path), state: { accessor: `kv_${shortHash(String(i.path))}` } }),
    "vault:index/authBackend:AuthBackend": (a, i) => ({ id: String(i.path ?? i.type), state: { accessor: `auth_${shortHash(String(i.path ?? i.type))}` } }),
    "vault:kubernetes/authBackendRole:AuthBackendRole": (a, i) => ({ id: `auth/${i.backend}/role/${i.roleName}` }),
    "vault:index/policy:Policy": (a, i) => ({ id: String(i.name) }),
    "vault:kv/secretV2:SecretV2": (a, i) => ({ id: `${i.mount}/data/${i.name}`, state: { path: `${i.mount}/data/${i.name}` } }),
    "vault:index/audit:Audit": (a, i) => ({ id: String(i.path ?? i.type) }),
};
