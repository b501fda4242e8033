//! Tests of the initramfs builder: the GLIBC list, the image layout, staleness, and (when
//! `musl-gcc` and `gcc` are installed) a whole build of a small `user/` tree.

use super::*;
use exo_cpio::{entries, Entry, S_IFDIR, S_IFLNK, S_IFREG};
use std::time::Duration;

fn scratch(what: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("xtask-initramfs-{}-{what}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn read(archive: &[u8]) -> Vec<Entry<'_>> {
    entries(archive).collect::<Result<_, _>>().unwrap()
}

fn find<'a>(es: &'a [Entry<'a>], name: &str) -> &'a Entry<'a> {
    es.iter()
        .find(|e| e.name == name.as_bytes())
        .unwrap_or_else(|| panic!("no {name} in the image"))
}

#[test]
fn glibc_list() {
    let text = "# tests also built with glibc\nt_fork\n\n  t_exec  # trailing comment\n#t_no\n";
    assert_eq!(parse_glibc_list(text), ["t_fork", "t_exec"]);
    assert!(parse_glibc_list("").is_empty());
}

#[test]
fn image_layout() {
    let progs = vec![
        ("init".to_string(), b"INIT".to_vec()),
        ("bin/tests/t_b".to_string(), b"B".to_vec()),
        ("bin/tests/t_a".to_string(), b"A".to_vec()),
        ("bin/echoargs".to_string(), b"E".to_vec()),
    ];
    let img = image(&progs, &Extras::default());
    assert_eq!(img.len() % 512, 0);
    let es = read(&img);
    for (dir, mode) in [
        ("bin", 0o755),
        ("bin/tests", 0o755),
        ("sbin", 0o755),
        ("etc", 0o755),
        ("tmp", 0o1777),
        ("dev", 0o755),
        ("proc", 0o555),
        ("root", 0o700),
    ] {
        assert_eq!(find(&es, dir).mode, S_IFDIR | mode, "{dir}");
    }
    let console = find(&es, "dev/console");
    assert_eq!(console.mode, S_IFCHR | 0o600);
    assert_eq!((console.rdev_major, console.rdev_minor), (5, 1));
    let init = find(&es, "init");
    assert_eq!((init.mode, init.data), (S_IFREG | 0o755, &b"INIT"[..]));
    let link = find(&es, "sbin/init");
    assert_eq!((link.mode & 0o170000, link.data), (S_IFLNK, &b"/init"[..]));
    assert_eq!(find(&es, "etc/hostname").data, b"exo");
    assert_eq!(
        find(&es, "etc/passwd").data,
        b"root:x:0:0:root:/root:/bin/sh\n"
    );
    assert_eq!(find(&es, "etc/group").data, b"root:x:0:\n");
    assert_eq!(find(&es, "bin/echoargs").mode, S_IFREG | 0o755);
    // Parents come before their children; programs are in name order.
    let pos = |n: &str| es.iter().position(|e| e.name == n.as_bytes()).unwrap();
    assert!(pos("bin/tests") < pos("bin/tests/t_a"));
    assert!(pos("bin/tests/t_a") < pos("bin/tests/t_b"));
    assert!(pos("sbin") < pos("sbin/init") && pos("dev") < pos("dev/console"));
    assert_eq!(img, image(&progs, &Extras::default()), "reproducible");
}

#[test]
fn staleness() {
    let d = scratch("stale");
    let (src, out) = (d.join("a.c"), d.join("a"));
    std::fs::write(&src, "int main(){}").unwrap();
    let inputs = vec![src.clone()];
    assert!(is_stale(&out, &inputs, "cc a.c"), "no output");
    std::fs::write(&out, "bin").unwrap();
    assert!(is_stale(&out, &inputs, "cc a.c"), "no command stamp");
    std::fs::write(with_suffix(&out, ".cmd"), "cc a.c").unwrap();
    let now = SystemTime::now();
    std::fs::File::options()
        .write(true)
        .open(&src)
        .unwrap()
        .set_modified(now - Duration::from_secs(10))
        .unwrap();
    assert!(!is_stale(&out, &inputs, "cc a.c"));
    assert!(is_stale(&out, &inputs, "cc -O2 a.c"), "another command");
    std::fs::File::options()
        .write(true)
        .open(&src)
        .unwrap()
        .set_modified(now + Duration::from_secs(10))
        .unwrap();
    assert!(is_stale(&out, &inputs, "cc a.c"), "newer source");
    assert!(
        is_stale(&out, &[d.join("gone.h")], "cc a.c"),
        "missing input"
    );
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn labels() {
    let p = |dest: &str| Program {
        dest: dest.into(),
        src: PathBuf::new(),
        out: PathBuf::new(),
        cc: "gcc",
        pie: false,
        dynamic: false,
    };
    assert_eq!(p("bin/tests/t_fork.glibc").label(), "t_fork.glibc");
    assert_eq!(p("bin/echoargs").label(), "bin/echoargs");
    assert_eq!(p("init").label(), "init");
}

const PROGRAM: &str = "#include \"h.h\"\nint main(void) { return VALUE; }\n";

/// A `user/` tree with init, a helper, two tests (one also for glibc) and a header.
fn tree(d: &Path) -> PathBuf {
    let user = d.join("user");
    for sub in ["init", "bin", "tests", "lib"] {
        std::fs::create_dir_all(user.join(sub)).unwrap();
    }
    std::fs::write(user.join("lib/h.h"), "#define VALUE 0\n").unwrap();
    for f in ["init/init.c", "bin/helper.c", "tests/t_a.c", "tests/t_b.c"] {
        std::fs::write(user.join(f), PROGRAM).unwrap();
    }
    std::fs::write(user.join("tests/GLIBC"), "# glibc too\nt_b\n").unwrap();
    user
}

fn have_compilers() -> bool {
    let ok = util::on_path("musl-gcc") && util::on_path("gcc");
    if !ok {
        eprintln!("note: musl-gcc or gcc missing: skipping the user-program build test");
    }
    ok
}

#[test]
fn builds_and_rebuilds_only_what_changed() {
    if !have_compilers() {
        return;
    }
    let d = scratch("build");
    let user = tree(&d);
    let (obj, out) = (d.join("obj"), d.join("initramfs.cpio"));
    let b = build_in(&user, &obj, &out, false, &Extras::default()).unwrap();
    assert_eq!(b.compiled, 5);
    assert_eq!(b.tests, ["t_a", "t_b", "t_b.glibc"]);
    assert!(b.broken.is_empty());
    let img = std::fs::read(&out).unwrap();
    assert_eq!(img.len() as u64, b.size);
    let es = read(&img);
    for n in [
        "init",
        "bin/helper",
        "bin/tests/t_a",
        "bin/tests/t_b",
        "bin/tests/t_b.glibc",
    ] {
        assert!(
            find(&es, n).data.starts_with(b"\x7fELF"),
            "{n} is not an ELF"
        );
    }
    // Nothing changed: nothing compiled, same image.
    let again = build_in(&user, &obj, &out, false, &Extras::default()).unwrap();
    assert_eq!(again.compiled, 0);
    assert_eq!(std::fs::read(&out).unwrap(), img);
    // Programs built elsewhere (the Rust ones) go in as they are, nothing recompiled.
    let rust = Extras { programs: vec![("bin/rusty".into(), b"\x7fELF rust".to_vec())], ..Extras::default() };
    let with_rust = build_in(&user, &obj, &out, false, &rust).unwrap();
    assert_eq!(with_rust.compiled, 0);
    let img2 = std::fs::read(&out).unwrap();
    let es2 = read(&img2);
    let rusty = find(&es2, "bin/rusty");
    assert_eq!((rusty.mode, rusty.data), (S_IFREG | 0o755, &b"\x7fELF rust"[..]));
    find(&es2, "bin/helper");
    // A newer header rebuilds everything; a newer test only itself.
    let later = SystemTime::now() + Duration::from_secs(5);
    let touch = |p: &Path| {
        std::fs::File::options()
            .write(true)
            .open(p)
            .unwrap()
            .set_modified(later)
            .unwrap()
    };
    touch(&user.join("tests/t_a.c"));
    assert_eq!(build_in(&user, &obj, &out, false, &Extras::default()).unwrap().compiled, 1);
    touch(&user.join("lib/h.h"));
    assert_eq!(build_in(&user, &obj, &out, false, &Extras::default()).unwrap().compiled, 5);
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn broken_programs() {
    if !have_compilers() {
        return;
    }
    let d = scratch("broken");
    let user = tree(&d);
    std::fs::write(
        user.join("tests/t_b.c"),
        "int main(void) { return nope; }\n",
    )
    .unwrap();
    std::fs::write(user.join("tests/GLIBC"), "t_b\nt_missing\n").unwrap();
    let (obj, out) = (d.join("obj"), d.join("initramfs.cpio"));
    let err = build_in(&user, &obj, &out, false, &Extras::default()).unwrap_err();
    let msg = format!("{err:#}");
    assert!(
        msg.contains("t_b") && msg.contains("t_missing.glibc"),
        "{msg}"
    );
    assert!(!out.exists(), "a strict build writes nothing");
    let b = build_in(&user, &obj, &out, true, &Extras::default()).unwrap();
    let names: Vec<&str> = b.broken.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["t_missing.glibc", "t_b", "t_b.glibc"]);
    assert!(b.broken[1].1.contains("nope"), "{}", b.broken[1].1);
    assert_eq!(b.tests, ["t_a"]);
    let img = std::fs::read(&out).unwrap();
    assert!(read(&img)
        .iter()
        .all(|e| !e.name.starts_with(b"bin/tests/t_b")));
    // A broken init fails even a lenient build.
    std::fs::write(user.join("init/init.c"), "syntax error\n").unwrap();
    assert!(build_in(&user, &obj, &out, true, &Extras::default()).is_err());
    let _ = std::fs::remove_dir_all(d);
}
