//! Rebuilds the server when a migration changes: `sqlx::migrate!` embeds them at compile time
//! and cargo does not watch that folder on its own.

fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
