"""POST to URLs that users typed, without letting them point Kintsugi at its own network (SSRF).

The host is resolved once, every address checked, and the connection made
to the very address that was checked: a DNS answer that changes between the
check and the connection (rebinding) gains nothing. Loopback, private,
link-local, shared, multicast and reserved addresses are refused unless
``KINTSUGI_OUTBOUND_ALLOW_PRIVATE`` is set; cloud metadata addresses are
refused always. Redirects are never followed (``http.client`` does not),
and every socket operation has a short timeout.
"""

import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

REFUSED_SCHEME = "Only http:// and https:// URLs can receive notifications."
REFUSED_HOST = "The URL has no host."
REFUSED_ADDRESS = "{host} resolves to {address}, a private, loopback or link-local address: refused."
REFUSED_METADATA = "{host} resolves to {address}, a cloud metadata address: refused."
UNRESOLVABLE = "{host} could not be resolved."

# Instance metadata services (AWS, GCP, Azure, OpenStack; AWS over IPv6; Alibaba).
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(address) for address in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)
USER_AGENT = "Kintsugi-Notifications/1"
RESPONSE_READ_LIMIT = 64 * 1024


class OutboundRefused(Exception):
    """The URL may not be called: a scheme, host or address the rules refuse. Retrying will not help."""


class OutboundFailed(Exception):
    """The call did not complete: refused connection, timeout, TLS or protocol error. A retry may help."""


@dataclass(frozen=True)
class OutboundResponse:
    status: int
    body: str


def address_refusal(address: ipaddress.IPv4Address | ipaddress.IPv6Address, *, host: str) -> str:
    """Return why the address may not be called, or "" when it may."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address in METADATA_ADDRESSES:
        return REFUSED_METADATA.format(host=host, address=address)
    if address.is_global and not address.is_multicast:
        return ""
    if settings.KINTSUGI_OUTBOUND_ALLOW_PRIVATE and not (address.is_multicast or address.is_unspecified):
        return ""
    return REFUSED_ADDRESS.format(host=host, address=address)


def url_check(url: str) -> tuple[str, str, int]:
    """Return the URL's scheme, host and port, or raise OutboundRefused for a scheme or literal address refused.

    Host names are resolved only when called (``guarded_connection``): this
    check is the early answer for forms and the API.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise OutboundRefused(REFUSED_SCHEME)
    if not parts.hostname:
        raise OutboundRefused(REFUSED_HOST)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as error:
        raise OutboundRefused(str(error)) from error
    try:
        literal = ipaddress.ip_address(parts.hostname)
    except ValueError:
        literal = None
    if literal is not None:
        refusal = address_refusal(literal, host=parts.hostname)
        if refusal:
            raise OutboundRefused(refusal)
    return parts.scheme, parts.hostname, port


def _connect(host: str, port: int, timeout: float) -> socket.socket:
    """Resolve ``host``, refuse it when any address is refused, and connect to the first address that answers."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise OutboundFailed(UNRESOLVABLE.format(host=host)) from error
    addresses = []
    for family, _, _, _, sockaddr in infos:
        address = ipaddress.ip_address(sockaddr[0].split("%")[0])
        refusal = address_refusal(address, host=host)
        if refusal:
            # One refused address refuses the host: a name must not mix public and internal answers.
            raise OutboundRefused(refusal)
        addresses.append((family, sockaddr))
    last_error: OSError | None = None
    for family, sockaddr in addresses:
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(sockaddr)
        except OSError as error:
            sock.close()
            last_error = error
            continue
        return sock
    raise OutboundFailed(f"Could not connect to {host}:{port}: {last_error}")


class _GuardedHTTPConnection(http.client.HTTPConnection):
    def connect(self):
        self.sock = _connect(self.host, self.port, self.timeout)


class _GuardedHTTPSConnection(http.client.HTTPSConnection):
    def connect(self):
        sock = _connect(self.host, self.port, self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post_json(
    url: str, body: bytes, *, headers: dict[str, str] | None = None, timeout: float | None = None
) -> OutboundResponse:
    """POST ``body`` as JSON to the URL and return the answer's status and (the start of) its body.

    Raise OutboundRefused when the rules refuse the URL or what it resolves
    to, OutboundFailed when the call did not complete. A 3xx is returned as
    it is: redirects are not followed.
    """
    scheme, host, port = url_check(url)
    timeout = timeout if timeout is not None else settings.KINTSUGI_OUTBOUND_TIMEOUT
    parts = urlsplit(url)
    target = parts.path or "/"
    if parts.query:
        target += f"?{parts.query}"
    if scheme == "https":
        connection = _GuardedHTTPSConnection(host, port, timeout=timeout, context=ssl.create_default_context())
    else:
        connection = _GuardedHTTPConnection(host, port, timeout=timeout)
    all_headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, **(headers or {})}
    try:
        connection.request("POST", target, body=body, headers=all_headers)
        response = connection.getresponse()
        text = response.read(RESPONSE_READ_LIMIT).decode("utf-8", "replace")
        return OutboundResponse(status=response.status, body=text)
    except OutboundRefused:
        raise
    except (OSError, http.client.HTTPException) as error:
        raise OutboundFailed(
            f"{error.__class__.__name__}: {error}" if str(error) else error.__class__.__name__
        ) from error
    finally:
        connection.close()
