"""Refuse upstream hosts that resolve to private, loopback, link-local or reserved addresses.

A district types the OneRoster URL into the intake form; without this check the service
could be pointed at the cloud metadata endpoint or at internal systems (SSRF). Redirects are
never followed by the HTTP layer, so the check on the host we connect to is the one that
matters. ``ALLOW_PRIVATE_UPSTREAMS`` switches it off for development and the sandbox.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from integration.http.errors import RestrictedAddress


def is_public_address(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def host_addresses(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except socket.gaierror:
        return []
    return sorted({info[4][0] for info in infos})


def check_url_host(url: str) -> None:
    """Raise ``RestrictedAddress`` unless every address of the URL's host is public."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = host_addresses(host, port)
    restricted = [a for a in addresses if not is_public_address(a)]
    if restricted:
        raise RestrictedAddress(
            f"{host} resolves to a private, loopback or link-local address; "
            "upstream systems must be reachable on the public internet.",
            url=f"{parts.scheme}://{host}",
        )
