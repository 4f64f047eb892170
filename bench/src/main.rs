//! sfcred's benchmark, run by `scripts/bench` on release builds. It drives a private
//! D-Bus with GNOME Keyring, reads peak memory through wait4 and the machine from
//! /proc, so it runs on Linux alone.

#[cfg(target_os = "linux")]
mod bench;

#[cfg(target_os = "linux")]
fn main() {
    bench::main();
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("sfcred-bench runs on Linux only");
    std::process::exit(2);
}
