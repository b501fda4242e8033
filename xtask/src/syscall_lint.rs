//! The typed-syscall rule, checked: no system-call handler reads a raw register or a raw user
//! address. Handlers in `kernel/src/syscall/` take named, typed arguments through `typed!` /
//! `with_frame!` (`syscall/args.rs`); this lint fails `cargo test` (and so `cargo xtask test`)
//! when a file there names an argument register of the frame (`frame.rdi` …), reads the
//! registers as an array, registers a handler without the typed adapters, or copies user memory
//! through an untyped address (`uaccess::read(addr)` and the other free functions) instead of
//! the `UserPtr`/`UserSlice`/`UserCStr` methods.

use anyhow::{Context, Result};
use std::path::Path;

/// Files of `kernel/src/syscall` allowed to see registers: the adapters and the dispatcher.
const ADAPTERS: &[&str] = &["args.rs", "mod.rs"];

/// Text that must not appear in a handler file, with why.
const FORBIDDEN: &[(&str, &str)] = &[
    ("frame.rdi", "reads an argument register"),
    ("frame.rsi", "reads an argument register"),
    ("frame.rdx", "reads an argument register"),
    ("frame.r10", "reads an argument register"),
    ("frame.r8", "reads an argument register"),
    ("frame.r9", "reads an argument register"),
    ("frame.rax", "reads the number/result register"),
    ("raw_args(", "reads the argument registers as an array"),
    ("registers(frame", "reads the argument registers as an array"),
    ("] = Some(", "registers a handler without typed!/with_frame!"),
    ("uaccess::read(", "reads user memory through an untyped address"),
    ("uaccess::write(", "writes user memory through an untyped address"),
    ("uaccess::write_opt(", "writes user memory through an untyped address"),
    ("uaccess::read_bytes(", "reads user memory through an untyped address"),
    ("uaccess::write_bytes(", "writes user memory through an untyped address"),
    ("uaccess::read_cstr(", "reads a string through an untyped address"),
    ("uaccess::read_path(", "reads a path through an untyped address"),
    ("uaccess::read_cstr_array(", "reads a string array through an untyped address"),
    ("uaccess::check_range(", "checks an untyped address"),
];

/// Every violation, as "file:line: text — why".
pub fn check(root: &Path) -> Result<Vec<String>> {
    let dir = root.join("kernel/src/syscall");
    let mut out = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .collect();
    files.sort();
    for path in files {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        if ADAPTERS.contains(&name.as_str()) {
            continue;
        }
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let code = crate::layers::strip(&text);
        for (number, line) in code.lines().enumerate() {
            for (needle, why) in FORBIDDEN {
                if line.contains(needle) {
                    out.push(format!("syscall/{name}:{}: `{}` — {why}", number + 1, line.trim()));
                }
            }
        }
    }
    Ok(out)
}

/// Part of `cargo xtask layers`: prints the typed-syscall check's result (1 on a violation).
pub fn run(root: &Path) -> Result<u8> {
    let violations = check(root)?;
    for v in &violations {
        println!("  untyped: kernel/src/{v}");
    }
    if violations.is_empty() {
        println!("xtask layers: system-call handlers take typed arguments only");
        Ok(0)
    } else {
        println!("xtask layers: FAILED — {} untyped system-call argument uses", violations.len());
        Ok(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syscall_handlers_take_typed_arguments() {
        let root = crate::util::workspace_root();
        let violations = check(&root).expect("kernel sources");
        assert!(violations.is_empty(), "untyped system-call arguments:\n  {}", violations.join("\n  "));
    }

    #[test]
    fn the_lint_sees_a_raw_register() {
        let dir = std::env::temp_dir().join(format!("exo-syscall-lint-{}", std::process::id()));
        let syscall = dir.join("kernel/src/syscall");
        std::fs::create_dir_all(&syscall).unwrap();
        std::fs::write(syscall.join("mod.rs"), "fn f(frame: &F) -> u64 { frame.rdi }\n").unwrap();
        std::fs::write(syscall.join("bad.rs"), "// frame.rsi in a comment is fine\nfn g(frame: &F) -> u64 { frame.rsi }\n").unwrap();
        let violations = check(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(violations.len(), 1, "{violations:?}");
        assert!(violations[0].starts_with("syscall/bad.rs:2:"), "{violations:?}");
    }
}
