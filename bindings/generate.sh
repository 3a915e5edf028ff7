#!/usr/bin/env bash
# Generates the Python, Kotlin and Swift bindings of kobiri-mobile into bindings/{python,kotlin,swift}.
# Builds the host library (debug) and the workspace's uniffi-bindgen first.
#
#   bindings/generate.sh              rewrite the generated files
#   bindings/generate.sh --check      change nothing; fail if the files in bindings/ differ from
#                                     freshly generated ones (CI runs this)
#   --no-build                        use target/debug as it is, without `cargo build`
#
# Only generated files are replaced: the hand-written bindings/python/tests and
# bindings/kotlin/app stay. Local leftovers (__pycache__, a copied libkobiri_mobile.so)
# are ignored by --check.
set -euo pipefail
cd "$(dirname "$0")/.."

check=false
build=true
for arg in "$@"; do
    case "$arg" in
        --check) check=true ;;
        --no-build) build=false ;;
        -h | --help) sed -n '2,12p' "$0"; exit 0 ;;
        *) echo "generate.sh: unknown option $arg (see --help)" >&2; exit 2 ;;
    esac
done

languages=(python kotlin swift)
# Hand-written folders inside the generated ones (relative to bindings/).
keep=(python/tests kotlin/app)

if $build; then
    cargo build -p kobiri-mobile -p uniffi-bindgen
fi

target="${CARGO_TARGET_DIR:-target}"
case "$(uname -s)" in
    Darwin) lib="$target/debug/libkobiri_mobile.dylib" ;;
    *) lib="$target/debug/libkobiri_mobile.so" ;;
esac
bindgen="$target/debug/uniffi-bindgen"
for file in "$lib" "$bindgen"; do
    if [[ ! -f "$file" ]]; then
        echo "generate.sh: $file is missing (build with: cargo build -p kobiri-mobile -p uniffi-bindgen)" >&2
        exit 1
    fi
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for language in "${languages[@]}"; do
    "$bindgen" generate --library "$lib" --language "$language" \
        --out-dir "$work/fresh/$language" --no-format
done

is_kept() {
    local k
    for k in "${keep[@]}"; do
        [[ "$1" == "$k" ]] && return 0
    done
    return 1
}

if $check; then
    # The files in bindings/ without the hand-written folders and local leftovers.
    for language in "${languages[@]}"; do
        mkdir -p "$work/current/$language"
        if [[ -d "bindings/$language" ]]; then
            cp -a "bindings/$language/." "$work/current/$language/"
        fi
    done
    for k in "${keep[@]}"; do
        rm -rf "${work:?}/current/$k"
    done
    find "$work/current" \( -name __pycache__ -o -name .pytest_cache \) -prune -exec rm -rf {} +
    find "$work/current" \( -name '*.so' -o -name '*.dylib' -o -name '*.pyc' \) -delete
    if ! diff -r "$work/current" "$work/fresh" >"$work/diff" 2>&1; then
        echo "generate.sh --check: the bindings in bindings/ differ from those generated from $lib:" >&2
        head -n 60 "$work/diff" | sed "s|$work/current|bindings|g; s|$work/fresh|generated|g" >&2
        lines="$(wc -l <"$work/diff")"
        if ((lines > 60)); then
            echo "… ($lines lines of diff in all)" >&2
        fi
        echo "bindings/ is stale (the exported API changed) or was edited by hand: run bindings/generate.sh and commit bindings/." >&2
        exit 1
    fi
    echo "bindings/{python,kotlin,swift} are up to date with $lib"
    exit 0
fi

shopt -s nullglob dotglob
for language in "${languages[@]}"; do
    mkdir -p "bindings/$language"
    for entry in "bindings/$language"/*; do
        is_kept "${entry#bindings/}" || rm -rf "$entry"
    done
    cp -a "$work/fresh/$language/." "bindings/$language/"
done
echo "bindings written to bindings/python, bindings/kotlin and bindings/swift (from $lib)"
