//! The client's address, for throttling and the audit trail: the TCP peer, or, when the
//! peer is one of `server.trusted_proxies`, what the proxies wrote in `X-Forwarded-For`.
//!
//! Each proxy appends the address it got the request from, so only the right end of
//! the header is written by proxies we trust; anything to the left may be made up by
//! the client. The header is read from the right, skipping trusted proxies; the first
//! other address is the client.

use std::net::IpAddr;

use actix_web::HttpRequest;

use crate::settings::Cidr;

/// The address a request came from, as far as it can be trusted.
pub fn address(req: &HttpRequest, trusted: &[Cidr]) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    let forwarded = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok());
    Some(resolve(peer, forwarded, trusted))
}

/// The client behind `peer` given the `X-Forwarded-For` header lines, in order.
fn resolve<'a>(peer: IpAddr, forwarded: impl Iterator<Item = &'a str>, trusted: &[Cidr]) -> IpAddr {
    let is_trusted = |a: IpAddr| trusted.iter().any(|c| c.contains(a));
    let mut client = peer.to_canonical();
    if !is_trusted(client) {
        return client;
    }
    let hops: Vec<&str> = forwarded.flat_map(|line| line.split(',')).collect();
    for hop in hops.iter().rev() {
        // A trusted proxy wrote this entry; garbage there leaves the last sure address.
        let Ok(addr) = hop.trim().parse::<IpAddr>() else {
            break;
        };
        client = addr.to_canonical();
        if !is_trusted(client) {
            break;
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn cidrs(list: &[&str]) -> Vec<Cidr> {
        list.iter().map(|c| Cidr::parse(c).unwrap()).collect()
    }

    #[test]
    fn the_header_counts_only_behind_a_trusted_proxy() {
        let proxies = cidrs(&["10.0.0.0/8"]);
        // No trusted proxies: the header is the client's own invention.
        assert_eq!(
            resolve(ip("10.0.0.2"), ["203.0.113.7"].into_iter(), &[]),
            ip("10.0.0.2")
        );
        // An untrusted peer cannot pick its address.
        assert_eq!(
            resolve(ip("198.51.100.1"), ["203.0.113.7"].into_iter(), &proxies),
            ip("198.51.100.1")
        );
        // Behind the proxy: the address it saw.
        assert_eq!(
            resolve(ip("10.0.0.2"), ["203.0.113.7"].into_iter(), &proxies),
            ip("203.0.113.7")
        );
    }

    #[test]
    fn made_up_entries_on_the_left_are_ignored() {
        let proxies = cidrs(&["10.0.0.0/8", "::1"]);
        // The client sent "1.2.3.4" itself; the proxy appended its real address.
        assert_eq!(
            resolve(
                ip("10.0.0.2"),
                ["1.2.3.4, 203.0.113.7"].into_iter(),
                &proxies
            ),
            ip("203.0.113.7")
        );
        // Two proxies in a row, over two header lines.
        assert_eq!(
            resolve(
                ip("::1"),
                ["1.2.3.4, 203.0.113.7", "10.0.0.5"].into_iter(),
                &proxies
            ),
            ip("203.0.113.7")
        );
        // Garbage written next to us leaves the proxy as the client.
        assert_eq!(
            resolve(ip("10.0.0.2"), ["1.2.3.4, unknown"].into_iter(), &proxies),
            ip("10.0.0.2")
        );
        // Only proxies in the chain: the leftmost of them.
        assert_eq!(
            resolve(ip("10.0.0.2"), ["10.0.0.9"].into_iter(), &proxies),
            ip("10.0.0.9")
        );
        // No header at all: the proxy.
        assert_eq!(
            resolve(ip("10.0.0.2"), std::iter::empty(), &proxies),
            ip("10.0.0.2")
        );
        // A dual-stack listener's view of an IPv4 proxy.
        assert_eq!(
            resolve(ip("::ffff:10.0.0.2"), ["203.0.113.7"].into_iter(), &proxies),
            ip("203.0.113.7")
        );
    }
}
