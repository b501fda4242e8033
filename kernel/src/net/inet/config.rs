//! How interfaces get their addresses: Linux's `ip=` kernel parameter (static, `dhcp` or
//! `off`), or, without it, DHCP on every Ethernet interface (smoltcp's DHCPv4 client; QEMU's
//! user network answers 10.0.2.15/24, gateway 10.0.2.2, DNS 10.0.2.3). A lease sets the
//! address, the on-link route and the default route; losing it removes them.

use exo_inet::ipconf::{self, IpConfig};
use smoltcp::socket::dhcpv4;

use super::stack::Stack;

/// The `ip=` value on the kernel command line (None: absent or malformed).
fn ip_param() -> Option<IpConfig> {
    let cmdline = crate::params::boot_info()?.cmdline.as_str();
    let value = cmdline.split_whitespace().filter_map(|w| w.strip_prefix("ip=")).last()?;
    let parsed = ipconf::parse(value);
    if parsed.is_none() {
        log::warn!("net: ignoring malformed ip={value}");
    }
    parsed
}

/// Whether `name` is the interface a configuration names (None: the first Ethernet one).
fn chosen(stack: &Stack, i: usize, device: &Option<alloc::string::String>) -> bool {
    match device {
        Some(d) => stack.ifaces[i].name == *d,
        None => stack.ifaces.iter().position(|f| !f.is_loopback()) == Some(i),
    }
}

/// Configures the Ethernet interfaces at boot.
pub fn apply_boot(stack: &mut Stack) {
    let config = ip_param();
    for i in 1..stack.ifaces.len() {
        match &config {
            Some(IpConfig::Off) => {}
            Some(IpConfig::Static { addr, netmask, gateway, device, .. }) => {
                if chosen(stack, i, device) {
                    set_static(stack, i, *addr, *netmask, *gateway);
                }
            }
            Some(IpConfig::Dhcp { device }) => {
                if chosen(stack, i, device) {
                    start_dhcp(stack, i);
                }
            }
            None => start_dhcp(stack, i),
        }
    }
}

/// A fixed address (and default route through `gateway`).
pub fn set_static(stack: &mut Stack, i: usize, addr: exo_inet::Ipv4, netmask: exo_inet::Ipv4, gateway: Option<exo_inet::Ipv4>) {
    let prefix = exo_inet::prefix_len(netmask).unwrap_or(24);
    stack.set_addr(i, Some((addr, prefix)));
    if let Some(gw) = gateway {
        let _ = stack.routes.add(exo_inet::route::Route { dest: [0; 4], mask: [0; 4], gateway: Some(gw), iface: i as u32, metric: 0 });
        stack.sync_routes(i);
    }
    match gateway {
        Some(g) => log::info!("net: {} {}.{}.{}.{}/{} via {}.{}.{}.{}", stack.ifaces[i].name, addr[0], addr[1], addr[2], addr[3], prefix, g[0], g[1], g[2], g[3]),
        None => log::info!("net: {} {}.{}.{}.{}/{}", stack.ifaces[i].name, addr[0], addr[1], addr[2], addr[3], prefix),
    }
}

/// Starts the DHCP client on interface `i`.
pub fn start_dhcp(stack: &mut Stack, i: usize) {
    if stack.ifaces[i].dhcp.is_some() {
        return;
    }
    let socket = dhcpv4::Socket::new();
    match stack.add(i, socket) {
        Ok(h) => stack.ifaces[i].dhcp = Some(h),
        Err(_) => log::warn!("net: no room for the DHCP client"),
    }
}

/// Applies what the DHCP clients learned (after each poll).
pub fn dhcp_events(stack: &mut Stack) {
    for i in 1..stack.ifaces.len() {
        let Some(h) = stack.ifaces[i].dhcp else { continue };
        let event = match stack.ifaces[i].sockets.get_mut::<dhcpv4::Socket>(h).poll() {
            None => continue,
            Some(dhcpv4::Event::Configured(c)) => Some((c.address.address().octets(), c.address.prefix_len(), c.router.map(|r| r.octets()))),
            Some(dhcpv4::Event::Deconfigured) => None,
        };
        match event {
            Some((addr, prefix, router)) => {
                stack.routes.remove_where(|r| r.iface as usize != i);
                set_static(stack, i, addr, exo_inet::mask_of(prefix), router);
            }
            None if stack.ifaces[i].addr.is_none() => {}
            None => {
                stack.set_addr(i, None);
                stack.routes.remove_iface(i as u32);
                stack.sync_routes(i);
                log::info!("net: {} lost its DHCP lease", stack.ifaces[i].name);
            }
        }
    }
}
