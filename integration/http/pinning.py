"""Connections that resolve their host once, vet the answer and connect to what was vetted.

urllib3 normally resolves inside ``create_connection``; a guard that resolves separately can
be fooled by a name that answers a public address to the guard and 127.0.0.1 to the connect
(DNS rebinding). Here the one lookup per new connection is the guard's lookup: every address
in the answer is vetted (``netguard.refuse_restricted``) and the socket connects to those
socket addresses only. The connection keeps the *name* as its host, so the ``Host`` header,
TLS SNI and certificate verification are all for the name, as without pinning.

``PinnedAdapter(vet=False)`` still pins but vets nothing: development and the sandbox
(``ALLOW_PRIVATE_UPSTREAMS``) run the same connection code as production.
"""

from __future__ import annotations

import socket
import sys

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util.connection import allowed_gai_family
from urllib3.util.timeout import Timeout

from integration.http.netguard import AddrInfo, lookup, refuse_restricted


def connect_first(
    infos: list[AddrInfo], timeout: float | None, source_address, socket_options
) -> socket.socket:
    """A socket connected to the first address in ``infos`` that accepts; else the last error."""
    error: OSError | None = None
    for family, kind, proto, _, sockaddr in infos:
        sock = socket.socket(family, kind, proto)
        try:
            for option in socket_options or ():
                sock.setsockopt(*option)
            sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            error = exc
            sock.close()
    assert error is not None  # lookup() never returns an empty answer
    raise error


class _PinnedMixin:
    """Overrides ``HTTPConnection._new_conn``: one lookup, vetted, then connect to it."""

    #: Refuse private, loopback, link-local and reserved addresses.
    vet = True

    def _new_conn(self) -> socket.socket:
        try:
            infos = lookup(self._dns_host, self.port, allowed_gai_family())
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc
        if self.vet:
            refuse_restricted(self.host, infos)
        timeout = Timeout.resolve_default_timeout(self.timeout)
        try:
            sock = connect_first(infos, timeout, self.source_address, self.socket_options)
        except TimeoutError as exc:
            raise ConnectTimeoutError(
                self, f"Connection to {self.host} timed out. (connect timeout={timeout})"
            ) from exc
        except OSError as exc:
            raise NewConnectionError(self, f"Failed to establish a new connection: {exc}") from exc
        sys.audit("http.client.connect", self, self.host, self.port)
        return sock


class GuardedHTTPConnection(_PinnedMixin, HTTPConnection):
    pass


class GuardedHTTPSConnection(_PinnedMixin, HTTPSConnection):
    pass


class PinnedHTTPConnection(_PinnedMixin, HTTPConnection):
    vet = False


class PinnedHTTPSConnection(_PinnedMixin, HTTPSConnection):
    vet = False


class GuardedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = GuardedHTTPConnection


class GuardedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = GuardedHTTPSConnection


class PinnedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = PinnedHTTPConnection


class PinnedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = PinnedHTTPSConnection


_GUARDED_POOLS = {"http": GuardedHTTPConnectionPool, "https": GuardedHTTPSConnectionPool}
_PINNED_POOLS = {"http": PinnedHTTPConnectionPool, "https": PinnedHTTPSConnectionPool}


class PinnedAdapter(HTTPAdapter):
    """A requests adapter whose direct connections are pinned (and vetted unless ``vet=False``).

    Connections through a proxy are made by requests' proxy manager, not here: the proxy
    resolves the name, so ``UpstreamSession`` vets the name before each proxied request.
    """

    __attrs__ = [*HTTPAdapter.__attrs__, "vet"]

    def __init__(self, *, vet: bool, **kwargs) -> None:
        self.vet = vet  # before super().__init__, which builds the pool manager
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _GUARDED_POOLS if self.vet else _PINNED_POOLS
