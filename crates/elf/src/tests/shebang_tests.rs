//! Tests of `parse_shebang`: hand-written cases (including Linux's quirks), and a differential
//! test against the host Linux kernel, which really executes scripts through a probe program.

use std::format;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::string::String;
use std::vec;
use std::vec::Vec;

use crate::*;

fn ok(interp: &[u8], arg: Option<&[u8]>) -> Option<Result<Shebang, ElfError>> {
    Some(Ok(Shebang {
        interpreter: interp.to_vec(),
        argument: arg.map(|a| a.to_vec()),
    }))
}

const BAD: Option<Result<Shebang, ElfError>> = Some(Err(ElfError::BadShebang));

#[test]
fn not_a_script() {
    for f in [
        &b""[..],
        b"#",
        b"!#/bin/sh",
        b" #!/bin/sh",
        b"\x7fELF",
        b"#/bin/sh\n",
    ] {
        assert_eq!(parse_shebang(f), None, "{f:?}");
    }
}

#[test]
fn usual_lines() {
    assert_eq!(parse_shebang(b"#!/bin/sh\necho hi\n"), ok(b"/bin/sh", None));
    assert_eq!(parse_shebang(b"#!/bin/sh"), ok(b"/bin/sh", None));
    assert_eq!(parse_shebang(b"#! /bin/sh\n"), ok(b"/bin/sh", None));
    assert_eq!(parse_shebang(b"#!/bin/sh  \t\n"), ok(b"/bin/sh", None));
    assert_eq!(
        parse_shebang(b"#! \t/usr/bin/env  python3 -u \t\nprint(1)"),
        ok(b"/usr/bin/env", Some(b"python3 -u"))
    );
    assert_eq!(parse_shebang(b"#!/a\tb c\n"), ok(b"/a", Some(b"b c")));
    assert_eq!(parse_shebang(b"#!/bin/sh\r\n"), ok(b"/bin/sh\r", None));
    assert_eq!(parse_shebang(b"#!/bin/sh\0 -x\n"), ok(b"/bin/sh", None));
    assert_eq!(
        parse_shebang(b"#!/bin/sh -e\0x\n"),
        ok(b"/bin/sh", Some(b"-e"))
    );
}

#[test]
fn linux_quirks_without_newline() {
    // The line then ends at byte 255, in the zero padding: trailing blanks are kept.
    assert_eq!(
        parse_shebang(b"#!/bin/sh -x  "),
        ok(b"/bin/sh", Some(b"-x  "))
    );
    assert_eq!(parse_shebang(b"#!/bin/sh "), ok(b"/bin/sh", Some(b"")));
    assert_eq!(parse_shebang(b"#!/bin/sh\t\t"), ok(b"/bin/sh", Some(b"")));
}

#[test]
fn missing_interpreter() {
    for f in [
        &b"#!"[..],
        b"#!\n",
        b"#!   \t\n",
        b"#!  \0/bin/sh\n",
        b"#!\0",
    ] {
        assert_eq!(parse_shebang(f), BAD, "{f:?}");
    }
    let mut blanks = b"#!".to_vec();
    blanks.extend([b' '; 300]);
    assert_eq!(parse_shebang(&blanks), BAD);
    blanks.push(b'\n'); // the newline is beyond the 256 bytes considered
    assert_eq!(parse_shebang(&blanks), BAD);
}

#[test]
fn long_lines() {
    // An interpreter name that does not end within the buffer is refused.
    let mut f = b"#!/".to_vec();
    f.extend([b'a'; 300]);
    assert_eq!(parse_shebang(&f), BAD);
    // Ending with a blank at byte 255 (the last byte of the buffer) is enough.
    let mut f = b"#!/".to_vec();
    f.extend([b'a'; 252]);
    f.extend(b" arg\n");
    assert_eq!(f[255], b' ');
    let mut name = b"/".to_vec();
    name.extend([b'a'; 252]);
    assert_eq!(parse_shebang(&f), ok(&name, None));
    // One byte more and the name reaches byte 255: truncated.
    let mut f = b"#!/".to_vec();
    f.extend([b'a'; 253]);
    f.extend(b" arg\n");
    assert_eq!(parse_shebang(&f), BAD);
    // A long argument is cut at byte 255.
    let mut f = b"#!/bin/sh ".to_vec();
    f.extend([b'x'; 300]);
    f.push(b'\n');
    assert_eq!(parse_shebang(&f), ok(b"/bin/sh", Some(&[b'x'; 245])));
    // A newline at byte 255 still counts.
    let mut f = b"#!/bin/sh ".to_vec();
    f.extend([b'x'; 245]);
    f.push(b'\n');
    assert_eq!(f.len(), 256);
    assert_eq!(parse_shebang(&f), ok(b"/bin/sh", Some(&[b'x'; 245])));
}

/// A temporary directory removed on drop.
pub(super) struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("exo-elf-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The probe: run as `probe --exec FILE` it `execve`s FILE and prints `ERR errno` on failure;
/// run as an interpreter it prints its argv, each string followed by a NUL.
const PROBE_C: &str = r#"
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
extern char **environ;
int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "--exec") == 0) {
        char *args[] = { argv[2], NULL };
        execve(argv[2], args, environ);
        printf("ERR %d", errno);
        return 0;
    }
    for (int i = 0; i < argc; i++) { fputs(argv[i], stdout); putchar(0); }
    return 0;
}
"#;

