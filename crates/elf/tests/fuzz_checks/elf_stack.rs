//! Fuzz target `elf_stack`: `build_stack` with argv, envp, execfn, platform, aux entries, the
//! stack top and the size limit all taken from the input (as `execve` takes them from a user).
//! It must not panic or overflow; an image it returns must fit `max_size`, end at the stack
//! top, have a 16-aligned `rsp`, and hold argc, the argv/envp pointer arrays (pointing inside
//! the image at the right NUL-terminated strings) and the AT_NULL-terminated auxv.
//!
//! Input layout: 8 bytes stack top, 4 bytes max size, then fields separated by 0xff bytes:
//! execfn, platform, aux bytes (16 per entry), then argv strings and (after an empty field)
//! envp strings; a NUL inside a string is dropped (the kernel copies C strings).

use exo_elf::{build_stack, AuxEntry, StackSpec};

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
        .map(|c| AuxEntry { key: u64_at(c, 0), value: u64_at(c, 8) })
        .collect();
    let strings: Vec<&[u8]> = fields.iter().skip(3).map(|f| f.as_slice()).collect();
    let split = strings.iter().position(|s| s.is_empty()).unwrap_or(strings.len());
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
        let off = addr.checked_sub(img.start).expect("address below the image") as usize;
        assert!(off + 8 <= img.bytes.len(), "word at {addr:#x} beyond the image");
        u64_at(&img.bytes, off)
    };
    let c_string = |addr: u64| -> &[u8] {
        let off = addr.checked_sub(img.start).expect("string below the image") as usize;
        let tail = img.bytes.get(off..).expect("string beyond the image");
        let n = tail.iter().position(|&c| c == 0).expect("string not NUL-terminated");
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
    // The auxv ends with AT_NULL inside the image.
    let mut at = img.auxv_addr;
    loop {
        let key = word(at);
        if key == 0 {
            break;
        }
        at += 16;
    }
}
