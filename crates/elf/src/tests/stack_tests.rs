//! Tests of `build_stack`: a hand-computed golden layout, a reader that walks the image from
//! rsp like a C runtime would and checks every pointer and string, and the error cases.

use std::vec;
use std::vec::Vec;

use proptest::prelude::*;

use crate::*;

const TOP: u64 = 0x7fff_ffff_f000;

/// Reads the image like the program would, with user addresses.
pub(super) struct Mem<'a> {
    img: &'a StackImage,
    top: u64,
}

impl Mem<'_> {
    fn u64(&self, addr: u64) -> u64 {
        assert!(
            addr >= self.img.start && addr + 8 <= self.top,
            "{addr:#x} outside the image"
        );
        let off = (addr - self.img.start) as usize;
        u64::from_le_bytes(self.img.bytes[off..off + 8].try_into().unwrap())
    }

    fn bytes(&self, addr: u64, len: usize) -> &[u8] {
        assert!(
            addr >= self.img.start && addr + len as u64 <= self.top,
            "{addr:#x} outside"
        );
        let off = (addr - self.img.start) as usize;
        &self.img.bytes[off..off + len]
    }

    /// The NUL-terminated string at `addr` (the NUL must be inside the image).
    fn c_str(&self, addr: u64) -> Vec<u8> {
        let rest = self.bytes(addr, (self.top - addr) as usize);
        let len = rest
            .iter()
            .position(|&b| b == 0)
            .expect("unterminated string");
        rest[..len].to_vec()
    }
}

/// Walks the whole image and checks it against `spec`, including Linux's string placement.
pub(super) fn check_image(spec: &StackSpec, img: &StackImage) {
    let top = spec.stack_top;
    let m = Mem { img, top };
    assert_eq!(img.start, top - img.bytes.len() as u64);
    assert_eq!(img.rsp, img.start);
    assert_eq!(img.rsp % 16, 0);
    assert!(img.bytes.len() <= spec.max_size);
    assert_eq!(m.u64(top - 8), 0, "end marker");

    // argc, argv, envp, auxv from rsp.
    let argc = m.u64(img.rsp) as usize;
    assert_eq!(argc, spec.argv.len());
    assert_eq!(img.argv_addr, img.rsp + 8);
    let argv_ptrs: Vec<u64> = (0..argc)
        .map(|i| m.u64(img.argv_addr + 8 * i as u64))
        .collect();
    assert_eq!(m.u64(img.argv_addr + 8 * argc as u64), 0);
    assert_eq!(img.envp_addr, img.argv_addr + 8 * (argc as u64 + 1));
    let mut envp_ptrs = vec![];
    while m.u64(img.envp_addr + 8 * envp_ptrs.len() as u64) != 0 {
        envp_ptrs.push(m.u64(img.envp_addr + 8 * envp_ptrs.len() as u64));
    }
    assert_eq!(envp_ptrs.len(), spec.envp.len());
    assert_eq!(
        img.auxv_addr,
        img.envp_addr + 8 * (envp_ptrs.len() as u64 + 1)
    );
    let mut auxv = vec![];
    let mut at = img.auxv_addr;
    loop {
        let (k, v) = (m.u64(at), m.u64(at + 8));
        at += 16;
        if k == AT_NULL {
            assert_eq!(v, 0);
            break;
        }
        auxv.push(AuxEntry { key: k, value: v });
    }
    let auxv_end = at;

    // Strings.
    for (p, s) in argv_ptrs.iter().zip(spec.argv) {
        assert_eq!(&m.c_str(*p), s);
    }
    for (p, s) in envp_ptrs.iter().zip(spec.envp) {
        assert_eq!(&m.c_str(*p), s);
    }

    // Aux vector: caller's entries (minus reserved keys), then ours.
    let reserved = [AT_NULL, AT_RANDOM, AT_EXECFN, AT_PLATFORM];
    let mut expected: Vec<AuxEntry> = spec
        .auxv
        .iter()
        .copied()
        .filter(|e| !reserved.contains(&e.key))
        .collect();
    let caller = expected.len();
    assert_eq!(&auxv[..caller], &expected[..]);
    let find = |key| {
        auxv[caller..]
            .iter()
            .find(|e| e.key == key)
            .map(|e| e.value)
    };
    let random_addr = find(AT_RANDOM).unwrap();
    let execfn_addr = find(AT_EXECFN).unwrap();
    expected.push(AuxEntry {
        key: AT_RANDOM,
        value: random_addr,
    });
    expected.push(AuxEntry {
        key: AT_EXECFN,
        value: execfn_addr,
    });
    let platform_addr = find(AT_PLATFORM);
    if let Some(p) = platform_addr {
        expected.push(AuxEntry {
            key: AT_PLATFORM,
            value: p,
        });
    }
    assert_eq!(auxv, expected);
    assert_eq!(m.bytes(random_addr, 16), &spec.random);
    assert_eq!(m.c_str(execfn_addr), spec.execfn);

    // Linux placement: argv strings, envp strings, execfn, end marker, packed upwards.
    let mut next = argv_ptrs
        .first()
        .copied()
        .or(envp_ptrs.first().copied())
        .unwrap_or(execfn_addr);
    let strings_start = next;
    for (p, s) in argv_ptrs
        .iter()
        .zip(spec.argv)
        .chain(envp_ptrs.iter().zip(spec.envp))
    {
        assert_eq!(*p, next);
        next += s.len() as u64 + 1;
    }
    assert_eq!(execfn_addr, next);
    assert_eq!(execfn_addr + spec.execfn.len() as u64 + 1, top - 8);
    // Below the strings, aligned to 16: platform, random bytes, then padding down to auxv.
    let aligned = strings_start & !15;
    match platform_addr {
        Some(p) => {
            assert!(!spec.platform.is_empty());
            assert_eq!(m.c_str(p), spec.platform);
            assert_eq!(p + spec.platform.len() as u64 + 1, aligned);
            assert_eq!(random_addr + 16, p);
        }
        None => {
            assert!(spec.platform.is_empty());
            assert_eq!(random_addr + 16, aligned);
        }
    }
    assert!(
        auxv_end <= random_addr && random_addr - auxv_end < 16,
        "padding"
    );
}

