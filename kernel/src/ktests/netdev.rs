//! Tests of the network devices with QEMU's user-mode network (`-netdev user,restrict=on`,
//! guest 10.0.2.15, gateway 10.0.2.2): an ARP request sent through `NetDevice::transmit` is
//! answered, the reply arrives through `receive` after the interrupt-driven notify fired; the
//! transmit ring recycles its buffers under a burst; bad lengths are refused. Without a NIC
//! (xtask's single-CPU ktest run has none) each test checks that the list is empty and passes.

use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};

use exo_abi::Errno;

use crate::netdev::{self, NetDevice};
use crate::{kassert, kassert_eq, kprintln, ktest};

/// Times the notify function was called.
static NOTIFIED: AtomicU64 = AtomicU64::new(0);

fn on_notify() {
    NOTIFIED.fetch_add(1, Ordering::SeqCst);
}

const GUEST_IP: [u8; 4] = [10, 0, 2, 15];
const GATEWAY_IP: [u8; 4] = [10, 0, 2, 2];

/// eth0, or None (and a note) when the machine has no NIC.
fn eth0() -> Option<Arc<dyn NetDevice>> {
    let nic = netdev::devices().into_iter().next();
    if nic.is_none() {
        kprintln!("netdev: no NIC attached; skipped");
    }
    nic
}

/// Writes an ARP request "who has `target`, tell 10.0.2.15" from `mac` (42 bytes).
fn arp_request(buf: &mut [u8], mac: [u8; 6], target: [u8; 4]) {
    buf[..6].fill(0xff);
    buf[6..12].copy_from_slice(&mac);
    buf[12..14].copy_from_slice(&[0x08, 0x06]);
    buf[14..22].copy_from_slice(&[0, 1, 0x08, 0x00, 6, 4, 0, 1]);
    buf[22..28].copy_from_slice(&mac);
    buf[28..32].copy_from_slice(&GUEST_IP);
    buf[32..38].fill(0);
    buf[38..42].copy_from_slice(&target);
}

/// Whether `frame` is an ARP reply from `from` to us: returns the sender's MAC.
fn arp_reply_from(frame: &[u8], mac: [u8; 6], from: [u8; 4]) -> Option<[u8; 6]> {
    let is_reply = frame.len() >= 42
        && frame[..6] == mac
        && frame[12..14] == [0x08, 0x06]
        && frame[20..22] == [0, 2]
        && frame[28..32] == from
        && frame[38..42] == GUEST_IP;
    is_reply.then(|| {
        let mut sender = [0u8; 6];
        sender.copy_from_slice(&frame[22..28]);
        sender
    })
}

/// Receives until an ARP reply from the gateway shows up or `ms` pass; counts the replies.
fn wait_for_replies(nic: &dyn NetDevice, want: usize, ms: u64) -> usize {
    let deadline = crate::time::since_boot_ns() + ms * 1_000_000;
    let mac = nic.mac();
    let mut replies = 0;
    loop {
        while nic.receive(&mut |frame| {
            if arp_reply_from(frame, mac, GATEWAY_IP).is_some() {
                replies += 1;
            }
        }) {}
        if replies >= want || crate::time::since_boot_ns() > deadline {
            return replies;
        }
        crate::sched::sleep_ns(200_000);
    }
}

ktest!(fn nic_list_matches_the_machine() {
    let nics = netdev::devices();
    let virtio = crate::pci::devices().into_iter().filter(|d| d.header.vendor_id == 0x1af4 && matches!(d.header.device_id, 0x1000 | 0x1041)).count();
    kassert_eq!(nics.len(), virtio);
    for (i, nic) in nics.iter().enumerate() {
        kassert_eq!(nic.name(), alloc::format!("eth{i}").as_str());
        kassert_eq!(nic.mtu(), 1500);
        kassert_eq!(nic.irq_mode(), "MSI-X");
        kassert!(nic.link_up());
        kassert!(nic.mac() != [0; 6] && nic.mac()[0] & 1 == 0, "unicast MAC expected");
    }
    Ok(())
});