/// What the host kernel did with a script: the interpreter's argv, or the execve errno.
fn linux_exec(probe: &Path, script: &Path, content: &[u8]) -> Result<Vec<Vec<u8>>, i32> {
    for _attempt in 0..50 {
        {
            let mut f = std::fs::File::create(script).unwrap();
            f.write_all(content).unwrap();
        }
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let out = Command::new(probe)
            .arg("--exec")
            .arg(script)
            .output()
            .unwrap();
        let text = out.stdout;
        if let Some(errno) = text.strip_prefix(b"ERR ") {
            let errno: i32 = String::from_utf8_lossy(errno).parse().unwrap();
            if errno == 26 {
                // ETXTBSY: another test thread forked while the script was open for writing.
                std::thread::sleep(std::time::Duration::from_millis(10));
                continue;
            }
            return Err(errno);
        }
        let mut argv: Vec<Vec<u8>> = text.split(|&b| b == 0).map(|s| s.to_vec()).collect();
        assert_eq!(argv.pop(), Some(vec![]));
        return Ok(argv);
    }
    panic!("ETXTBSY forever");
}

/// Compiles the probe with the first C compiler found, or `None`.
pub(super) fn compile_probe(dir: &Path) -> Option<PathBuf> {
    let src = dir.join("probe.c");
    std::fs::write(&src, PROBE_C).unwrap();
    let exe = dir.join("p");
    for cc in ["/usr/bin/cc", "/usr/bin/gcc", "/usr/bin/musl-gcc"] {
        if Path::new(cc).exists() {
            let st = Command::new(cc).arg("-o").arg(&exe).arg(&src).status();
            if st.is_ok_and(|s| s.success()) {
                return Some(exe);
            }
        }
    }
    None
}

/// A tiny deterministic generator for the differential test's lines.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> usize {
        (self.next() % n) as usize
    }
}

/// A first line built from pieces that exercise every branch of the algorithm.
fn random_script(rng: &mut XorShift, probe: &[u8]) -> Vec<u8> {
    let mut f = b"#!".to_vec();
    let blanks = |rng: &mut XorShift, f: &mut Vec<u8>| {
        for _ in 0..rng.below(4) {
            f.push(if rng.below(2) == 0 { b' ' } else { b'\t' });
        }
    };
    blanks(rng, &mut f);
    match rng.below(8) {
        0 => {}
        1 => f.push(0),
        2 => {
            f.extend(probe);
            f.extend(std::iter::repeat_n(b'y', rng.below(260)));
        }
        _ => f.extend(probe),
    }
    if rng.below(4) != 0 {
        f.push(if rng.below(2) == 0 { b' ' } else { b'\t' });
    }
    for _ in 0..rng.below(6) {
        match rng.below(9) {
            0 | 1 => blanks(rng, &mut f),
            2 => f.extend(b"-x"),
            3 => f.extend(b"a b"),
            4 => f.push(0),
            5 => f.push(b'\n'),
            6 => f.push(b'\r'),
            7 => f.extend(std::iter::repeat_n(b'z', rng.below(300))),
            _ => f.extend(b"--"),
        }
    }
    if rng.below(2) == 0 {
        f.push(b'\n');
    }
    f.extend(b"echo body\n");
    f
}

#[test]
fn matches_the_host_linux_kernel() {
    if !cfg!(target_os = "linux") {
        std::println!("note: not on Linux, shebang differential test skipped");
        return;
    }
    let dir = TempDir::new("shebang");
    let Some(probe) = compile_probe(&dir.0) else {
        std::println!("note: no C compiler, shebang differential test skipped");
        return;
    };
    let script = dir.0.join("s");
    let probe_bytes = probe.as_os_str().as_encoded_bytes().to_vec();
    let mut cases: Vec<Vec<u8>> = Vec::new();
    for line in [
        "#!P\n",
        "#!P",
        "#! \tP  \t\n",
        "#!P -x  ",
        "#!P ",
        "#!P\t",
        "#!P a  b \n",
        "#!P\0 -x\n",
        "#!\n",
        "#!",
        "#!  \n",
    ] {
        cases.push(line.replace('P', probe.to_str().unwrap()).into_bytes());
    }
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    for _ in 0..400 {
        cases.push(random_script(&mut rng, &probe_bytes));
    }
    const ENOEXEC: i32 = 8;
    let (mut ran, mut refused, mut not_found) = (0, 0, 0);
    for content in &cases {
        let ours = parse_shebang(content).expect("starts with #!");
        let linux = linux_exec(&probe, &script, content);
        match (&ours, &linux) {
            (Err(ElfError::BadShebang), Err(ENOEXEC)) => refused += 1,
            // Documented deviation: Linux looks up the empty name "#!\0" gives (and fails).
            (Err(ElfError::BadShebang), Err(e))
                if *e != ENOEXEC
                    && content[2..]
                        .iter()
                        .find(|&&b| b != b' ' && b != b'\t')
                        .is_none_or(|&b| b == 0) =>
            {
                not_found += 1
            }
            (Ok(sb), Ok(argv)) => {
                let mut expected = vec![sb.interpreter.clone()];
                expected.extend(sb.argument.clone());
                expected.push(script.as_os_str().as_encoded_bytes().to_vec());
                assert_eq!(argv, &expected, "{:?}", String::from_utf8_lossy(content));
                ran += 1;
            }
            // Another interpreter name than the probe's: Linux fails to find it.
            (Ok(sb), Err(e)) if sb.interpreter != probe_bytes && *e != ENOEXEC => not_found += 1,
            _ => panic!(
                "{:?}: ours {ours:?}, Linux {linux:?}",
                String::from_utf8_lossy(content)
            ),
        }
    }
    std::println!(
        "{ran} scripts ran, {refused} refused (ENOEXEC), {not_found} interpreters not found"
    );
    // Every branch must really have been exercised.
    assert!(
        ran >= 100 && refused >= 10 && not_found >= 10,
        "{ran} {refused} {not_found}"
    );
}
