//! Linux's `ip=` kernel parameter (Documentation/admin-guide/nfs/nfsroot.rst):
//! `ip=<client-ip>:<server-ip>:<gw-ip>:<netmask>:<hostname>:<device>:<autoconf>:...`, or one of
//! `off`, `none`, `dhcp`, `on`, `any`, `bootp`, `rarp`, `both` alone. Exo-OS knows static
//! configuration and DHCP; BOOTP/RARP requests are served by DHCP. An empty netmask takes the
//! address's class default, as Linux does.

use alloc::string::String;

use crate::Ipv4;

/// What `ip=` asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IpConfig {
    /// No configuration (`off`, `none`).
    Off,
    /// DHCP, on `device` or the first Ethernet interface.
    Dhcp { device: Option<String> },
    /// A fixed address.
    Static { addr: Ipv4, netmask: Ipv4, gateway: Option<Ipv4>, hostname: Option<String>, device: Option<String> },
}

fn parse_ip(s: &str) -> Option<Ipv4> {
    let mut out = [0u8; 4];
    let mut parts = s.split('.');
    for byte in out.iter_mut() {
        let p = parts.next()?;
        if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *byte = p.parse().ok()?;
    }
    parts.next().is_none().then_some(out)
}

/// Parses a dotted-quad address.
pub fn parse_addr(s: &str) -> Option<Ipv4> {
    parse_ip(s)
}

/// The classful default netmask of an address.
pub fn class_mask(addr: Ipv4) -> Ipv4 {
    match addr[0] {
        0..=127 => [255, 0, 0, 0],
        128..=191 => [255, 255, 0, 0],
        _ => [255, 255, 255, 0],
    }
}

fn is_dhcp_word(s: &str) -> bool {
    matches!(s, "dhcp" | "on" | "any" | "bootp" | "rarp" | "both")
}

/// Parses the value of `ip=` (None: malformed, which the kernel reports and ignores).
pub fn parse(value: &str) -> Option<IpConfig> {
    match value {
        "off" | "none" => return Some(IpConfig::Off),
        v if is_dhcp_word(v) => return Some(IpConfig::Dhcp { device: None }),
        _ => {}
    }
    let mut fields = value.split(':');
    let mut next = || fields.next().unwrap_or("");
    let (client, _server, gw, mask, host, dev, auto) = (next(), next(), next(), next(), next(), next(), next());
    let device = (!dev.is_empty()).then(|| String::from(dev));
    let hostname = (!host.is_empty()).then(|| String::from(host));
    if client.is_empty() || is_dhcp_word(auto) {
        if auto.is_empty() || is_dhcp_word(auto) {
            return Some(IpConfig::Dhcp { device });
        }
        return if matches!(auto, "off" | "none" | "static") { Some(IpConfig::Off) } else { None };
    }
    if !matches!(auto, "" | "off" | "none" | "static") {
        return None;
    }
    let addr = parse_ip(client)?;
    let netmask = if mask.is_empty() { class_mask(addr) } else { parse_ip(mask)? };
    crate::prefix_len(netmask)?;
    let gateway = if gw.is_empty() { None } else { Some(parse_ip(gw)?) };
    Some(IpConfig::Static { addr, netmask, gateway, hostname, device })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words() {
        assert_eq!(parse("off"), Some(IpConfig::Off));
        assert_eq!(parse("dhcp"), Some(IpConfig::Dhcp { device: None }));
        assert_eq!(parse("bootp"), Some(IpConfig::Dhcp { device: None }));
    }

    #[test]
    fn static_form() {
        assert_eq!(
            parse("10.0.2.15::10.0.2.2:255.255.255.0::eth0:off"),
            Some(IpConfig::Static { addr: [10, 0, 2, 15], netmask: [255, 255, 255, 0], gateway: Some([10, 0, 2, 2]), hostname: None, device: Some("eth0".into()) })
        );
        assert_eq!(
            parse("192.168.1.9"),
            Some(IpConfig::Static { addr: [192, 168, 1, 9], netmask: [255, 255, 255, 0], gateway: None, hostname: None, device: None })
        );
        assert_eq!(parse("10.0.2.15:::::eth0:none").map(|c| matches!(c, IpConfig::Static { netmask: [255, 0, 0, 0], .. })), Some(true));
        assert_eq!(parse(":::::eth1:dhcp"), Some(IpConfig::Dhcp { device: Some("eth1".into()) }));
        assert_eq!(parse("::::::"), Some(IpConfig::Dhcp { device: None }));
    }

    #[test]
    fn malformed() {
        assert_eq!(parse("10.0.2"), None);
        assert_eq!(parse("10.0.2.256"), None);
        assert_eq!(parse("10.0.2.15::x"), None);
        assert_eq!(parse("10.0.2.15:::255.0.255.0"), None);
        assert_eq!(parse("10.0.2.15::::::weird"), None);
        assert_eq!(parse("1.2.3.4.5"), None);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "[0-9a-z.:]{0,40}") {
            let _ = parse(&s);
        }
    }
}
