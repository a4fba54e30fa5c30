"""The address guard is bound to the connection: one lookup, every address vetted, and the
socket goes to a vetted address while Host, SNI and certificate checks stay on the name.

The resolver is replaced at the boundary (``socket.getaddrinfo``); the loopback server stands
for an internal system that must not be reached.
"""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from integration.http import (
    RestrictedAddress,
    RetryPolicy,
    UpstreamSession,
    UpstreamUnreachable,
)
from integration.http.netguard import check_url_host, is_public_address

PUBLIC = "93.184.215.14"  # stands for a public answer; never actually connected to
NAME = "sis.rosterbridge.test"


class Resolver:
    """Answers ``names`` from a script (the last answer repeats); others resolve as usual."""

    def __init__(self, monkeypatch, *answers: list[str] | None, names=(NAME,)) -> None:
        self.answers = list(answers)
        self.lookups = 0
        real = socket.getaddrinfo

        def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
            if host not in names:
                return real(host, port, family, type, proto, flags)
            self.lookups += 1
            answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
            if answer is None:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            return [_info(address, port) for address in answer]

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def _info(address: str, port: int):
    if ":" in address:
        return (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0))
    return (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))


@pytest.fixture
def connects(monkeypatch):
    """Records every outgoing connect; the stand-in public address refuses (no real traffic)."""
    seen: list[str] = []
    real = socket.socket.connect

    def connect(sock, address):
        seen.append(address[0])
        if address[0] == PUBLIC:
            raise ConnectionRefusedError("stand-in public address")
        return real(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    return seen


class _Recorder(BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.seen.append(
            {"host": self.headers["Host"], "auth": self.headers["Authorization"]}
        )
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def internal():
    """A loopback server standing for an internal system."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    httpd.seen = []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _guarded() -> UpstreamSession:
    return UpstreamSession(allow_private=False, retry=RetryPolicy(attempts=1))


def test_a_name_that_rebinds_to_loopback_after_the_check_never_reaches_it(
    monkeypatch, connects, internal
):
    resolver = Resolver(monkeypatch, [PUBLIC], ["127.0.0.1"])
    url = f"http://{NAME}:{internal.server_port}/ims/oneroster/v1p1/orgs"
    with pytest.raises(UpstreamUnreachable):
        _guarded().request("GET", url, headers={"Authorization": "Bearer district-token"})
    assert internal.seen == []
    assert resolver.lookups == 1  # one lookup, and the connect went to what it answered
    assert connects == [PUBLIC]


def test_every_address_of_the_answer_is_vetted(monkeypatch, connects, internal):
    Resolver(monkeypatch, [PUBLIC, "127.0.0.1"])
    url = f"http://{NAME}:{internal.server_port}/ims/oneroster/v1p1/orgs"
    with pytest.raises(RestrictedAddress):
        _guarded().request("GET", url)
    assert connects == []
    assert internal.seen == []


def test_a_later_connection_vets_its_own_lookup(monkeypatch, connects, internal):
    """Retries open new connections; each one looks up and vets again."""
    resolver = Resolver(monkeypatch, [PUBLIC], ["127.0.0.1"])
    session = UpstreamSession(
        allow_private=False, retry=RetryPolicy(attempts=3, base_delay=0), sleep=lambda _: None
    )
    with pytest.raises(RestrictedAddress):
        session.request("GET", f"http://{NAME}:{internal.server_port}/x")
    assert resolver.lookups == 2
    assert connects == [PUBLIC]
    assert internal.seen == []


def test_a_name_checked_public_at_intake_that_rebinds_to_loopback_is_refused_at_connect(
    monkeypatch, connects, internal
):
    """The intake check and the connection look up separately; only the connection's own
    answer decides where the socket goes."""
    resolver = Resolver(monkeypatch, [PUBLIC], ["127.0.0.1"])
    url = f"http://{NAME}:{internal.server_port}/ims/oneroster/v1p1/orgs"
    check_url_host(url)  # what the intake form asks: public
    with pytest.raises(RestrictedAddress):
        _guarded().request("GET", url, headers={"Authorization": "Bearer district-token"})
    assert resolver.lookups == 2
    assert connects == []
    assert internal.seen == []


def test_a_failed_lookup_is_refused_without_connecting(monkeypatch, connects):
    Resolver(monkeypatch, None)
    with pytest.raises(UpstreamUnreachable):
        _guarded().request("GET", f"http://{NAME}/ims/oneroster/v1p1/orgs")
    assert connects == []


def test_a_proxied_request_is_vetted_before_it_leaves(monkeypatch, connects):
    """Through a proxy the proxy connects, so the name is vetted before each request."""
    Resolver(monkeypatch, ["10.0.0.8"])
    session = _guarded()
    session.session.proxies = {"http": "http://127.0.0.1:9"}
    with pytest.raises(RestrictedAddress):
        session.request("GET", f"http://{NAME}/ims/oneroster/v1p1/orgs")
    assert connects == []


#: IPv6 answers that embed or stand for a non-public address.
RESTRICTED_IPV6 = [
    "::127.0.0.1",  # IPv4-compatible
    "::ffff:127.0.0.1",  # IPv4-mapped
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
    "fc00::1",  # ULA
    "fd12:3456::1",  # ULA
    "fe80::1",  # link-local
]


@pytest.mark.parametrize("address", RESTRICTED_IPV6)
def test_a_name_answering_an_ipv6_form_of_a_private_address_is_refused_at_connect(
    monkeypatch, connects, address
):
    Resolver(monkeypatch, [address])
    with pytest.raises(RestrictedAddress):
        _guarded().request(
            "GET",
            f"https://{NAME}/ims/oneroster/v1p1/orgs",
            headers={"Authorization": "Bearer district-token"},
        )
    assert connects == []


@pytest.mark.parametrize("address", RESTRICTED_IPV6)
def test_an_ipv6_literal_of_a_private_address_is_refused_at_connect(connects, address):
    with pytest.raises(RestrictedAddress):
        _guarded().request("GET", f"https://[{address}]/ims/oneroster/v1p1/orgs")
    assert connects == []


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "::1",
        "::127.0.0.1",  # IPv4-compatible
        "::ffff:127.0.0.1",  # IPv4-mapped
        "::ffff:0:a00:1",  # IPv4-translated 10.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "64:ff9b:1::a00:1",  # local-use NAT64
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "2002:c0a8:101::1",  # 6to4 of 192.168.1.1
        "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
        "2001:0:a00:1:8000:63bf:f7f7:f7f7",  # Teredo via server 10.0.0.1
        "fc00::1",
        "fd12:3456::1",  # ULA
        "fe80::1",
        "fe80::1%eth0",  # link-local with a zone
        "fec0::1",  # site-local
        "3fff::1",  # documentation
        "ff02::1",
        "::",
        "0.0.0.0",
        "100.64.0.1",
        "169.254.169.254",
        "224.0.0.1",
        "192.88.99.1",
    ],
)
def test_restricted_addresses_including_the_ones_ipv6_forms_embed(address):
    assert not is_public_address(address)


@pytest.mark.parametrize(
    "address",
    [
        "93.184.215.14",
        "2606:4700::6810:84e5",
        "::ffff:93.184.215.14",
        "64:ff9b::5db8:d70e",  # NAT64 of a public address
        "2002:5db8:d70e::1",  # 6to4 of a public address
        "2001:0:5db8:d70e:8000:63bf:a247:28f1",  # Teredo, public server and client
    ],
)
def test_public_addresses_and_forms_embedding_them_pass(address):
    assert is_public_address(address)


# --- HTTPS: the pinned connection still speaks TLS for the name ---------------------------


def _certificate(tmp_path, name: str):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def tls_server(tmp_path):
    cert_path, key_path = _certificate(tmp_path, NAME)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    server_names: list[str | None] = []
    context.sni_callback = lambda sock, server_name, ctx: server_names.append(server_name)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    httpd.seen = []
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd, cert_path, server_names
    httpd.shutdown()
    httpd.server_close()


def test_the_pinned_connection_keeps_host_sni_and_certificate_checks_on_the_name(
    monkeypatch, tls_server
):
    httpd, cert_path, server_names = tls_server
    Resolver(monkeypatch, ["127.0.0.1"])
    session = UpstreamSession(allow_private=True, retry=RetryPolicy(attempts=1))
    session.session.verify = str(cert_path)
    data, _ = session.get_json(f"https://{NAME}:{httpd.server_port}/ims/oneroster/v1p1/orgs")
    assert data == {"ok": True}
    assert httpd.seen == [{"host": f"{NAME}:{httpd.server_port}", "auth": None}]
    assert server_names == [NAME]


def test_a_certificate_for_another_name_is_refused_on_a_pinned_connection(monkeypatch, tls_server):
    httpd, cert_path, server_names = tls_server
    other = "other.rosterbridge.test"
    Resolver(monkeypatch, ["127.0.0.1"], names=(other,))
    session = UpstreamSession(allow_private=True, retry=RetryPolicy(attempts=1))
    session.session.verify = str(cert_path)  # trusted, but issued for NAME only
    with pytest.raises(UpstreamUnreachable):
        session.request("GET", f"https://{other}:{httpd.server_port}/ims/oneroster/v1p1/orgs")
    assert server_names == [other]
    assert httpd.seen == []