ktest!(fn arp_request_for_the_gateway_gets_a_reply_by_interrupt() {
    let Some(nic) = eth0() else { return Ok(()) };
    nic.set_notify(on_notify);
    // Frames left over from earlier tests.
    while nic.receive(&mut |_| {}) {}
    let (before, irqs_before, stats_before) = (NOTIFIED.load(Ordering::SeqCst), nic.interrupts(), nic.stats());
    let mac = nic.mac();
    kassert_eq!(nic.transmit(42, &mut |buf| arp_request(buf, mac, GATEWAY_IP)), Ok(()));
    // Wait for the notify (the queue interrupt), then take the reply.
    let deadline = crate::time::since_boot_ns() + 5_000_000_000;
    while NOTIFIED.load(Ordering::SeqCst) == before && crate::time::since_boot_ns() < deadline {
        crate::sched::sleep_ns(100_000);
    }
    kassert!(NOTIFIED.load(Ordering::SeqCst) > before, "no notify within 5 s");
    let mut gateway_mac = None;
    let wait_until = crate::time::since_boot_ns() + 5_000_000_000;
    while gateway_mac.is_none() && crate::time::since_boot_ns() < wait_until {
        while nic.receive(&mut |frame| {
            if let Some(sender) = arp_reply_from(frame, mac, GATEWAY_IP) {
                gateway_mac = Some(sender);
            }
        }) {}
        if gateway_mac.is_none() {
            crate::sched::sleep_ns(200_000);
        }
    }
    kassert!(gateway_mac.is_some(), "no ARP reply from 10.0.2.2 within 5 s");
    let gateway = crate::netdev::virtio_net::format_mac(gateway_mac.unwrap_or_default());
    kprintln!("netdev: 10.0.2.2 is at {gateway} ({} interrupts)", nic.interrupts() - irqs_before);
    kassert!(nic.interrupts() > irqs_before);
    let stats = nic.stats();
    kassert!(stats.tx_packets > stats_before.tx_packets && stats.tx_bytes >= stats_before.tx_bytes + 42);
    kassert!(stats.rx_packets > stats_before.rx_packets && stats.rx_bytes >= stats_before.rx_bytes + 42);
    kassert_eq!((stats.rx_errors, stats.tx_errors), (0, 0));
    Ok(())
});

ktest!(fn transmit_ring_recycles_under_a_burst() {
    let Some(nic) = eth0() else { return Ok(()) };
    nic.set_notify(on_notify);
    while nic.receive(&mut |_| {}) {}
    let mac = nic.mac();
    let (irqs_before, start) = (nic.interrupts(), crate::time::since_boot_ns());
    // Three rings' worth: buffers must come back for this to finish.
    let frames = 3 * crate::netdev::virtio_net::QUEUE_SIZE;
    let mut sent = 0;
    let mut full = 0;
    let deadline = start + 20_000_000_000;
    while sent < frames && crate::time::since_boot_ns() < deadline {
        match nic.transmit(42, &mut |buf| arp_request(buf, mac, GATEWAY_IP)) {
            Ok(()) => sent += 1,
            Err(e) if e == Errno::ENOBUFS => {
                full += 1;
                // Replies pile up meanwhile: take them so the receive ring stays open.
                while nic.receive(&mut |_| {}) {}
                crate::sched::sleep_ns(50_000);
            }
            Err(e) => return Err(crate::ktest::TestFailure::new(format_args!("transmit: {}", e.name()))),
        }
    }
    kassert_eq!(sent, frames);
    let replies = wait_for_replies(&*nic, 1, 5000);
    kassert!(replies >= 1, "no reply after the burst");
    let irqs = nic.interrupts() - irqs_before;
    let ms = (crate::time::since_boot_ns() - start) / 1_000_000;
    kprintln!("netdev: {sent} frames sent in {ms} ms ({full} ENOBUFS), {irqs} interrupts");
    Ok(())
});

ktest!(fn bad_frame_lengths_are_refused() {
    let Some(nic) = eth0() else { return Ok(()) };
    let before = nic.stats().tx_packets;
    kassert_eq!(nic.transmit(1515, &mut |_| {}), Err(Errno::EMSGSIZE));
    kassert_eq!(nic.transmit(usize::MAX, &mut |_| {}), Err(Errno::EMSGSIZE));
    kassert_eq!(nic.transmit(3, &mut |_| {}), Err(Errno::EINVAL));
    // The largest frame goes.
    let mut given = 0;
    kassert_eq!(nic.transmit(1514, &mut |buf| {
        given = buf.len();
        buf.fill(0);
        buf[..6].fill(0xff);
    }), Ok(()));
    kassert_eq!(given, 1514);
    kassert_eq!(nic.stats().tx_packets, before + 1);
    Ok(())
});
