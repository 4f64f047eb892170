//! The floor for a cache hit: a minimal Rust program that prints one line.
fn main() {
    println!("floor");
}
