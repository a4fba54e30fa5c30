"""Refuse upstream hosts that resolve to private, loopback, link-local or reserved addresses.

A district types the OneRoster URL into the intake form; without this guard the service
could be pointed at the cloud metadata endpoint or at internal systems (SSRF). The guard is
bound to the connection (``integration.http.pinning``): each new connection resolves the
name once, vets every address of that one answer and connects only to a vetted address, so
a name that answers differently between a check and the connect (DNS rebinding) gains
nothing. A lookup that fails is refused, never read as "nothing private here". Redirects are
never followed by the HTTP layer. ``ALLOW_PRIVATE_UPSTREAMS`` switches the vetting off for
development and the sandbox.

IPv6 forms that carry an IPv4 address (``::ffff:a.b.c.d``, the deprecated ``::a.b.c.d``,
NAT64 ``64:ff9b::/96``, 6to4 ``2002::/16``, Teredo ``2001::/32``) are judged by the IPv4
addresses they carry: ``::127.0.0.1`` reaches loopback on many stacks even though Python
calls the IPv6 address global.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from integration.http.errors import RestrictedAddress, UpstreamUnreachable

#: getaddrinfo's answer for one name: (family, type, proto, canonname, sockaddr) tuples.
AddrInfo = tuple[socket.AddressFamily, socket.SocketKind, int, str, tuple]

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# RFC 2765 "IPv4-translated" (::ffff:0:a.b.c.d) and RFC 4291 "IPv4-compatible" (::a.b.c.d).
_IPV4_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
# Special-purpose ranges the running Python's ``is_global`` may still call global (the
# registry grew after Python 3.11 was released).
_NOT_GLOBAL = (
    ipaddress.IPv6Network("64:ff9b:1::/48"),  # local-use NAT64, RFC 8215
    ipaddress.IPv6Network("fec0::/10"),  # site-local, deprecated by RFC 3879
    ipaddress.IPv6Network("3fff::/20"),  # documentation, RFC 9637
    ipaddress.IPv6Network("5f00::/16"),  # SRv6 SIDs, RFC 9602
    ipaddress.IPv4Network("192.88.99.0/24"),  # 6to4 relay anycast, deprecated by RFC 7526
)


class HostNotFound(UpstreamUnreachable):
    """The name has no address: the lookup failed or came back empty."""


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address stands for (empty when it embeds none)."""
    low32 = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.ipv4_mapped is not None:
        return [ip.ipv4_mapped]
    if ip in _NAT64 or ip in _IPV4_TRANSLATED or ip in _IPV4_COMPATIBLE:
        return [low32]
    if ip.sixtofour is not None:
        return [ip.sixtofour]
    if ip.teredo is not None:
        return list(ip.teredo)  # (server, client): traffic goes through both
    return []


def _is_public_ip(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if not ip.is_global or ip.is_multicast:
        return False
    return not any(ip.version == net.version and ip in net for net in _NOT_GLOBAL)


def is_public_address(address: str) -> bool:
    """True when ``address`` (an IP literal, IPv6 with or without a zone) is on the internet."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        carried = embedded_ipv4(ip)
        if carried:
            return all(_is_public_ip(v4) for v4 in carried)
    return _is_public_ip(ip)


def lookup(host: str, port: int, family: int = socket.AF_UNSPEC) -> list[AddrInfo]:
    """One lookup of ``host``; ``socket.gaierror`` when it fails or answers nothing."""
    infos = socket.getaddrinfo(host.strip("[]"), port, family, socket.SOCK_STREAM)
    if not infos:
        raise socket.gaierror(socket.EAI_NONAME, "the lookup answered no address")
    return infos


def refuse_restricted(host: str, infos: list[AddrInfo]) -> None:
    """Raise ``RestrictedAddress`` unless every address in ``infos`` is public."""
    restricted = [info[4][0] for info in infos if not is_public_address(info[4][0])]
    if restricted:
        raise RestrictedAddress(
            f"{host} resolves to a private, loopback or link-local address; "
            "upstream systems must be reachable on the public internet.",
            url=host,
        )


def check_url_host(url: str) -> None:
    """Resolve the URL's host once and vet every address (``HostNotFound``/``RestrictedAddress``).

    This gives a person typing an address an early answer; the connection itself vets again
    (``integration.http.pinning``), since the name may answer differently by then.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = lookup(host, port)
    except (socket.gaierror, UnicodeError) as exc:
        raise HostNotFound(f"{host} could not be found (no address)", url=host) from exc
    refuse_restricted(host, infos)
