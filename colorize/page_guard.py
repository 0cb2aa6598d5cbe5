"""What `colorize serve` trusts: the Host names it answers to, the page's own Origin, and a token.

A local page is reachable by every web site its user visits: a site can POST to 127.0.0.1 (a "simple" request
needs no permission), and a site whose name it rebinds to 127.0.0.1 (DNS rebinding) can even read the answers. So,
as Jupyter and other local servers do:

- **Host**: a request must name the server by a name it listens on: 127.0.0.1, localhost, [::1], the `--host` given,
  or a name added with `--allow-host`. Bound to every interface (0.0.0.0, ::), an IP address (never a name another
  site controls) and this machine's own name are accepted too, and the token is required.
- **Origin**: a request that changes anything (POST, ...) from another origin than the page's own is refused, and so
  is any request a browser marks as sent from another site (`Sec-Fetch-Site: cross-site`), but following a link to
  the page itself.
- **Token** (required beyond loopback): on every API request, in a header the page adds (or the query of an image it
  loads), never in a cookie, which every server on the same host would be sent; compared in constant time, over
  bytes.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
import socket
from typing import Iterable
from urllib.parse import urlsplit

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
WILDCARDS = ("0.0.0.0", "::", "")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
# A Host header we answer at all: a name or an address, an optional port, nothing else.
_HOST = re.compile(r"(?:[A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?")


def host_name(header: str) -> str:
    """The name in a Host header (or an Origin's netloc), without its port or IPv6 brackets, lower-cased."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class PageGuard:
    """Decides, per request, whether the page answers it; `refusal` says why not (None: allowed)."""

    def __init__(self, host: str, token: str | None = None, allowed_hosts: Iterable[str] = ()) -> None:
        self.wildcard = host in WILDCARDS
        names = {*LOOPBACK_NAMES, *(host_name(h) for h in allowed_hosts)}
        if not self.wildcard:
            names.add(host_name(host))
        else:
            names |= {socket.gethostname().lower(), socket.getfqdn().lower()}
        self.names = frozenset(names)
        self.token = None if token is None else token.encode()

    def host_allowed(self, host: str) -> bool:
        if not _HOST.fullmatch(host):  # userinfo (`localhost:80@evil.com`), spaces, lists: not a name we answer to
            return False
        name = host_name(host)
        return name in self.names or (self.wildcard and _is_ip(name))

    def refusal(self, method: str, path: str, headers: list[tuple[str, str]], given_token: str | None) -> str | None:
        """Why a request is refused, in one line, or None. `headers` as (lower-cased name, value) pairs;
        `given_token` from the query or the header. The page itself and its scripts hold nothing private: only the
        API needs the token."""
        hosts = [v for k, v in headers if k == "host"]
        host = hosts[0] if len(hosts) == 1 else ""
        headers = dict(headers)
        if not self.host_allowed(host):
            return (f"this page does not answer to the name {host_name(host)[:100]!r}: open it as http://127.0.0.1 or "
                    "http://localhost, or start colorize serve with --allow-host NAME")
        origin = headers.get("origin")
        if method not in SAFE_METHODS and origin is not None and urlsplit(origin).netloc.lower() != host.lower():
            return f"refused a change requested by another site ({origin[:100]})"
        navigating = method == "GET" and path == "/" and headers.get("sec-fetch-mode") == "navigate"
        if headers.get("sec-fetch-site") == "cross-site" and not navigating:
            return "refused a request sent by another site"
        if self.token is not None and path.startswith("/api/") and (
                given_token is None or not secrets.compare_digest(given_token.encode("utf-8", "replace"), self.token)):
            return "missing or wrong token: open the URL colorize serve printed"
        return None


def required_token(host: str, token: str | None) -> str | None:
    """The token a server on `host` needs: none on loopback unless given, else the given one or a new one."""
    if host in LOOPBACK_NAMES:
        return token
    return token or secrets.token_urlsafe(16)
