"""The address a request came from, for django-axes' login throttling (settings.AXES_CLIENT_IP_CALLABLE).

Behind a reverse proxy (nginx in front of gunicorn) REMOTE_ADDR is the proxy's own address, so every
client would share one lockout. Each proxy appends the address it received the request from to
X-Forwarded-For; with `AIH_TRUSTED_PROXY_COUNT` = N proxies of our own in front of the app, the client
is the N-th address from the right. Anything to the left of that was written by the client and may be
forged, so it is never read. With N = 0 (the default) X-Forwarded-For is ignored altogether.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: REMOTE_ADDR, or with N trusted proxies the N-th X-Forwarded-For entry from the
    right. A header with fewer entries than N, or an entry that is no IP address, means the request did not
    come through the proxies as configured: then REMOTE_ADDR (a lockout shared with the proxy, never one a
    client chose)."""
    remote_addr = request.META.get("REMOTE_ADDR")
    count = settings.AIH_TRUSTED_PROXY_COUNT
    if count <= 0:
        return remote_addr
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [part for part in forwarded if part]
    if len(forwarded) < count:
        return remote_addr
    candidate = forwarded[-count]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote_addr
