//! The interface and route requests every socket answers (what busybox `ifconfig` and `route`
//! use): SIOCGIFCONF, SIOCG/SIF{FLAGS,ADDR,NETMASK,BRDADDR,MTU,METRIC}, SIOCGIFHWADDR,
//! SIOCGIFINDEX, SIOCGIFNAME, SIOCGIFTXQLEN, SIOCGIFMAP, SIOCADDRT and SIOCDELRT. Changes need
//! root (Linux: CAP_NET_ADMIN), else EPERM. The structures are read and written whole with
//! user copies, never under the stack lock's spin locks (the stack lock itself sleeps).

use exo_abi::{Errno, KResult};
use exo_inet::ifreq::*;
use exo_inet::route::{Route, RTF_GATEWAY, RTF_HOST};
use exo_inet::{mask_of, prefix_len, Ipv4};

use super::stack::{self, Stack};
use crate::uaccess::{UserArg, UserCStr, UserPtr, UserSlice};

/// `txqueuelen` shown for every interface (Linux's default).
const TXQLEN: i32 = 1000;

fn read_req(arg: UserArg) -> KResult<[u8; IFREQ_SIZE]> {
    let mut req = [0u8; IFREQ_SIZE];
    UserSlice::new(arg.ptr::<u8>(), IFREQ_SIZE)?.read_into(&mut req)?;
    Ok(req)
}

fn write_req(arg: UserArg, req: &[u8; IFREQ_SIZE]) -> KResult<u64> {
    UserSlice::new(arg.ptr::<u8>(), IFREQ_SIZE)?.write_from(req)?;
    Ok(0)
}

fn flags_of(stack: &Stack, i: usize) -> u16 {
    let f = &stack.ifaces[i];
    let mut flags = if f.is_loopback() { IFF_LOOPBACK } else { IFF_BROADCAST | IFF_MULTICAST };
    if f.up {
        flags |= IFF_UP;
        if f.running() {
            flags |= IFF_RUNNING;
        }
    }
    flags
}

fn find(stack: &Stack, name: &[u8]) -> KResult<usize> {
    stack.ifaces.iter().position(|f| f.name.as_bytes() == name).ok_or(Errno::ENODEV)
}

fn broadcast(addr: Ipv4, prefix: u8) -> Ipv4 {
    let m = u32::from_be_bytes(mask_of(prefix));
    (u32::from_be_bytes(addr) | !m).to_be_bytes()
}

fn need_root() -> KResult<()> {
    if super::is_root() {
        Ok(())
    } else {
        Err(Errno::EPERM)
    }
}

pub fn handle(request: u32, arg: UserArg) -> KResult<u64> {
    match request {
        SIOCGIFCONF => ifconf(arg),
        SIOCADDRT | SIOCDELRT => route(request, arg),
        SIOCGIFNAME => {
            let mut req = read_req(arg)?;
            let index = get_int(&req);
            let name = stack::with(|s| s.ifaces.iter().find(|f| f.index as i32 == index).map(|f| f.name.clone())).ok_or(Errno::ENODEV)?;
            req[..IFNAMSIZ].fill(0);
            let n = name.len().min(IFNAMSIZ - 1);
            req[..n].copy_from_slice(&name.as_bytes()[..n]);
            write_req(arg, &req)
        }
        SIOCGIFFLAGS | SIOCGIFADDR | SIOCGIFDSTADDR | SIOCGIFBRDADDR | SIOCGIFNETMASK | SIOCGIFHWADDR | SIOCGIFMTU | SIOCGIFINDEX
        | SIOCGIFMETRIC | SIOCGIFTXQLEN | SIOCGIFMAP => {
            let mut req = read_req(arg)?;
            stack::with(|s| get(s, request, &mut req))?;
            write_req(arg, &req)
        }
        SIOCSIFFLAGS | SIOCSIFADDR | SIOCSIFNETMASK | SIOCSIFBRDADDR | SIOCSIFDSTADDR | SIOCSIFMTU | SIOCSIFMETRIC | SIOCSIFTXQLEN
        | SIOCSIFHWADDR | SIOCSIFMAP => {
            need_root()?;
            let req = read_req(arg)?;
            stack::with(|s| set(s, request, &req)).map(|_| 0)
        }
        _ => Err(Errno::ENOTTY),
    }
}

fn get(stack: &mut Stack, request: u32, req: &mut [u8; IFREQ_SIZE]) -> KResult<()> {
    let i = find(stack, name(req))?;
    let f = &stack.ifaces[i];
    req[IFNAMSIZ..].fill(0);
    match request {
        SIOCGIFFLAGS => put_short(req, flags_of(stack, i)),
        SIOCGIFADDR | SIOCGIFDSTADDR => put_addr(req, f.addr.ok_or(Errno::EADDRNOTAVAIL)?.0),
        SIOCGIFNETMASK => put_addr(req, mask_of(f.addr.ok_or(Errno::EADDRNOTAVAIL)?.1)),
        SIOCGIFBRDADDR => {
            let (a, p) = f.addr.ok_or(Errno::EADDRNOTAVAIL)?;
            put_addr(req, if f.is_loopback() { [0; 4] } else { broadcast(a, p) });
        }
        SIOCGIFHWADDR => put_hwaddr(req, if f.is_loopback() { ARPHRD_LOOPBACK } else { ARPHRD_ETHER }, f.mac),
        SIOCGIFMTU => put_int(req, f.mtu as i32),
        SIOCGIFINDEX => put_int(req, f.index as i32),
        SIOCGIFMETRIC => put_int(req, f.metric),
        SIOCGIFTXQLEN => put_int(req, TXQLEN),
        _ => {} // SIOCGIFMAP: no I/O map, all zeros.
    }
    Ok(())
}

