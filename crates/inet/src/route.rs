//! The IPv4 routing table: what `SIOCADDRT`/`SIOCDELRT` change, `/proc/net/route` shows and
//! every outgoing connection asks (which interface, which next hop). Lookup takes the longest
//! matching prefix, then the lowest metric. The table is bounded ([`MAX_ROUTES`]).

use alloc::vec::Vec;

use exo_abi::Errno;

use crate::{to_u32, Ipv4};

/// Most routes kept (ENOBUFS beyond).
pub const MAX_ROUTES: usize = 64;

/// `rt_flags` bits.
pub const RTF_UP: u16 = 0x1;
pub const RTF_GATEWAY: u16 = 0x2;
pub const RTF_HOST: u16 = 0x4;

/// One route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route {
    pub dest: Ipv4,
    pub mask: Ipv4,
    /// The next hop (None: the destination is on the link).
    pub gateway: Option<Ipv4>,
    /// The interface's index.
    pub iface: u32,
    pub metric: u32,
}

impl Route {
    /// Whether `dst` falls in the route's prefix.
    pub fn matches(&self, dst: Ipv4) -> bool {
        to_u32(dst) & to_u32(self.mask) == to_u32(self.dest) & to_u32(self.mask)
    }

    /// `rt_flags` as `/proc/net/route` shows them.
    pub fn flags(&self) -> u16 {
        RTF_UP | if self.gateway.is_some() { RTF_GATEWAY } else { 0 } | if self.mask == [255; 4] { RTF_HOST } else { 0 }
    }
}

/// The table.
#[derive(Default, Clone)]
pub struct RouteTable {
    routes: Vec<Route>,
}

impl RouteTable {
    pub const fn new() -> RouteTable {
        RouteTable { routes: Vec::new() }
    }

    /// Adds a route (the destination is masked first): EEXIST when one with the same
    /// destination, mask, metric and interface exists, EINVAL for a mask with holes, ENOBUFS
    /// when full.
    pub fn add(&mut self, mut route: Route) -> Result<(), Errno> {
        crate::prefix_len(route.mask).ok_or(Errno::EINVAL)?;
        route.dest = crate::from_u32(to_u32(route.dest) & to_u32(route.mask));
        if self.routes.iter().any(|r| r.dest == route.dest && r.mask == route.mask && r.metric == route.metric && r.iface == route.iface) {
            return Err(Errno::EEXIST);
        }
        if self.routes.len() >= MAX_ROUTES {
            return Err(Errno::ENOBUFS);
        }
        self.routes.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        self.routes.push(route);
        Ok(())
    }

    /// Deletes the first route with this destination and mask (and gateway, interface when
    /// given): ESRCH when there is none.
    pub fn delete(&mut self, dest: Ipv4, mask: Ipv4, gateway: Option<Ipv4>, iface: Option<u32>) -> Result<Route, Errno> {
        let dest = crate::from_u32(to_u32(dest) & to_u32(mask));
        let i = self
            .routes
            .iter()
            .position(|r| r.dest == dest && r.mask == mask && gateway.is_none_or(|g| r.gateway == Some(g)) && iface.is_none_or(|i| r.iface == i))
            .ok_or(Errno::ESRCH)?;
        Ok(self.routes.remove(i))
    }

    /// Drops every route through interface `iface` (it went down or lost its address).
    pub fn remove_iface(&mut self, iface: u32) {
        self.routes.retain(|r| r.iface != iface);
    }

    /// Drops the on-link route of `iface` for `dest/mask` and its routes through gateways
    /// (the address it had is being replaced).
    pub fn remove_where(&mut self, mut keep: impl FnMut(&Route) -> bool) {
        self.routes.retain(|r| keep(r));
    }

    /// The route to `dst`: longest prefix, then lowest metric.
    pub fn lookup(&self, dst: Ipv4) -> Option<&Route> {
        self.routes.iter().filter(|r| r.matches(dst)).max_by(|a, b| {
            let (pa, pb) = (to_u32(a.mask).count_ones(), to_u32(b.mask).count_ones());
            pa.cmp(&pb).then(b.metric.cmp(&a.metric))
        })
    }

    pub fn iter(&self) -> impl Iterator<Item = &Route> {
        self.routes.iter()
    }

    pub fn len(&self) -> usize {
        self.routes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(dest: Ipv4, mask: Ipv4, gw: Option<Ipv4>, iface: u32, metric: u32) -> Route {
        Route { dest, mask, gateway: gw, iface, metric }
    }

    #[test]
    fn longest_prefix_then_metric() {
        let mut t = RouteTable::new();
        t.add(r([0, 0, 0, 0], [0, 0, 0, 0], Some([10, 0, 2, 2]), 2, 0)).unwrap();
        t.add(r([10, 0, 2, 0], [255, 255, 255, 0], None, 2, 0)).unwrap();
        t.add(r([127, 0, 0, 0], [255, 0, 0, 0], None, 1, 0)).unwrap();
        assert_eq!(t.lookup([10, 0, 2, 2]).unwrap().gateway, None);
        assert_eq!(t.lookup([8, 8, 8, 8]).unwrap().gateway, Some([10, 0, 2, 2]));
        assert_eq!(t.lookup([127, 0, 0, 1]).unwrap().iface, 1);
        t.add(r([0, 0, 0, 0], [0, 0, 0, 0], Some([10, 0, 2, 3]), 2, 5)).unwrap();
        assert_eq!(t.lookup([8, 8, 8, 8]).unwrap().gateway, Some([10, 0, 2, 2]));
    }

    #[test]
    fn add_delete_errors() {
        let mut t = RouteTable::new();
        let route = r([10, 0, 2, 77], [255, 255, 255, 0], None, 2, 0);
        t.add(route).unwrap();
        assert_eq!(t.iter().next().unwrap().dest, [10, 0, 2, 0]);
        assert_eq!(t.add(route), Err(Errno::EEXIST));
        assert_eq!(t.add(r([1, 0, 0, 0], [255, 0, 255, 0], None, 2, 0)), Err(Errno::EINVAL));
        assert_eq!(t.delete([10, 0, 3, 0], [255, 255, 255, 0], None, None), Err(Errno::ESRCH));
        assert!(t.delete([10, 0, 2, 0], [255, 255, 255, 0], None, None).is_ok());
        assert!(t.is_empty());
        for i in 0..MAX_ROUTES {
            t.add(r([10, i as u8, 0, 0], [255, 255, 0, 0], None, 2, 0)).unwrap();
        }
        assert_eq!(t.add(r([11, 0, 0, 0], [255, 0, 0, 0], None, 2, 0)), Err(Errno::ENOBUFS));
        assert_eq!(t.iter().next().unwrap().flags(), RTF_UP);
    }
}