fn spec<'a>(argv: &'a [&'a [u8]], envp: &'a [&'a [u8]], auxv: &'a [AuxEntry]) -> StackSpec<'a> {
    StackSpec {
        stack_top: TOP,
        argv,
        envp,
        execfn: b"/x",
        platform: b"x86_64",
        random: *b"0123456789abcdef",
        auxv,
        max_size: 1 << 20,
    }
}

#[test]
fn golden_layout() {
    // Computed by hand: end marker at ..eff8, "/x" at ..eff5, "B=1" at ..eff1, "a" at ..efef,
    // aligned to ..efe0, "x86_64" at ..efd9, random at ..efc9; 4 aux entries + 5 words = 104
    // bytes below: ..ef61, aligned down to ..ef60.
    let s = spec(&[b"a"], &[b"B=1"], &[]);
    let img = build_stack(&s).unwrap();
    assert_eq!(img.rsp, 0x7fff_ffff_ef60);
    assert_eq!(img.bytes.len(), 0xa0);
    assert_eq!(
        (img.argv_addr, img.envp_addr, img.auxv_addr),
        (0x7fff_ffff_ef68, 0x7fff_ffff_ef78, 0x7fff_ffff_ef88)
    );
    let words: Vec<u64> = img
        .bytes
        .chunks(8)
        .take(13)
        .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
        .collect();
    #[rustfmt::skip]
    let expected = [
        1, 0x7fff_ffff_efef, 0, 0x7fff_ffff_eff1, 0,
        AT_RANDOM, 0x7fff_ffff_efc9, AT_EXECFN, 0x7fff_ffff_eff5, AT_PLATFORM, 0x7fff_ffff_efd9,
        AT_NULL, 0,
    ];
    assert_eq!(words, expected);
    assert_eq!(img.bytes[0x68], 0); // one byte of padding at ..efc8
    assert_eq!(&img.bytes[0x69..0x79], b"0123456789abcdef");
    assert_eq!(&img.bytes[0x79..0x80], b"x86_64\0");
    assert!(img.bytes[0x80..0x8f].iter().all(|&b| b == 0)); // alignment gap ..efe0 - ..efef
    assert_eq!(&img.bytes[0x8f..], b"a\0B=1\0/x\0\0\0\0\0\0\0\0\0");
    check_image(&s, &img);
}

