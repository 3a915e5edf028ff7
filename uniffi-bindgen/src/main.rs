//! Generates the Kotlin, Swift and Python bindings of `kobiri-mobile` (see `bindings/`).

fn main() {
    uniffi::uniffi_bindgen_main();
}
