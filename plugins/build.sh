#!/usr/bin/env bash
# Builds the guest components (the SDK's examples under plugins/examples and the
# first-party modules under modules/) for wasm32-wasip2, with a target directory of
# their own: a separate cargo invocation, never nested under the host build's lock.
# Copies each component to $PORTICO_PLUGIN_OUT (default target/plugins) beside its
# plugin.toml, where `portico serve` and the tests find them. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
target="${PORTICO_GUEST_TARGET_DIR:-${CARGO_TARGET_DIR:-$root/target}/guests}"
out="${PORTICO_PLUGIN_OUT:-$root/target/plugins}"
if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2; then
    rustup target add wasm32-wasip2
fi
mkdir -p "$out"
# A 64 KiB shadow stack (Rust's default is 1 MiB): stack and data then sit in the
# first pages of linear memory, which the host keeps resident between calls.
export CARGO_TARGET_WASM32_WASIP2_RUSTFLAGS="${CARGO_TARGET_WASM32_WASIP2_RUSTFLAGS:--C link-arg=-zstack-size=65536}"
build() { # workspace manifest, crates directory
    local manifest=$1 dir=$2
    for crate in "$dir"/*/; do
        [ -f "$crate/plugin.toml" ] || continue
        local name wasm
        name=$(basename "$crate")
        # One crate per invocation: each plugin enables one world feature of the
        # SDK, and cargo would unify the features of crates built together.
        CARGO_TARGET_DIR="$target" cargo build --quiet --release --target wasm32-wasip2 \
            --manifest-path "$manifest" -p "$name"
        wasm="$target/wasm32-wasip2/release/${name//-/_}.wasm"
        if [ ! -f "$wasm" ]; then echo "plugins/build.sh: $wasm was not built" >&2; exit 1; fi
        mkdir -p "$out/$name"
        cp "$crate/plugin.toml" "$out/$name/plugin.toml"
        cp "$wasm" "$out/$name/plugin.wasm"
    done
}
build plugins/Cargo.toml plugins/examples
if ls -d modules/*/ >/dev/null 2>&1; then
    build modules/Cargo.toml modules
fi
echo "plugins/build.sh: components in $out" >&2
