from __future__ import annotations

import dataclasses
import socket
from pathlib import Path

import pytest

from reach_dq.exceptions import ConfigError
from reach_dq.partner import server
from reach_dq.partner.server import PartnerConfig, build_app, run

from .conftest import AS_OF


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"companies": 0}, "companies must be 1..999, got 0"),
        ({"companies": 1000}, "companies must be 1..999, got 1000"),
        ({"faults": ("no-such-fault",)}, "unknown fault 'no-such-fault'; expected one of "),
        ({"token": " "}, "token must be a non-empty string, or None for a random one"),
        ({"client_id": ""}, "client_id must be a non-empty string"),
        ({"client_secret": ""}, "client_secret must be a non-empty string"),
    ],
)
def test_invalid_config_is_config_error(changes: dict[str, object], message: str) -> None:
    config = dataclasses.replace(PartnerConfig(as_of=AS_OF), **changes)
    with pytest.raises(ConfigError) as caught:
        build_app(config)
    assert str(caught.value).startswith(message)


def test_ledger_folder_without_files_is_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        build_app(PartnerConfig(ledger=tmp_path))
    expected = f"ledger folder {str(tmp_path)!r} lacks the file 'xero_organization_data.csv'"
    assert str(caught.value) == expected


def test_missing_token_is_generated_at_random() -> None:
    config = PartnerConfig(companies=1, as_of=AS_OF)
    first = build_app(config).state.partner.tokens.configured_token
    second = build_app(config).state.partner.tokens.configured_token
    assert len(first) >= 32
    assert first != second


def test_companies_are_in_id_order() -> None:
    app = build_app(PartnerConfig(companies=3, as_of=AS_OF, token="t"))
    assert list(app.state.partner.companies) == ["C001", "C002", "C003"]


class _RecordingServer:
    """A stand-in for uvicorn.Server that records what it would serve and returns at once."""

    served: dict[str, object] = {}

    def __init__(self, config: object) -> None:
        self.config = config

    def run(self, *, sockets: list[socket.socket]) -> None:
        _RecordingServer.served = {"log_level": self.config.log_level,
                                   "address": sockets[0].getsockname()}


def test_run_prints_url_token_companies_and_faults(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(server.uvicorn, "Server", _RecordingServer)
    config = PartnerConfig(companies=2, as_of=AS_OF, token="demo", faults=("amount-as-string",))
    server.run(config, port=0)
    port = _RecordingServer.served["address"][1]
    assert capsys.readouterr().out == (
        f"Reach partner server at http://127.0.0.1:{port} token=demo companies=C001,C002 "
        "faults=amount-as-string\n"
    )
    assert _RecordingServer.served == {"log_level": "info", "address": ("127.0.0.1", port)}


def test_taken_port_names_the_port(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]

        with pytest.raises(ConfigError) as raised:
            run(PartnerConfig(companies=1), port=port)

    assert f"cannot listen on '127.0.0.1' port {port}" in str(raised.value)
    assert "pass another --port (0 picks a free one)" in str(raised.value)
    assert capsys.readouterr().out == ""  # no banner for a server that never started
