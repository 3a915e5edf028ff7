//! The client's address: the TCP peer, or, when the peer is one of `TRUSTED_PROXIES`, the
//! address the proxies forwarded in `Forwarded` (RFC 7239) or `X-Forwarded-For`. The chain is
//! walked from the right, skipping trusted hops, so a client cannot choose its address by
//! sending the header itself: from an untrusted peer the headers are ignored.

use std::net::IpAddr;

use axum::http::{HeaderMap, HeaderName, header::FORWARDED};
use ipnet::IpNet;

/// The networks whose forwarding headers are believed (empty by default: none).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl std::str::FromStr for TrustedProxies {
    type Err = String;

    /// A comma-separated list of CIDRs (`10.0.0.0/8, fd00::/8`) or single addresses.
    fn from_str(list: &str) -> Result<Self, String> {
        list.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<IpNet>()
                    .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                    .map(|net| net.trunc())
                    .map_err(|_| format!("{s} is neither a CIDR nor an address"))
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }
}

impl TrustedProxies {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address for a request that came from `peer`.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = peer.to_canonical();
        if !self.trusts(client) {
            return client;
        }
        for hop in forwarded_chain(headers).iter().rev() {
            match hop {
                Some(ip) if self.trusts(client) => client = ip.to_canonical(),
                // An untrusted hop is the client; an unknown or obfuscated one stops the walk
                // at the proxy that wrote it.
                _ => break,
            }
        }
        client
    }
}

/// The forwarded addresses, nearest the client first: `Forwarded`'s `for=` when that header
/// is present, else `X-Forwarded-For`. `None` for an entry that is not an address (`unknown`,
/// an obfuscated `_name`, an element without `for`).
fn forwarded_chain(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let values = |name| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let forwarded = values(FORWARDED);
    if !forwarded.is_empty() {
        return forwarded
            .iter()
            .map(|element| forwarded_for(element))
            .collect();
    }
    values(HeaderName::from_static("x-forwarded-for"))
        .iter()
        .map(|s| node(s))
        .collect()
}

/// The `for=` of one `Forwarded` element (`for=192.0.2.60;proto=https;by=203.0.113.43`).
fn forwarded_for(element: &str) -> Option<IpAddr> {
    element.split(';').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("for")
            .then(|| node(value.trim().trim_matches('"')))
            .flatten()
    })
}

/// An address with an optional port: `192.0.2.43`, `192.0.2.43:47011`, `[2001:db8::17]:4711`,
/// `2001:db8::17`.
fn node(s: &str) -> Option<IpAddr> {
    if let Some(rest) = s.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    if let Ok(ip) = s.parse() {
        return Some(ip);
    }
    let (host, port) = s.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    host.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn without_trusted_proxies_the_headers_are_ignored() {
        let none = TrustedProxies::default();
        let h = headers(&[("x-forwarded-for", "1.2.3.4"), ("forwarded", "for=5.6.7.8")]);
        assert_eq!(none.client_ip(ip("10.0.0.1"), &h), ip("10.0.0.1"));
        let some: TrustedProxies = "10.0.0.0/8".parse().unwrap();
        assert_eq!(some.client_ip(ip("192.0.2.9"), &h), ip("192.0.2.9"));
    }

    #[test]
    fn the_chain_is_walked_right_to_left_over_trusted_hops() {
        let trusted: TrustedProxies = "10.0.0.0/8, 172.16.0.1".parse().unwrap();
        // The client forged the leftmost entry; the first untrusted one from the right wins.
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 203.0.113.7, 172.16.0.1")]);
        assert_eq!(trusted.client_ip(ip("10.1.2.3"), &h), ip("203.0.113.7"));
        // Several header lines form one list.
        let h = headers(&[
            ("x-forwarded-for", "6.6.6.6"),
            ("x-forwarded-for", "203.0.113.7:5555"),
        ]);
        assert_eq!(trusted.client_ip(ip("10.1.2.3"), &h), ip("203.0.113.7"));
        // Every hop trusted: the leftmost is the client.
        let h = headers(&[("x-forwarded-for", "10.9.9.9, 172.16.0.1")]);
        assert_eq!(trusted.client_ip(ip("10.1.2.3"), &h), ip("10.9.9.9"));
        // No header: the proxy itself.
        assert_eq!(
            trusted.client_ip(ip("10.1.2.3"), &HeaderMap::new()),
            ip("10.1.2.3")
        );
    }

    #[test]
    fn forwarded_is_read_as_rfc_7239_and_preferred() {
        let trusted: TrustedProxies = "10.0.0.0/8, ::1".parse().unwrap();
        let h = headers(&[
            ("x-forwarded-for", "6.6.6.6"),
            (
                "forwarded",
                r#"for=192.0.2.60;proto=http;by=203.0.113.43, For="[2001:db8:cafe::17]:4711""#,
            ),
        ]);
        assert_eq!(
            trusted.client_ip(ip("10.0.0.2"), &h),
            ip("2001:db8:cafe::17")
        );
        let h = headers(&[("forwarded", "for=192.0.2.60, for=unknown")]);
        assert_eq!(trusted.client_ip(ip("::1"), &h), ip("::1"));
        let h = headers(&[("forwarded", r#"for="192.0.2.43:47011""#)]);
        assert_eq!(
            trusted.client_ip(ip("::ffff:10.0.0.2"), &h),
            ip("192.0.2.43")
        );
    }

    #[test]
    fn bad_entries_are_named() {
        assert!(
            "10.0.0.0/8,nope"
                .parse::<TrustedProxies>()
                .unwrap_err()
                .contains("nope")
        );
        assert!("".parse::<TrustedProxies>().unwrap().is_empty());
    }
}
