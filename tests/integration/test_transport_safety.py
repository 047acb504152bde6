"""Transport safety of ``reach-dq validate``: TLS verification, plain http, request targets, redirects.

Every server here listens on 127.0.0.1. The runs that name another host get a proxy setting
that points at a closed port on 127.0.0.1, so even a broken guard could not reach that host.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
from pathlib import Path

import duckdb
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from starlette.types import ASGIApp, Receive, Scope, Send

from reach_dq.partner.jsonbody import ExactJSONResponse
from reach_dq.partner.server import PartnerConfig, build_app
from reach_dq.exceptions import ConfigError
from reach_dq.settings import check_base_url
from tests.integration.reliability_support import AS_OF, TimedRun, findings_of, query, serve_app, validate

pytestmark = pytest.mark.integration

TOKEN = "transport-safety-token"
DEAD_PROXY = "http://127.0.0.1:9"  # nothing listens there, so a proxied request fails at once
NO_OUTSIDE_HOST = {"HTTP_PROXY": DEAD_PROXY, "HTTPS_PROXY": DEAD_PROXY, "ALL_PROXY": DEAD_PROXY, "NO_PROXY": ""}
HOSTILE_IDS = ("../C001", "a/b", "C001?x=1", "C001#top", "..", "%2e%2e")
REDIRECTED_PATH = "/companies/C001/classes"


@dataclasses.dataclass(frozen=True)
class Certificate:
    cert_file: Path
    key_file: Path


Issuer = tuple[x509.Certificate, ec.EllipticCurvePrivateKey]


def write_certificate(
    folder: Path, name: str, *, issuer: Issuer | None = None, is_ca: bool = False
) -> tuple[Certificate, x509.Certificate, ec.EllipticCurvePrivateKey]:
    """Write a certificate for 127.0.0.1, signed by ``issuer`` or by itself."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    issuer_cert, issuer_key = issuer if issuer else (None, key)
    now = dt.datetime.now(dt.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_cert.subject if issuer_cert else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
    )
    if not is_ca:
        address = x509.IPAddress(ipaddress.ip_address("127.0.0.1"))
        builder = builder.add_extension(x509.SubjectAlternativeName([address]), critical=False)
    certificate = builder.sign(issuer_key, hashes.SHA256())
    files = Certificate(folder / f"{name}.pem", folder / f"{name}.key")
    files.cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    files.key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return files, certificate, key


def partner_app() -> ASGIApp:
    return build_app(PartnerConfig(companies=2, as_of=AS_OF, token=TOKEN))


def run_over_tls(certificate: Certificate, folder: Path, **environment: str) -> TimedRun:
    ssl_options = {"ssl_certfile": str(certificate.cert_file), "ssl_keyfile": str(certificate.key_file)}
    with serve_app(partner_app(), **ssl_options) as base_url:
        assert base_url.startswith("https://127.0.0.1:")
        return validate(base_url, TOKEN, folder, **environment)


def test_self_signed_certificate_stops_run(tmp_path: Path) -> None:
    certificate, _, _ = write_certificate(tmp_path, "self-signed")
    timed = run_over_tls(certificate, tmp_path / "run")

    assert timed.run.exit_code == 3
    message = timed.run.stderr.strip().splitlines()[-1]
    assert message.startswith(
        "reach-dq: error: the run could not complete: GET /oauth2/user-info failed: the "
        "partner's TLS certificate could not be verified (ConnectError: [SSL: "
        "CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate"
    )
    assert message.endswith(
        "the partner must serve a certificate that a trusted CA signed, or SSL_CERT_FILE must "
        "name the CA bundle that signed it"
    )
    attempts = query(timed.warehouse, "SELECT operation_id, attempt FROM http_exchanges")
    assert attempts == [("getUserInfo", 1)]  # a certificate that fails once is not retried
    assert query(timed.warehouse, "SELECT status FROM snapshots") == [("failed",)]


def test_private_ca_trusted_through_ssl_cert_file(tmp_path: Path) -> None:
    ca_files, ca_certificate, ca_key = write_certificate(tmp_path, "test-ca", is_ca=True)
    server_files, _, _ = write_certificate(tmp_path, "partner", issuer=(ca_certificate, ca_key))
    timed = run_over_tls(server_files, tmp_path / "run", SSL_CERT_FILE=str(ca_files.cert_file))

    assert timed.run.exit_code == 0, timed.run.stderr[-3000:]
    assert timed.run.report["snapshot"]["base_url"].startswith("https://127.0.0.1:")
    assert timed.run.report["snapshot"]["status"] == "complete"


