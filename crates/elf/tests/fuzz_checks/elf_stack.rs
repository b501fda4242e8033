//! Fuzz target `elf_stack`: `build_stack` with argv, envp, execfn, platform, aux entries, the
//! stack top and the size limit all taken from the input (as `execve` takes them from a user).
//! It must not panic or overflow; an image it returns must fit `max_size`, end at the stack
//! top, have a 16-aligned `rsp`, and hold argc, the argv/envp pointer arrays (pointing inside
//! the image at the right NUL-terminated strings) and the auxv: the caller's entries in order,
//! then AT_RANDOM, AT_EXECFN and AT_PLATFORM pointing at their data, then AT_NULL.
//!
//! Input layout: 8 bytes stack top, 4 bytes max size, then fields separated by 0xff bytes:
//! execfn, platform, aux bytes (16 per entry), then argv strings and (after an empty field)
//! envp strings; a NUL inside a string is dropped (the kernel copies C strings).

use exo_elf::{build_stack, AuxEntry, StackSpec, AT_EXECFN, AT_NULL, AT_PLATFORM, AT_RANDOM};

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut v = [0u8; 8];
    for (d, s) in v.iter_mut().zip(b.iter().skip(at)) {
        *d = *s;
    }
    u64::from_le_bytes(v)
}

pub fn check(data: &[u8]) {
    let stack_top = u64_at(data, 0);
    let max_size = (u64_at(data, 8) & 0xf_ffff) as usize;
    let rest = data.get(12..).unwrap_or(&[]);
    let fields: Vec<Vec<u8>> = rest
        .split(|&c| c == 0xff)
        .map(|f| f.iter().copied().filter(|&c| c != 0).collect())
        .collect();
    let empty = Vec::new();
    let execfn = fields.first().unwrap_or(&empty);
    let platform = fields.get(1).unwrap_or(&empty);
    let aux_bytes = rest.split(|&c| c == 0xff).nth(2).unwrap_or(&[]);
    let auxv: Vec<AuxEntry> = aux_bytes
        .chunks_exact(16)
        .map(|c| AuxEntry {
            key: u64_at(c, 0),
            value: u64_at(c, 8),
        })
        .collect();
    let strings: Vec<&[u8]> = fields.iter().skip(3).map(|f| f.as_slice()).collect();
    let split = strings
        .iter()
        .position(|s| s.is_empty())
        .unwrap_or(strings.len());
    let argv = &strings[..split];
    let envp = strings.get(split + 1..).unwrap_or(&[]);
    let spec = StackSpec {
        stack_top,
        argv,
        envp,
        execfn,
        platform,
        random: [7; 16],
        auxv: &auxv,
        max_size,
    };
    let Ok(img) = build_stack(&spec) else { return };
    let len = img.bytes.len() as u64;
    assert!(img.bytes.len() <= max_size);
    assert_eq!(img.start.checked_add(len), Some(stack_top));
    assert_eq!(img.rsp, img.start);
    assert_eq!(img.rsp % 16, 0);
    assert_eq!(img.argv_addr, img.rsp + 8);
    let word = |addr: u64| -> u64 {
        let off = addr
            .checked_sub(img.start)
            .expect("address below the image") as usize;
        assert!(
            off + 8 <= img.bytes.len(),
            "word at {addr:#x} beyond the image"
        );
        u64_at(&img.bytes, off)
    };
    let c_string = |addr: u64| -> &[u8] {
        let off = addr.checked_sub(img.start).expect("string below the image") as usize;
        let tail = img.bytes.get(off..).expect("string beyond the image");
        let n = tail
            .iter()
            .position(|&c| c == 0)
            .expect("string not NUL-terminated");
        &tail[..n]
    };
    assert_eq!(word(img.rsp), argv.len() as u64);
    for (i, a) in argv.iter().enumerate() {
        assert_eq!(c_string(word(img.argv_addr + 8 * i as u64)), *a);
    }
    assert_eq!(word(img.argv_addr + 8 * argv.len() as u64), 0);
    assert_eq!(img.envp_addr, img.argv_addr + 8 * (argv.len() as u64 + 1));
    for (i, e) in envp.iter().enumerate() {
        assert_eq!(c_string(word(img.envp_addr + 8 * i as u64)), *e);
    }
    assert_eq!(word(img.envp_addr + 8 * envp.len() as u64), 0);
    assert_eq!(img.auxv_addr, img.envp_addr + 8 * (envp.len() as u64 + 1));
    // The auxv: the caller's entries (minus the keys build_stack supplies) in order, then
    // AT_RANDOM, AT_EXECFN, AT_PLATFORM (if any) pointing at their data, then AT_NULL.
    let mut got = Vec::new();
    let mut at = img.auxv_addr;
    loop {
        let (key, value) = (word(at), word(at + 8));
        got.push((key, value));
        if key == AT_NULL {
            break;
        }
        at += 16;
    }
    let supplied = [AT_NULL, AT_RANDOM, AT_EXECFN, AT_PLATFORM];
    let kept: Vec<(u64, u64)> = auxv
        .iter()
        .filter(|e| !supplied.contains(&e.key))
        .map(|e| (e.key, e.value))
        .collect();
    assert_eq!(&got[..kept.len()], kept.as_slice());
    let tail = &got[kept.len()..];
    assert_eq!(tail.len(), if platform.is_empty() { 3 } else { 4 });
    assert_eq!(tail[0].0, AT_RANDOM);
    let r = tail[0]
        .1
        .checked_sub(img.start)
        .expect("AT_RANDOM below the image") as usize;
    assert_eq!(img.bytes.get(r..r + 16), Some(&[7u8; 16][..]));
    assert_eq!(tail[1].0, AT_EXECFN);
    assert_eq!(c_string(tail[1].1), execfn.as_slice());
    if !platform.is_empty() {
        assert_eq!(tail[2].0, AT_PLATFORM);
        assert_eq!(c_string(tail[2].1), platform.as_slice());
    }
}
