/** @pulumi/vault: ids as the provider sets them (mount paths, policy names, role paths). */
import { createHash } from "node:crypto";
import { emulatedStore, Outputs, shortHash, stableJson, State } from "./common";

/**
 * What the emulated Vault holds per KV v2 secret, across the runs of one process (a test that runs
 * the program twice sees the second run as the next `pulumi up` against the same Vault): a digest
 * of the last write and its version number. Only the digest is kept, and only the counter is shown.
 */
const kvStore = emulatedStore<string, { digest: string; version: number; createdTime: string }>();

/**
 * A KV v2 secret as vault_kv_secret_v2 reports it after a write and read-back: `path`, and the
 * `metadata` map of the data endpoint's response (strings, as the provider serialises them). The
 * provider writes a new version on every create or update, and Pulumi updates the resource only
 * when an input changed; so the version counts up exactly when the written inputs differ from the
 * last write at that path (the data, in this program), and is never derived from the data.
 */
const kvSecretV2: Outputs = (a, i, ctx) => {
    const path = `${i.mount}/data/${i.name}`;
    // Keyed per provider (its URN names the stack): each stack talks to its own Vault.
    const key = `${a.provider ?? ""}|${path}`;
    const digest = createHash("sha256").update(stableJson(i)).digest("hex");
    const time = ctx.now.toISOString();
    const last = kvStore.get(key);
    if (ctx.preview) {
        // terraform-provider-vault v5.8.0 (vault/resource_kv_secret_v2.go): `metadata` is Computed
        // only, and the resource's CustomizeDiff clears it only for disable_read; the SDK plans a
        // computed-only attribute of an updated resource as its prior state. So a preview of a data
        // change shows data_json changing and the OLD version. A new secret's metadata is unknown.
        return {
            id: path,
            state: { path, metadata: last ? versionMetadata(last) : UNKNOWN },
        };
    }
    const current = last && last.digest === digest ? last : { digest, version: (last?.version ?? 0) + 1, createdTime: time };
    kvStore.set(key, current);
    return {
        id: path,
        state: {
            path,
            metadata: versionMetadata(current),
        },
    };
};

function versionMetadata(v: { version: number; createdTime: string }): Record<string, string> {
    return { version: String(v.version), created_time: v.createdTime, deletion_time: "", destroyed: "false", custom_metadata: "null" };
}

/** The engine's wire marker of an unknown value (a preview's "known after apply"). */
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/**
 * vault_kv_secret_v2's read, as `pulumi refresh` runs it (terraform-provider-vault v5.8.0,
 * kvSecretV2Read): path, mount and name from the id, `data` emptied, `metadata` from Vault's data
 * endpoint. It never sets `data_json`, so the refreshed state keeps the data this program last wrote,
 * whatever Vault holds now: out-of-band writes show only as a new `metadata.version`.
 * `vaultNow` is Vault's current version of the secret; undefined means it is gone (removed from state).
 */
export function refreshKvSecretV2(state: State, vaultNow: { version: number; createdTime: string } | undefined): State | undefined {
    const id = String(state.path);
    if (!vaultNow) return undefined;
    const [mount, ...rest] = id.split("/data/");
    return { ...state, path: id, mount, name: rest.join("/data/"), data: {}, metadata: versionMetadata(vaultNow) };
}

/**
 * The Vault requests vault_kv_secret_v2 makes for one create or update (terraform-provider-vault
 * v5.8.0, vault/resource_kv_secret_v2.go): kvSecretV2Write writes `<mount>/data/<name>`, then
 * returns kvSecretV2Read, which reads the data path back and, because the data endpoint's
 * `metadata` always holds a `custom_metadata` key (null when unset), readKVV2Metadata reads
 * `<mount>/metadata/<name>`. Each one must be allowed, or the write fails after Vault stored it.
 */
export function kvSecretV2WriteRequests(mount: string, name: string, create: boolean): { capability: string; path: string }[] {
    return [
        { capability: create ? "create" : "update", path: `${mount}/data/${name}` },
        { capability: "read", path: `${mount}/data/${name}` },
        { capability: "read", path: `${mount}/metadata/${name}` },
    ];
}

export const vaultOutputs: Record<string, Outputs> = {
    "vault:index/mount:Mount": (a, i) => ({ id: String(i.path), state: { accessor: `kv_${shortHash(String(i.path))}` } }),
    "vault:index/authBackend:AuthBackend": (a, i) => ({ id: String(i.path ?? i.type), state: { accessor: `auth_${shortHash(String(i.path ?? i.type))}` } }),
    "vault:kubernetes/authBackendRole:AuthBackendRole": (a, i) => ({ id: `auth/${i.backend}/role/${i.roleName}` }),
    "vault:index/policy:Policy": (a, i) => ({ id: String(i.name) }),
    "vault:kv/secretV2:SecretV2": kvSecretV2,
    "vault:index/audit:Audit": (a, i) => ({ id: String(i.path ?? i.type) }),
};
