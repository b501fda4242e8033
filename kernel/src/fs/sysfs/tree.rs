//! What sysfs shows, built fresh for each lookup and listing from the kernel's device tables:
//! the CPUs (`devices/system/cpu`), the terminals and memory devices (`class/tty`,
//! `class/mem`), the block devices (`block/<disk>[/<partition>]`, linked from `class/block`),
//! the network interfaces (`class/net`), and the `dev/char`, `dev/block` "major:minor" links.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use exo_abi::mode::major_minor;

/// One node: a directory, a file with its text, or a symbolic link with its target.
#[derive(Clone)]
pub(super) enum Kind {
    Dir,
    File(String),
    Link(String),
}

/// Every node by path (relative to the root, no leading `/`; the root is ""), parents before
/// children.
pub(super) struct Tree {
    pub nodes: Vec<(String, Kind)>,
}

/// The character devices shown: name, class, major, minor.
const CHAR_DEVICES: &[(&str, &str, u32, u32)] = &[
    ("null", "mem", 1, 3),
    ("zero", "mem", 1, 5),
    ("full", "mem", 1, 7),
    ("random", "mem", 1, 8),
    ("urandom", "mem", 1, 9),
    ("kmsg", "mem", 1, 11),
    ("tty0", "tty", 4, 0),
    ("ttyS0", "tty", 4, 64),
    ("tty", "tty", 5, 0),
    ("console", "tty", 5, 1),
];

impl Tree {
    fn dir(&mut self, path: &str) {
        self.nodes.push((String::from(path), Kind::Dir));
    }
    fn file(&mut self, path: String, text: String) {
        self.nodes.push((path, Kind::File(text)));
    }
    fn link(&mut self, path: String, target: String) {
        self.nodes.push((path, Kind::Link(target)));
    }

    /// The node at `path`.
    pub fn find(&self, path: &str) -> Option<&Kind> {
        self.nodes.iter().find(|(p, _)| p == path).map(|(_, k)| k)
    }

    /// The children of directory `path`: (name, kind), in order.
    pub fn children<'a>(&'a self, path: &'a str) -> impl Iterator<Item = (&'a str, &'a Kind)> + 'a {
        self.nodes.iter().filter_map(move |(p, k)| {
            let rest = if path.is_empty() { p.as_str() } else { p.strip_prefix(path)?.strip_prefix('/')? };
            (!rest.is_empty() && !rest.contains('/')).then_some((rest, k))
        })
    }
}

/// "0" or "0-N": a CPU list of `count` CPUs.
fn cpu_list(count: usize) -> String {
    if count <= 1 { String::from("0\n") } else { format!("0-{}\n", count - 1) }
}

/// Builds the tree.
pub(super) fn build() -> Tree {
    let mut t = Tree { nodes: Vec::new() };
    t.dir("");
    for d in ["block", "bus", "class", "class/block", "class/mem", "class/net", "class/tty", "dev", "dev/block", "dev/char", "devices", "devices/system", "devices/system/cpu", "devices/virtual", "firmware", "fs", "kernel", "power"] {
        t.dir(d);
    }
    // CPUs.
    let cpus = crate::sched::online().count().max(1);
    for name in ["online", "possible", "present"] {
        t.file(format!("devices/system/cpu/{name}"), cpu_list(cpus));
    }
    t.file(String::from("devices/system/cpu/offline"), String::from("\n"));
    t.file(String::from("devices/system/cpu/kernel_max"), String::from("8191\n"));
    for i in 0..cpus {
        t.nodes.push((format!("devices/system/cpu/cpu{i}"), Kind::Dir));
        if i > 0 {
            t.file(format!("devices/system/cpu/cpu{i}/online"), String::from("1\n"));
        }
    }
    // Character devices.
    for &(name, class, major, minor) in CHAR_DEVICES {
        t.nodes.push((format!("class/{class}/{name}"), Kind::Dir));
        t.file(format!("class/{class}/{name}/dev"), format!("{major}:{minor}\n"));
        t.file(format!("class/{class}/{name}/uevent"), format!("MAJOR={major}\nMINOR={minor}\nDEVNAME={name}\n"));
        t.link(format!("dev/char/{major}:{minor}"), format!("../../class/{class}/{name}"));
    }
    block_devices(&mut t);
    net_devices(&mut t);
    t.file(String::from("kernel/uevent_seqnum"), String::from("0\n"));
    t
}

