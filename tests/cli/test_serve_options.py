"""How ``ihospital serve`` runs uvicorn: idle connections are closed by the peer, never by the
server (which would race the peer's next request into a reset), and a crowd connecting at
once finds room in the listen backlog."""

import httpx
import uvicorn

from ihospital.cli.support import uvicorn_options

BALANCER_IDLE_SECONDS = 60  # nginx's upstream keepalive_timeout, common cloud load balancers


def test_idle_connections_outlive_those_of_clients_and_load_balancers() -> None:
    options = uvicorn_options(65_536)
    client_idle = httpx.Limits().keepalive_expiry
    assert options["timeout_keep_alive"] > max(BALANCER_IDLE_SECONDS, client_idle)
    assert options["timeout_keep_alive"] > uvicorn.Config(app=None).timeout_keep_alive


def test_the_listen_backlog_is_larger_than_uvicorns_default() -> None:
    options = uvicorn_options(65_536)
    assert options["backlog"] > uvicorn.Config(app=None).backlog
    config = uvicorn.Config(app=None, **options)
    assert (config.timeout_keep_alive, config.backlog) == (
        options["timeout_keep_alive"],
        options["backlog"],
    )
