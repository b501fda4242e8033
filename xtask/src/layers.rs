//! The kernel's layer rule, checked: every module of `kernel/src` belongs to one layer of
//! [`LAYERS`], and a module may name (`crate::x`, `$crate::x`, `use crate::{x, …}`) only modules of
//! lower layers. Modules of one layer are peers and may not name each other, so the module
//! graph has no cycle. `cargo xtask layers` prints the check; the host test
//! `kernel_layers_are_kept` (run by `cargo test` and `cargo xtask test`) fails on any upward
//! import not in [`DEBT`], and on a [`DEBT`] entry that no longer exists, so the list only
//! shrinks. It also keeps machine instructions (`asm!`, `core::arch`) inside `arch`.
//! Independently of the layer table, [`module_graph`] builds the graph of which module names
//! which and [`find_cycle`] sorts it topologically: the host test `kernel_modules_have_no_cycle`
//! fails on any import cycle between kernel modules, and `cargo xtask layers` prints "no cycle".
//! docs/ARCHITECTURE.md draws the layers.

use anyhow::{Context, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, lowest first. `main` is `kernel/src/main.rs` (the boot sequence).
pub const LAYERS: &[(&str, &[&str])] = &[
    ("hardware", &["arch"]),
    ("boot parameters", &["params"]),
    ("clock", &["time"]),
    ("console devices", &["drivers"]),
    ("console", &["console"]),
    ("lock checking", &["lockdep"]),
    ("locks", &["spinlock"]),
    ("kernel services", &["random", "debug", "power"]),
    ("user memory access", &["uaccess"]),
    ("memory", &["memory"]),
    ("panic", &["panic"]),
    ("scheduler", &["sched"]),
    ("PCI bus", &["pci"]),
    ("network devices", &["netdev"]),
    ("block devices", &["block"]),
    ("file objects", &["files"]),
    ("processes", &["process"]),
    ("native IPC", &["ipc"]),
    ("files", &["fs"]),
    ("sockets", &["net"]),
    ("terminals", &["tty"]),
    ("system calls", &["syscall"]),
    ("test support", &["ktest", "crashtest"]),
    ("boot", &["boot"]),
    ("idle console", &["monitor"]),
    ("kernel entry", &["main"]),
    ("in-kernel tests", &["ktests", "kbench"]),
];

/// Upward imports tolerated while being removed: (file under `kernel/src`, module it names).
/// An entry may only be deleted, never added. Empty since issue 12 removed the last ones (SMP
/// bring-up and the local APIC's mapping now get their memory from `main`, see
/// `arch::smp::SmpMemory`).
pub const DEBT: &[(&str, &str)] = &[];

/// One upward (or sideways) import.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Violation {
    pub file: String,
    pub from: String,
    pub to: String,
}

/// The layer index of a module.
fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, mods)| mods.contains(&module))
}

/// Removes comments and the contents of string and char literals (so a path in a doc comment or
/// a message is not an import).
pub fn strip(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let mut depth = 0;
                while i < b.len() {
                    if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                        depth += 1;
                        i += 2;
                    } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
                out.push(' ');
            }
            b'"' => {
                // A raw string `r"…"`/`r#"…"#` has no escapes; its prefix was already copied.
                let raw_hashes = raw_prefix(&out);
                i += 1;
                while i < b.len() {
                    if raw_hashes.is_none() && b[i] == b'\\' {
                        i += 2;
                        continue;
                    }
                    if b[i] == b'"' {
                        let n = raw_hashes.unwrap_or(0);
                        if b[i + 1..].iter().take(n).filter(|&&c| c == b'#').count() == n {
                            i += 1 + n;
                            break;
                        }
                    }
                    i += 1;
                }
                out.push_str("\"\"");
            }
            b'\'' => {
                // A char literal ('x', '\n', '\u{..}'), else a lifetime or label.
                let close = if b.get(i + 1) == Some(&b'\\') {
                    b[i + 2..].iter().position(|&c| c == b'\'').map(|p| i + 2 + p)
                } else if b.get(i + 2) == Some(&b'\'') {
                    Some(i + 2)
                } else {
                    None
                };
                match close {
                    Some(end) => {
                        out.push_str("' '");
                        i = end + 1;
                    }
                    None => {
                        out.push('\'');
                        i += 1;
                    }
                }
            }
            _ => {
                let ch = src[i..].chars().next().unwrap_or(' ');
                out.push(ch);
                i += ch.len_utf8();
            }
        }
    }
    out
}