/// The disk a partition belongs to (`vda1` → `vda`), or `None` for a disk.
fn disk_of<'a>(name: &'a str, disks: &[&str]) -> Option<&'a str> {
    let base = name.trim_end_matches(|c: char| c.is_ascii_digit());
    (base != name && disks.contains(&base)).then_some(base)
}

fn block_devices(t: &mut Tree) {
    let devices = crate::block::devices();
    let names: Vec<&str> = devices.iter().map(|d| d.name.as_str()).collect();
    let disks: Vec<&str> = names.iter().copied().filter(|n| disk_of(n, &names).is_none()).collect();
    for dev in &devices {
        let (major, minor) = major_minor(dev.rdev);
        let name = dev.name.as_str();
        let (path, partition) = match disk_of(name, &disks) {
            Some(disk) => (format!("block/{disk}/{name}"), true),
            None => (format!("block/{name}"), false),
        };
        t.dir(&path);
        t.file(format!("{path}/dev"), format!("{major}:{minor}\n"));
        t.file(format!("{path}/size"), format!("{}\n", dev.size / 512));
        t.file(format!("{path}/ro"), format!("{}\n", u8::from(dev.read_only)));
        t.file(format!("{path}/uevent"), format!("MAJOR={major}\nMINOR={minor}\nDEVNAME={name}\nDEVTYPE={}\n", if partition { "partition" } else { "disk" }));
        if partition {
            let number = &name[name.trim_end_matches(|c: char| c.is_ascii_digit()).len()..];
            t.file(format!("{path}/partition"), format!("{number}\n"));
        } else {
            t.file(format!("{path}/removable"), String::from("0\n"));
        }
        t.link(format!("class/block/{name}"), format!("../../{path}"));
        t.link(format!("dev/block/{major}:{minor}"), format!("../../{path}"));
    }
}

fn net_devices(t: &mut Tree) {
    // lo is interface 1, the cards follow in probe order (as the network stack numbers them).
    let mut ifaces: Vec<(String, [u8; 6], usize, bool, u32)> = Vec::new();
    ifaces.push((String::from("lo"), [0; 6], 65536, true, 1));
    for (i, dev) in crate::netdev::devices().iter().enumerate() {
        ifaces.push((String::from(dev.name()), dev.mac(), dev.mtu(), dev.link_up(), i as u32 + 2));
    }
    for (name, mac, mtu, up, index) in ifaces {
        let lo = index == 1;
        let path = format!("class/net/{name}");
        t.dir(&path);
        let m = mac;
        t.file(format!("{path}/address"), format!("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}\n", m[0], m[1], m[2], m[3], m[4], m[5]));
        t.file(format!("{path}/broadcast"), String::from(if lo { "00:00:00:00:00:00\n" } else { "ff:ff:ff:ff:ff:ff\n" }));
        t.file(format!("{path}/mtu"), format!("{mtu}\n"));
        // lo: IFF_UP|IFF_LOOPBACK|IFF_RUNNING... Linux shows 0x9; a card: UP|BROADCAST|MULTICAST.
        t.file(format!("{path}/flags"), String::from(if lo { "0x9\n" } else { "0x1003\n" }));
        t.file(format!("{path}/ifindex"), format!("{index}\n"));
        t.file(format!("{path}/iflink"), format!("{index}\n"));
        t.file(format!("{path}/type"), String::from(if lo { "772\n" } else { "1\n" }));
        t.file(format!("{path}/addr_len"), String::from("6\n"));
        t.file(format!("{path}/operstate"), String::from(if lo { "unknown\n" } else if up { "up\n" } else { "down\n" }));
        t.file(format!("{path}/carrier"), format!("{}\n", u8::from(up)));
        t.file(format!("{path}/tx_queue_len"), String::from("1000\n"));
    }
}
