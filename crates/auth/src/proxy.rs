//! Trusting an authenticating reverse proxy (oauth2-proxy and the like): its
//! identity headers are believed only when the TCP peer is one of the
//! configured proxy addresses. From anyone else the same headers are
//! ignored, or any client could claim to be anyone.

use std::net::IpAddr;

use ipnet::IpNet;

/// Addresses and networks whose requests may carry identity headers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses `10.0.0.0/8`-style networks and bare addresses (`127.0.0.1`,
    /// `::1`); the error names the entry.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, String> {
        let mut nets = Vec::with_capacity(entries.len());
        for e in entries {
            let e = e.as_ref().trim();
            let net = match e.parse::<IpNet>() {
                Ok(n) => n,
                Err(_) => e.parse::<IpAddr>().map(IpNet::from).map_err(|_| {
                    format!("{e:?} is neither an IP address nor a CIDR network (like 10.0.0.0/8)")
                })?,
            };
            nets.push(net);
        }
        Ok(Self(nets))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether a connection from `addr` comes from a trusted proxy. An
    /// IPv4-mapped IPv6 peer (`::ffff:10.0.0.1`) counts as its IPv4 address.
    pub fn trusts(&self, addr: IpAddr) -> bool {
        let addr = match addr {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(addr),
            v4 => v4,
        };
        self.0.iter().any(|n| n.contains(&addr))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_and_addresses_are_trusted_and_others_not() {
        let t = TrustedProxies::parse(&["10.0.0.0/8", "127.0.0.1", "::1"]).expect("parse");
        for ok in ["10.1.2.3", "127.0.0.1", "::1", "::ffff:10.9.9.9"] {
            assert!(t.trusts(ok.parse().expect("ip")), "{ok}");
        }
        for no in ["11.0.0.1", "127.0.0.2", "::2"] {
            assert!(!t.trusts(no.parse().expect("ip")), "{no}");
        }
        assert!(!TrustedProxies::default().trusts("127.0.0.1".parse().expect("ip")));
    }

    #[test]
    fn a_bad_entry_is_named() {
        let e = TrustedProxies::parse(&["10.0.0.0/8", "proxy.local"]).expect_err("bad");
        assert!(e.contains("\"proxy.local\""), "{e}");
    }
}