/// If `before` ends with a raw-string prefix (`r`, `r#`, `br##` …), how many `#`s it has.
fn raw_prefix(before: &str) -> Option<usize> {
    let hashes = before.len() - before.trim_end_matches('#').len();
    let rest = &before[..before.len() - hashes];
    let ident_before = |s: &str| s.chars().last().is_some_and(|c| c.is_alphanumeric() || c == '_');
    let raw = rest.strip_suffix('r')?;
    let raw = raw.strip_suffix('b').unwrap_or(raw);
    (!ident_before(raw)).then_some(hashes)
}

fn ident_at(s: &str) -> &str {
    let end = s.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(s.len());
    &s[..end]
}

/// The first path segment of every `crate::` path in (stripped) source `src`, including each
/// item of a `crate::{a, b::c}` group.
pub fn crate_roots(src: &str) -> BTreeSet<String> {
    let mut roots = BTreeSet::new();
    let mut rest = src;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().last();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // `my_crate::` is another path
        }
        let tail = rest.trim_start();
        if let Some(group) = tail.strip_prefix('{') {
            let mut depth = 0usize;
            let mut item_start = true;
            for (k, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && !c.is_whitespace() => {
                        let id = ident_at(&group[k..]);
                        if !id.is_empty() && id != "self" {
                            roots.insert(id.to_string());
                        }
                        item_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            let id = ident_at(tail);
            if !id.is_empty() {
                roots.insert(id.to_string());
            }
        }
    }
    roots
}

/// The module a root item belongs to: a module name, a `#[macro_export]` macro (its defining
/// module) or an item of `main.rs`.
struct Resolver {
    modules: BTreeSet<String>,
    macros: BTreeMap<String, String>,
}

impl Resolver {
    fn module_of(&self, root_item: &str) -> String {
        if self.modules.contains(root_item) {
            root_item.to_string()
        } else if let Some(m) = self.macros.get(root_item) {
            m.clone()
        } else {
            "main".to_string()
        }
    }
}

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for e in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let p = e?.path();
        if p.is_dir() {
            rs_files(&p, out)?;
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
    Ok(())
}

/// A kernel file: (path under `kernel/src`, its module, stripped source).
type Source = (String, String, String);

/// The kernel's files.
fn kernel_sources(root: &Path) -> Result<Vec<Source>> {
    let src_dir = root.join("kernel").join("src");
    let mut files = Vec::new();
    rs_files(&src_dir, &mut files)?;
    files.sort();
    let mut out = Vec::new();
    for p in files {
        let rel = p.strip_prefix(&src_dir)?.to_string_lossy().replace('\\', "/");
        let first = rel.split('/').next().unwrap_or_default();
        let module = first.strip_suffix(".rs").unwrap_or(first).to_string();
        let text = std::fs::read_to_string(&p).with_context(|| format!("cannot read {}", p.display()))?;
        out.push((rel, module, strip(&text)));
    }
    Ok(out)
}

/// The kernel's files and the resolver of their `crate::` paths.
fn load(root: &Path) -> Result<(Vec<Source>, Resolver)> {
    let files = kernel_sources(root)?;
    let modules: BTreeSet<String> = files.iter().map(|(_, m, _)| m.clone()).collect();
    let mut macros = BTreeMap::new();
    for (_, module, src) in &files {
        let mut rest = src.as_str();
        while let Some(at) = rest.find("#[macro_export]") {
            rest = &rest[at..];
            if let Some(m) = rest.find("macro_rules!") {
                let name = ident_at(rest[m + "macro_rules!".len()..].trim_start());
                macros.insert(name.to_string(), module.clone());
            }
            rest = &rest[1..];
        }
    }
    Ok((files, Resolver { modules, macros }))
}

/// Which modules each module of `kernel/src` names (itself left out): every module is a key.
pub type Graph = BTreeMap<String, BTreeSet<String>>;