#[test]
fn full_auxv_and_many_strings() {
    let aux = [
        AuxEntry {
            key: AT_PHDR,
            value: 0x40_0040,
        },
        AuxEntry {
            key: AT_PHENT,
            value: 56,
        },
        AuxEntry {
            key: AT_PHNUM,
            value: 7,
        },
        AuxEntry {
            key: AT_PAGESZ,
            value: 4096,
        },
        AuxEntry {
            key: AT_BASE,
            value: 0,
        },
        AuxEntry {
            key: AT_FLAGS,
            value: 0,
        },
        AuxEntry {
            key: AT_ENTRY,
            value: 0x40_1000,
        },
        AuxEntry {
            key: AT_UID,
            value: 1000,
        },
        AuxEntry {
            key: AT_EUID,
            value: 1000,
        },
        AuxEntry {
            key: AT_GID,
            value: 100,
        },
        AuxEntry {
            key: AT_EGID,
            value: 100,
        },
        AuxEntry {
            key: AT_SECURE,
            value: 0,
        },
        AuxEntry {
            key: AT_HWCAP,
            value: 0x178b_fbff,
        },
        AuxEntry {
            key: AT_CLKTCK,
            value: 100,
        },
        AuxEntry {
            key: AT_HWCAP2,
            value: 2,
        },
        AuxEntry {
            key: AT_MINSIGSTKSZ,
            value: 0xd30,
        },
    ];
    let argv: Vec<&[u8]> = vec![b"/bin/prog", b"", b"--flag=value", b"x y z"];
    let envp: Vec<&[u8]> = vec![b"PATH=/bin", b"HOME=/", b"EMPTY="];
    let s = spec(&argv, &envp, &aux);
    check_image(&s, &build_stack(&s).unwrap());
    // No arguments and no environment at all.
    let s = spec(&[], &[], &aux);
    check_image(&s, &build_stack(&s).unwrap());
}

#[test]
fn reserved_keys_dropped_and_empty_platform_omitted() {
    let aux = [
        AuxEntry {
            key: AT_PAGESZ,
            value: 4096,
        },
        AuxEntry {
            key: AT_NULL,
            value: 5,
        },
        AuxEntry {
            key: AT_RANDOM,
            value: 1,
        },
        AuxEntry {
            key: AT_EXECFN,
            value: 2,
        },
        AuxEntry {
            key: AT_PLATFORM,
            value: 3,
        },
        AuxEntry {
            key: AT_UID,
            value: 7,
        },
    ];
    let mut s = spec(&[b"p"], &[], &aux);
    let img = build_stack(&s).unwrap();
    check_image(&s, &img);
    s.platform = b"";
    let img = build_stack(&s).unwrap();
    check_image(&s, &img);
    // 2 caller entries + AT_RANDOM + AT_EXECFN, then AT_NULL.
    assert_eq!(img.bytes[(img.auxv_addr - img.rsp) as usize + 4 * 16], 0); // AT_NULL key
}

#[test]
fn unaligned_stack_top() {
    for delta in 0..32 {
        let mut s = spec(&[b"abc"], &[b"D=e"], &[]);
        s.stack_top = TOP - delta;
        check_image(&s, &build_stack(&s).unwrap());
    }
}

