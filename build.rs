//! Lays out the functions of a cache hit together (link/hit-path.order, written by
//! scripts/hit-order), so that a hit touches a few pages of code: fewer page faults at
//! start. Only where the linker is lld, which reads the file: x86_64 Linux from Rust 1.90
//! on, unless the build opts out of lld. Elsewhere the binary is linked as before.

use std::path::Path;
use std::process::Command;

fn main() {
    let order = Path::new(env!("CARGO_MANIFEST_DIR")).join("link/hit-path.order");
    println!("cargo:rerun-if-changed={}", order.display());
    println!("cargo:rerun-if-env-changed=CARGO_ENCODED_RUSTFLAGS");
    let target = std::env::var("TARGET").unwrap_or_default();
    let flags = std::env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    let opts_out =
        flags.split('\x1f').any(|flag| flag.contains("linker-features=-lld") || flag.contains("linker="));
    if target != "x86_64-unknown-linux-gnu" || opts_out || !rustc_links_with_lld() || !order.exists() {
        return;
    }
    println!("cargo:rustc-link-arg-bin=sfcred=-Wl,--symbol-ordering-file={}", order.display());
    // The file names functions of one build; another build's missing names are expected.
    println!("cargo:rustc-link-arg-bin=sfcred=-Wl,--no-warn-symbol-ordering");
}

/// Whether this rustc links x86_64 Linux binaries with lld by default (1.90 and later).
fn rustc_links_with_lld() -> bool {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let Ok(out) = Command::new(rustc).arg("--version").output() else { return false };
    let version = String::from_utf8_lossy(&out.stdout);
    let mut numbers = version.split_whitespace().nth(1).unwrap_or_default().split('.');
    let (major, minor) = (
        numbers.next().and_then(|n| n.parse::<u32>().ok()),
        numbers.next().and_then(|n| n.parse::<u32>().ok()),
    );
    matches!((major, minor), (Some(1), Some(minor)) if minor >= 90) || major.is_some_and(|m| m > 1)
}
