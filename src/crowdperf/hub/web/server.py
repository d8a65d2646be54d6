"""``crowdperf hub serve``: the web app under uvicorn, on loopback unless told otherwise."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import uvicorn

from crowdperf.hub.web.app import WebConfig, create_app


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8765
    log_level: str = "info"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(config: WebConfig, options: ServeOptions) -> None:
    """Run until interrupted."""
    uvicorn.run(
        create_app(config), host=options.host, port=options.port, log_level=options.log_level,
        proxy_headers=False, server_header=False,
    )  # fmt: skip
