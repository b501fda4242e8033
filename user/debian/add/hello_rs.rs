//! hello_rs: the Rust example of `cargo xtask run --add` (a single file built by rustc with
//! glibc linked statically); the debian test stage runs it from /usr/local/bin.

fn main() {
    let who = std::env::args().nth(1).unwrap_or_else(|| "world".into());
    let threads: Vec<_> = (0..4u64).map(|i| std::thread::spawn(move || i * i)).collect();
    let sum: u64 = threads.into_iter().map(|t| t.join().unwrap_or(0)).sum();
    println!("hello from Rust, {who} (pid {}, threads computed {sum})", std::process::id());
}