#[test]
fn too_big() {
    let s = spec(&[b"a"], &[b"B=1"], &[]);
    let need = build_stack(&s).unwrap().bytes.len();
    let mut t = s;
    t.max_size = need;
    assert!(build_stack(&t).is_ok());
    t.max_size = need - 1;
    assert_eq!(build_stack(&t), Err(StackError::TooBig));
    t.max_size = 0;
    assert_eq!(build_stack(&t), Err(StackError::TooBig));
    // Per-string limit (MAX_ARG_STRLEN includes the NUL), whatever max_size says.
    let long = vec![b'x'; MAX_ARG_STRLEN];
    let ok = vec![b'x'; MAX_ARG_STRLEN - 1];
    for field in 0..3 {
        for (s, expect_ok) in [(&long, false), (&ok, true)] {
            let one: [&[u8]; 1] = [s];
            let mut t = spec(&[], &[], &[]);
            t.max_size = 1 << 24;
            match field {
                0 => t.argv = &one,
                1 => t.envp = &one,
                _ => t.execfn = s,
            }
            assert_eq!(build_stack(&t).is_ok(), expect_ok, "field {field}");
            if !expect_ok {
                assert_eq!(build_stack(&t), Err(StackError::TooBig));
            }
        }
    }
    // Many strings: the total is what counts.
    let many: Vec<&[u8]> = vec![b"0123456789abcde"; 10_000]; // 160000 bytes of strings
    let mut t = spec(&many, &[], &[]);
    t.max_size = 160_000;
    assert_eq!(build_stack(&t), Err(StackError::TooBig));
    t.max_size = 400_000;
    check_image(&t, &build_stack(&t).unwrap());
}

#[test]
fn overflow_below_zero() {
    let s = spec(&[b"a"], &[b"B=1"], &[]);
    let need = build_stack(&s).unwrap().bytes.len() as u64;
    // The size depends on the top's alignment by at most 30 bytes (two 16-byte roundings).
    for top in [0, 8, 100, need - 31] {
        let mut t = s;
        t.stack_top = top;
        assert_eq!(build_stack(&t), Err(StackError::Overflow), "top {top}");
    }
    // With just enough room (the image size does not depend on the top's high bits).
    let mut t = s;
    t.stack_top = need + 0x1000 - (TOP % 16);
    check_image(&t, &build_stack(&t).unwrap());
}

fn strings() -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop::collection::vec(prop::collection::vec(1u8..=255, 0..40), 0..12)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(600))]

    #[test]
    fn roundtrip(
        argv in strings(),
        envp in strings(),
        execfn in prop::collection::vec(1u8..=255, 0..64),
        platform in prop::collection::vec(1u8..=255, 0..10),
        random in any::<[u8; 16]>(),
        aux in prop::collection::vec((0u64..60, any::<u64>()), 0..24),
        top in prop_oneof![Just(TOP), 0x1_0000u64..USER_END, any::<u64>()],
        max_size in prop_oneof![Just(usize::MAX), 0usize..4096],
    ) {
        let argv: Vec<&[u8]> = argv.iter().map(|s| s.as_slice()).collect();
        let envp: Vec<&[u8]> = envp.iter().map(|s| s.as_slice()).collect();
        let aux: Vec<AuxEntry> = aux.iter().map(|&(key, value)| AuxEntry { key, value }).collect();
        let spec = StackSpec {
            stack_top: top, argv: &argv, envp: &envp, execfn: &execfn, platform: &platform,
            random, auxv: &aux, max_size,
        };
        match build_stack(&spec) {
            Ok(img) => check_image(&spec, &img),
            Err(StackError::TooBig) => {
                // Really too big: the same spec with no limit needs more than max_size.
                let mut unlimited = spec;
                unlimited.max_size = usize::MAX;
                match build_stack(&unlimited) {
                    Ok(img) => prop_assert!(img.bytes.len() > max_size),
                    Err(e) => prop_assert_eq!(e, StackError::Overflow),
                }
            }
            Err(StackError::Overflow) => {
                // Only when the image cannot fit below the top.
                let mut low_limit = spec;
                low_limit.stack_top = TOP;
                low_limit.max_size = usize::MAX;
                let need = build_stack(&low_limit).unwrap().bytes.len() as u64;
                prop_assert!(top < need + 16, "top {top:#x} need {need}");
            }
        }
    }
}
