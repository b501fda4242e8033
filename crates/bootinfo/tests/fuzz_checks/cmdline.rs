//! Fuzz target `cmdline`: any bytes (lossily made UTF-8) as the kernel command line. Splitting
//! and option parsing must not panic or loop; every key, value and the init part must be a
//! piece of the text; without double quotes the parameters must equal a plain whitespace split
//! up to a lone `--` (Linux's `next_arg`); fixed-size option strings stay within capacity.
//! Shared by `tests/hostfuzz.rs` (cargo test) and `fuzz/` (libFuzzer).

use exo_bootinfo::cmdline::{Cmdline, KernelOptions};

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
}

fn inside(text: &str, part: &str) -> bool {
    let (t, p) = (text.as_ptr() as usize, part.as_ptr() as usize);
    part.is_empty() || (p >= t && p + part.len() <= t + text.len())
}

pub fn check(data: &[u8]) {
    let owned = String::from_utf8_lossy(data);
    let text: &str = &owned;
    let cmdline = Cmdline::new(text);
    let mut params = Vec::new();
    for p in cmdline.params() {
        assert!(params.len() <= text.len(), "more parameters than bytes");
        assert!(inside(text, p.key), "{p:?}");
        if let Some(v) = p.value {
            assert!(inside(text, v), "{p:?}");
        }
        params.push(p);
    }
    if let Some(init) = cmdline.init_args() {
        assert!(inside(text, init));
        assert!(!init.starts_with(is_space));
    }
    if !text.contains('"') {
        let model: Vec<(&str, Option<&str>)> = text
            .split(is_space)
            .filter(|t| !t.is_empty())
            .take_while(|t| *t != "--")
            .map(|t| match t.split_once('=') {
                Some((k, v)) => (k, Some(v)),
                None => (t, None),
            })
            .collect();
        let got: Vec<(&str, Option<&str>)> = params.iter().map(|p| (p.key, p.value)).collect();
        assert_eq!(got, model, "{text:?}");
    }
    let o = KernelOptions::from_cmdline(text);
    for s in [&o.ktest, &o.init, &o.rdinit].into_iter().flatten() {
        assert!(s.len() <= 128 && s.as_bytes().starts_with(s.as_str().as_bytes()));
    }
    if let Some(k) = &o.kbench {
        assert!(k.len() <= 64);
    }
    let _ = (
        o.ktest_selects("memory::frames"),
        o.ktest_selects("meta::x"),
        o.ktest_selects(""),
    );
}