def test_plain_http_to_other_host_refused(tmp_path: Path) -> None:
    timed = validate("http://partner.example", TOKEN, tmp_path, **NO_OUTSIDE_HOST)

    assert timed.run.exit_code == 2
    assert timed.run.stderr.strip() == (
        "reach-dq: error: --base-url 'http://partner.example' uses plain http to a non-loopback "
        "host; use https, or pass --allow-insecure-http if you accept sending the token unencrypted"
    )
    assert not (tmp_path / "warehouse.duckdb").exists()


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("http://127.0.0.1:8765", True),
        ("http://127.0.0.2:8765", True),
        ("http://localhost:8765", True),
        ("http://[::1]:8765", True),
        ("https://partner.example", True),
        ("http://partner.example", False),
        ("http://127.0.0.1.partner.example", False),
        ("http://10.0.0.1", False),
    ],
)
def test_loopback_rule_for_plain_http(url: str, allowed: bool) -> None:
    if allowed:
        assert check_base_url(url, allow_insecure_http=False) == url
    else:
        with pytest.raises(ConfigError):
            check_base_url(url, allow_insecure_http=False)
        assert check_base_url(url, allow_insecure_http=True) == url


def test_invalid_limit_setting_is_usage_error(tmp_path: Path) -> None:
    timed = validate("http://127.0.0.1:9", TOKEN, tmp_path, REACH_DQ_MAX_BODY_BYTES="0")

    assert timed.run.exit_code == 2
    assert timed.run.stderr.strip() == (
        "reach-dq: error: invalid value for environment variable REACH_DQ_MAX_BODY_BYTES: Input "
        "should be greater than or equal to 1 (got '0')"
    )


class Recorder:
    """ASGI wrapper that records every raw request target.

    With ``redirect_to`` it also lists the hostile CompanyIds in user info beside C001 and C002,
    as a partner could, and redirects one path of C001 to ``redirect_to``.
    """

    def __init__(self, app: ASGIApp, redirect_to: str | None = None) -> None:
        self._app = app
        self.redirect_to = redirect_to
        self.targets: list[str] = []
        self.authorizations: list[bytes] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        query = scope.get("query_string", b"")
        self.targets.append(scope["raw_path"].decode("ascii") + (f"?{query.decode('ascii')}" if query else ""))
        self.authorizations.append(dict(scope["headers"]).get(b"authorization", b""))
        if self.redirect_to is not None and scope["path"] == REDIRECTED_PATH:
            response = ExactJSONResponse({"Message": "moved"}, status_code=302, headers={"Location": self.redirect_to})
            await response(scope, receive, send)
            return
        if self.redirect_to is not None and scope["path"] == "/oauth2/user-info":
            companies = [{"CompanyId": company_id, "CompanyName": "Listed"} for company_id in ("C001", "C002", *HOSTILE_IDS)]
            await ExactJSONResponse({"sub": "u", "Companies": companies})(scope, receive, send)
            return
        await self._app(scope, receive, send)


@dataclasses.dataclass(frozen=True)
class TargetsRun:
    timed: TimedRun
    partner: Recorder
    elsewhere: Recorder


@pytest.fixture(scope="module")
def targets_run(tmp_path_factory: pytest.TempPathFactory) -> TargetsRun:
    elsewhere = Recorder(ExactJSONResponse({"Message": "you should not be here"}, status_code=200))
    with serve_app(elsewhere) as elsewhere_url:
        partner = Recorder(partner_app(), redirect_to=f"{elsewhere_url}/collect")
        with serve_app(partner) as base_url:
            timed = validate(base_url, TOKEN, tmp_path_factory.mktemp("targets"))
    return TargetsRun(timed, partner, elsewhere)


def test_company_ids_encoded_into_one_segment(targets_run: TargetsRun) -> None:
    company_targets = {target.split("?")[0] for target in targets_run.partner.targets if target.startswith("/companies/")}
    encoded = {"..%2FC001", "a%2Fb", "C001%3Fx%3D1", "C001%23top", "%2E%2E", "%252e%252e"}
    assert {target.split("/")[2] for target in company_targets} == {"C001", "C002", *encoded}
    for company_id in encoded:
        assert f"/companies/{company_id}" in company_targets


def test_company_ids_never_change_target(targets_run: TargetsRun) -> None:
    for target in targets_run.partner.targets:
        path, _, query = target.partition("?")
        assert path == "/oauth2/user-info" or path.startswith("/companies/"), target
        assert "x=1" not in query, target
        assert path.count("/") <= 3, target  # /companies/{one segment}[/{operation}]


def test_hostile_company_ids_get_findings(targets_run: TargetsRun) -> None:
    run = targets_run.timed.run
    assert run.exit_code == 1, run.stderr[-3000:]
    failed = {finding["company_id"] for finding in findings_of(run, "reliability.operations") if finding["outcome"] == "failed"}
    assert set(HOSTILE_IDS) <= failed


def test_redirect_not_followed(targets_run: TargetsRun) -> None:
    assert targets_run.elsewhere.targets == []
    [classes] = [
        finding for finding in findings_of(targets_run.timed.run, "reliability.operations", company_id="C001")
        if finding["dataset"] == "classes"
    ]
    assert classes["outcome"] == "failed"
    assert "returned HTTP 302, expected 2xx: 'moved'" in classes["message"]


def test_stored_paths_are_encoded(targets_run: TargetsRun) -> None:
    with duckdb.connect(str(targets_run.timed.warehouse), read_only=True) as connection:
        paths = {row[0] for row in connection.execute("SELECT path FROM http_exchanges WHERE company_id = '../C001'").fetchall()}
    assert "/companies/..%2FC001" in paths