/// The module graph of the kernel's sources, from their `crate::` paths (whatever the layers).
pub fn module_graph(root: &Path) -> Result<Graph> {
    let (files, resolver) = load(root)?;
    let mut graph = Graph::new();
    for (_, module, src) in &files {
        let names = graph.entry(module.clone()).or_default();
        for item in crate_roots(src) {
            let target = resolver.module_of(&item);
            if target != *module {
                names.insert(target);
            }
        }
    }
    Ok(graph)
}

/// A cycle of `graph` (its modules in order, the first repeated at the end), or None when it has
/// none. A topological sort: modules that name no remaining module are taken away until none
/// is left (no cycle) or every remaining one names a remaining one; following such names from
/// any of those then has to come back to a module already passed, which closes a cycle.
pub fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    let names = |m: &str| graph.get(m).into_iter().flatten().map(String::as_str);
    let mut left: BTreeSet<&str> = graph.keys().chain(graph.values().flatten()).map(String::as_str).collect();
    loop {
        let done: Vec<&str> = left.iter().copied().filter(|m| names(m).all(|t| !left.contains(t))).collect();
        if done.is_empty() {
            break;
        }
        for m in done {
            left.remove(m);
        }
    }
    let mut path = vec![*left.first()?];
    loop {
        let at = *path.last()?;
        let next = names(at).find(|t| left.contains(t))?;
        if let Some(start) = path.iter().position(|m| *m == next) {
            let mut cycle: Vec<String> = path[start..].iter().map(|m| m.to_string()).collect();
            cycle.push(next.to_string());
            return Some(cycle);
        }
        path.push(next);
    }
}

/// Every upward or sideways import, and the modules with no layer.
pub fn check(root: &Path) -> Result<(Vec<Violation>, BTreeSet<String>)> {
    let (files, resolver) = load(root)?;
    let modules = &resolver.modules;
    let unlayered: BTreeSet<String> = modules.iter().filter(|m| layer_of(m).is_none()).cloned().collect();
    let mut violations = Vec::new();
    for (rel, module, src) in &files {
        let Some(from) = layer_of(module) else { continue };
        for item in crate_roots(src) {
            let target = resolver.module_of(&item);
            if target == *module {
                continue;
            }
            match layer_of(&target) {
                Some(to) if to < from => {}
                _ => violations.push(Violation { file: rel.clone(), from: module.clone(), to: target }),
            }
        }
    }
    // Machine instructions are the hardware layer's: `asm!` and `core::arch` only in `arch`
    // (and the in-kernel tests, which exercise the CPU directly).
    for (rel, module, src) in &files {
        if matches!(module.as_str(), "arch" | "ktests" | "kbench") {
            continue;
        }
        if src.contains("asm!") || src.contains("core::arch::") {
            violations.push(Violation { file: rel.clone(), from: module.clone(), to: "machine instructions (asm!, core::arch)".into() });
        }
    }
    violations.sort();
    violations.dedup();
    Ok((violations, unlayered))
}

/// The check's verdict: Err(lines) if a new violation, a stale debt entry or an unlayered
/// module exists.
pub fn verdict(violations: &[Violation], unlayered: &BTreeSet<String>) -> Result<usize, Vec<String>> {
    let mut errors = Vec::new();
    for m in unlayered {
        errors.push(format!("module `{m}` has no layer: add it to xtask/src/layers.rs LAYERS"));
    }
    for v in violations {
        if !DEBT.contains(&(v.file.as_str(), v.to.as_str())) {
            errors.push(format!(
                "kernel/src/{}: `{}` names `{}`, which is not in a lower layer (see docs/ARCHITECTURE.md)",
                v.file, v.from, v.to
            ));
        }
    }
    for (file, to) in DEBT {
        if !violations.iter().any(|v| v.file == *file && v.to == *to) {
            errors.push(format!("layer debt ({file} -> {to}) is paid: delete it from DEBT in xtask/src/layers.rs"));
        }
    }
    if errors.is_empty() {
        Ok(violations.len())
    } else {
        Err(errors)
    }
}