fn set(stack: &mut Stack, request: u32, req: &[u8; IFREQ_SIZE]) -> KResult<()> {
    let i = find(stack, name(req))?;
    match request {
        SIOCSIFFLAGS => {
            // A down interface is not polled and routes nothing (Stack::route).
            stack.ifaces[i].up = get_short(req) & IFF_UP != 0;
        }
        SIOCSIFADDR => {
            let a = get_addr(req).ok_or(Errno::EINVAL)?;
            if i == 0 {
                return if a == [127, 0, 0, 1] { Ok(()) } else { Err(Errno::EINVAL) };
            }
            let prefix = stack.ifaces[i].addr.map_or_else(|| prefix_len(exo_inet::ipconf::class_mask(a)).unwrap_or(8), |(_, p)| p);
            if a == [0; 4] {
                stack.set_addr(i, None);
            } else {
                stack.set_addr(i, Some((a, prefix)));
            }
        }
        SIOCSIFNETMASK => {
            let m = get_addr(req).ok_or(Errno::EINVAL)?;
            let p = prefix_len(m).ok_or(Errno::EINVAL)?;
            if i != 0 {
                let (a, _) = stack.ifaces[i].addr.ok_or(Errno::EADDRNOTAVAIL)?;
                stack.set_addr(i, Some((a, p)));
            }
        }
        SIOCSIFMTU => {
            let mtu = get_int(req);
            let max = if i == 0 { 65536 } else { 1500 };
            if !(68..=max).contains(&mtu) {
                return Err(Errno::EINVAL);
            }
            stack.ifaces[i].mtu = mtu as usize;
        }
        SIOCSIFMETRIC => stack.ifaces[i].metric = get_int(req),
        SIOCSIFHWADDR | SIOCSIFMAP => return Err(Errno::EOPNOTSUPP),
        _ => {} // broadcast, point-to-point and queue length are fixed.
    }
    Ok(())
}

fn ifconf(arg: UserArg) -> KResult<u64> {
    let ptr = arg.ptr::<u8>();
    let mut raw = [0u8; IFCONF_SIZE];
    UserSlice::new(ptr, IFCONF_SIZE)?.read_into(&mut raw)?;
    let (len, buf) = exo_inet::ifreq::ifconf(&raw);
    let entries: alloc::vec::Vec<[u8; IFREQ_SIZE]> = stack::with(|s| {
        s.ifaces
            .iter()
            .filter_map(|f| {
                let (a, _) = f.addr?;
                let mut req = with_name(f.name.as_bytes());
                put_addr(&mut req, a);
                Some(req)
            })
            .collect()
    });
    let written = if buf == 0 {
        entries.len() * IFREQ_SIZE
    } else {
        let room = (len.max(0) as usize) / IFREQ_SIZE;
        let n = room.min(entries.len());
        for (k, e) in entries.iter().take(n).enumerate() {
            UserSlice::new(UserPtr::<u8>::new(buf.wrapping_add((k * IFREQ_SIZE) as u64)), IFREQ_SIZE)?.write_from(e)?;
        }
        n * IFREQ_SIZE
    };
    UserPtr::<i32>::new(ptr.addr()).write(&(written as i32))?;
    Ok(0)
}

fn route(request: u32, arg: UserArg) -> KResult<u64> {
    need_root()?;
    let mut raw = [0u8; RTENTRY_SIZE];
    UserSlice::new(arg.ptr::<u8>(), RTENTRY_SIZE)?.read_into(&mut raw)?;
    let e = rtentry(&raw);
    let dev = if e.dev == 0 { None } else { Some(UserCStr::new(UserPtr::new(e.dev)).read(IFNAMSIZ)?) };
    let dst = e.dst.ok_or(Errno::EAFNOSUPPORT)?;
    let mask = if e.flags & RTF_HOST != 0 { [255; 4] } else { e.genmask.unwrap_or([0; 4]) };
    let gateway = if e.flags & RTF_GATEWAY != 0 { Some(e.gateway.ok_or(Errno::EINVAL)?) } else { None };
    let metric = (e.metric.max(1) - 1) as u32;
    stack::with(|s| {
        let iface = match &dev {
            Some(d) => Some(find(s, d)?),
            None => None,
        };
        if request == SIOCDELRT {
            let r = s.routes.delete(dst, mask, gateway, iface.map(|i| i as u32))?;
            s.sync_routes(r.iface as usize);
            return Ok(0);
        }
        // Without a device: the interface whose subnet holds the gateway (or destination).
        let via = gateway.unwrap_or(dst);
        let i = match iface {
            Some(i) => i,
            None => s.routes.lookup(via).filter(|r| r.gateway.is_none()).map(|r| r.iface as usize).ok_or(Errno::ENETUNREACH)?,
        };
        if i == 0 {
            return Err(Errno::EINVAL);
        }
        s.routes.add(Route { dest: dst, mask, gateway, iface: i as u32, metric })?;
        s.sync_routes(i);
        Ok(0)
    })
}
