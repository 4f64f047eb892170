//! Lays out the functions of a cache hit together (link/hit-path.order, written by
//! scripts/hit-order), so that a hit touches a few pages of code: fewer page faults at
//! start. Only where the linker takes the file (lld, which rustup's rustc uses on x86_64
//! Linux from 1.90 on): a trivial program is linked with it first, with this build's
//! rustc, target, flags and linker, and only if that works is sfcred. Elsewhere sfcred is
//! linked as before.

use std::path::Path;
use std::process::{Command, Stdio};

fn main() {
    let order = Path::new(env!("CARGO_MANIFEST_DIR")).join("link/hit-path.order");
    println!("cargo:rerun-if-changed={}", order.display());
    let target = std::env::var("TARGET").unwrap_or_default();
    if !target.starts_with("x86_64-") || !target.contains("-linux-") || !order.exists() {
        return;
    }
    // -Xlinker pairs, not -Wl,: a comma in the checkout's path would split -Wl's argument.
    let args = [
        "-Xlinker".to_owned(),
        format!("--symbol-ordering-file={}", order.display()),
        "-Xlinker".to_owned(),
        // The file names the functions of one build; another build's missing names are expected.
        "--no-warn-symbol-ordering".to_owned(),
    ];
    if links_with(&target, &args) {
        for arg in args {
            println!("cargo:rustc-link-arg-bin=sfcred={arg}");
        }
    }
}

/// Whether a trivial program links for `target` with `args` given to the linker, as this
/// build would link sfcred.
fn links_with(target: &str, args: &[String]) -> bool {
    let Some(out_dir) = std::env::var_os("OUT_DIR") else { return false };
    let out_dir = Path::new(&out_dir);
    let source = out_dir.join("probe.rs");
    if std::fs::write(&source, "fn main() {}\n").is_err() {
        return false;
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let mut probe = Command::new(rustc);
    probe.arg("--target").arg(target).arg("-o").arg(out_dir.join("probe")).arg(&source);
    let flags = std::env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    probe.args(flags.split('\x1f').filter(|flag| !flag.is_empty()));
    if let Ok(linker) = std::env::var("RUSTC_LINKER") {
        probe.arg("-C").arg(format!("linker={linker}"));
    }
    for arg in args {
        probe.arg("-C").arg(format!("link-arg={arg}"));
    }
    probe.stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|status| status.success())
}
