#!/usr/bin/env bash
# Generates the Python, Kotlin and Swift bindings of kobiri-mobile into bindings/{python,kotlin,swift}.
# Builds the host library (debug) and the workspace's uniffi-bindgen first.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build -p kobiri-mobile -p uniffi-bindgen

case "$(uname -s)" in
    Darwin) lib=target/debug/libkobiri_mobile.dylib ;;
    *) lib=target/debug/libkobiri_mobile.so ;;
esac

for language in python kotlin swift; do
    rm -rf "bindings/$language"
    target/debug/uniffi-bindgen generate --library "$lib" --language "$language" \
        --out-dir "bindings/$language" --no-format
done
echo "bindings written to bindings/python, bindings/kotlin and bindings/swift (from $lib)"