/// `cargo xtask layers`: prints the layers and the check's result.
pub fn run(root: &Path) -> Result<u8> {
    for (i, (name, mods)) in LAYERS.iter().enumerate().rev() {
        println!("  {i:>2} {name:<20} {}", mods.join(", "));
    }
    let (violations, unlayered) = check(root)?;
    for v in &violations {
        println!("  debt: kernel/src/{} ({}) -> {}", v.file, v.from, v.to);
    }
    let graph = module_graph(root)?;
    let cycle = find_cycle(&graph);
    let imports: usize = graph.values().map(BTreeSet::len).sum();
    match &cycle {
        None => println!("xtask layers: no cycle ({} modules, {imports} module-to-module imports)", graph.len()),
        Some(cycle) => println!("  ERROR import cycle between kernel modules: {}", cycle.join(" -> ")),
    }
    match verdict(&violations, &unlayered) {
        Ok(n) if cycle.is_none() => {
            println!("xtask layers: ok ({n} known upward imports left in DEBT)");
            Ok(0)
        }
        Ok(_) => Ok(1),
        Err(errors) => {
            for e in errors {
                println!("  ERROR {e}");
            }
            Ok(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_paths_groups_and_macro_paths() {
        let src = strip(
            "use crate::{arch, time::now, sched::{a, b}};\nfn f() { crate::memory::x(); $crate::console::p(); }\n\
             // crate::fs in a comment\nlet s = \"crate::tty\"; let c = '{'; my_crate::x;",
        );
        let roots: Vec<String> = crate_roots(&src).into_iter().collect();
        assert_eq!(roots, ["arch", "console", "memory", "sched", "time"]);
    }

    #[test]
    fn strips_raw_strings_and_keeps_lifetimes() {
        let src = strip("fn f<'a>(x: &'a u8) { let s = r#\"crate::fs \" \"#; crate::time::x(); }");
        assert!(src.contains("<'a>"), "{src}");
        let roots: Vec<String> = crate_roots(&src).into_iter().collect();
        assert_eq!(roots, ["time"]);
    }

    #[test]
    fn every_module_appears_once() {
        let mut seen = BTreeSet::new();
        for (_, mods) in LAYERS {
            for m in *mods {
                assert!(seen.insert(*m), "{m} in two layers");
            }
        }
    }

    fn graph(edges: &[(&str, &str)]) -> Graph {
        let mut g = Graph::new();
        for (from, to) in edges {
            g.entry(from.to_string()).or_default().insert(to.to_string());
            g.entry(to.to_string()).or_default();
        }
        g
    }

    #[test]
    fn finds_cycles_and_only_cycles() {
        assert_eq!(find_cycle(&Graph::new()), None);
        // A diamond and a chain: no cycle.
        let acyclic = graph(&[("main", "sched"), ("main", "memory"), ("sched", "arch"), ("memory", "arch"), ("x", "main")]);
        assert_eq!(find_cycle(&acyclic), None);
        // arch -> memory -> arch, reached from modules outside the cycle.
        let cyclic = graph(&[("main", "memory"), ("memory", "arch"), ("arch", "memory"), ("sched", "arch"), ("arch", "console")]);
        assert_eq!(find_cycle(&cyclic).unwrap(), ["arch", "memory", "arch"]);
        // A longer cycle, whichever module it starts from, closes on itself and uses real edges.
        let long = graph(&[("a", "b"), ("b", "c"), ("c", "d"), ("d", "b"), ("a", "e")]);
        let cycle = find_cycle(&long).unwrap();
        assert_eq!(cycle.first(), cycle.last());
        assert_eq!(cycle.len(), 4);
        for pair in cycle.windows(2) {
            assert!(long[&pair[0]].contains(&pair[1]), "{cycle:?}");
        }
    }

    #[test]
    fn kernel_modules_have_no_cycle() {
        let root = crate::util::workspace_root();
        let graph = module_graph(&root).expect("kernel sources");
        assert!(graph.contains_key("arch") && graph.contains_key("main") && graph.len() > 20, "{graph:?}");
        if let Some(cycle) = find_cycle(&graph) {
            panic!("import cycle between kernel modules: {}", cycle.join(" -> "));
        }
    }

    #[test]
    fn kernel_layers_are_kept() {
        let root = crate::util::workspace_root();
        let (violations, unlayered) = check(&root).expect("kernel sources");
        if let Err(errors) = verdict(&violations, &unlayered) {
            panic!("kernel layer check failed:\n  {}", errors.join("\n  "));
        }
    }
}
