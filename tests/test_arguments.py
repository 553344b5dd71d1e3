"""Every argument is checked, with a typed error that names it, before anything is sent.

Client options and retry policies, a profile's ``[client]`` table, NaN and infinities
in inputs and outputs, tokens with control characters, provider names that are not
strings, tampered cursors (and cursors from another process, which must work), a
``RunRequest`` mixed with keywords; and two transport limits: a certificate that cannot
be verified is a ``TLSError`` tried once, and concurrent response bodies share one
memory budget.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import math
import shutil
import ssl
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web

import runbridge
import runbridge.cli
from runbridge import (
    ClientOptions,
    ConfigError,
    InvalidRequest,
    Profile,
    ResponseError,
    RetryPolicy,
    RunRequest,
    RunUpdate,
    TLSError,
)
from runbridge.testing import emulated_client, testing_options
from runbridge_cyberdesk.emulator import CyberdeskEmulator
from support import tamper

NAN, INF = math.nan, math.inf

# -- client options and retry policies ------------------------------------------------------

BAD_OPTIONS: list[tuple[str, Any]] = [
    ("timeout", 0),
    ("timeout", -1.0),
    ("timeout", NAN),
    ("timeout", INF),
    ("timeout", "30"),
    ("connect_timeout", 0.0),
    ("deadline", -INF),
    ("deadline", True),
    ("max_connections", -5),
    ("max_connections", 0),
    ("max_connections", 2.5),
    ("max_connections_per_host", -1),
    ("max_body_bytes", 0),
    ("max_inflight_body_bytes", -1),
    ("retry", 3),
    ("allow_insecure_http", "yes"),
]


@pytest.mark.parametrize(("field", "value"), BAD_OPTIONS)
def test_bad_client_options_are_refused_by_name(field: str, value: Any) -> None:
    with pytest.raises(ConfigError) as caught:
        ClientOptions(**{field: value})
    assert caught.value.field == field


BAD_POLICIES: list[tuple[str, Any]] = [
    ("attempts", 0),
    ("attempts", 1.5),
    ("base_delay", -0.1),
    ("base_delay", NAN),
    ("max_delay", INF),
    ("statuses", {500, "503"}),
    ("statuses", frozenset({99})),
    ("wait", 0),
]


@pytest.mark.parametrize(("field", "value"), BAD_POLICIES)
def test_bad_retry_policies_are_refused_by_name(field: str, value: Any) -> None:
    with pytest.raises(ConfigError) as caught:
        RetryPolicy(**{field: value})
    assert caught.value.field == f"retry.{field}"


def test_good_options_still_build() -> None:
    options = ClientOptions(timeout=1, deadline=2.5, max_connections_per_host=0)
    assert options.max_inflight_body_bytes == 64 * 1024 * 1024
    assert RetryPolicy(statuses={503}).statuses == frozenset({503})


@pytest.mark.parametrize(
    ("key", "value"),
    [("timeout", '"30"'), ("deadline", "0"), ("max_connections", "-5"), ("timeout", "nan")],
)
def test_a_bad_client_value_in_a_profile_names_its_key(
    tmp_path: Path, key: str, value: str
) -> None:
    path = tmp_path / "runbridge.toml"
    path.write_text(
        f'[profiles.p]\nprovider = "cyberdesk"\ntoken_env = "T"\n[profiles.p.client]\n'
        f"{key} = {value}\n"
    )
    with pytest.raises(ConfigError) as caught:
        runbridge.load_config(path)
    assert caught.value.field == f"profiles.p.client.{key}"
    # A Profile built in code gets the same check when it is connected.
    profile = Profile("q", "cyberdesk", "T", client={key: orjson.loads(value.replace("nan", "0"))})
    with pytest.raises(ConfigError) as caught:
        runbridge.connect(profile=profile, environ={"T": "token"})
    assert caught.value.field == f"profiles.q.client.{key}"


# -- NaN and infinities --------------------------------------------------------------------


@pytest.mark.parametrize("value", [NAN, INF, -INF])
def test_nan_and_infinities_in_requests_and_updates_are_refused(value: float) -> None:
    nested = {"a": [1, {"b": value}]}
    for build, field in [
        (lambda: RunRequest(target="t", inputs=nested), "inputs"),
        (lambda: RunRequest(target="t", secrets={"pin": value}), "secrets"),
        (lambda: RunUpdate(outputs=nested), "outputs"),
        (lambda: RunUpdate(inputs={"x": value}), "inputs"),
    ]:
        with pytest.raises(InvalidRequest) as caught:
            build()
        assert caught.value.field == field


async def test_nan_inputs_never_reach_the_wire(provider: str) -> None:
    async with emulated_client(provider) as (client, emulator):
        seen = len(emulator.log)
        with pytest.raises(InvalidRequest) as caught:
            await client.create(emulator.default_target, inputs={"amount": NAN})
        assert caught.value.field == "inputs"
        assert caught.value.provider == provider
        assert len(emulator.log) == seen


# -- connect: tokens and provider names ----------------------------------------------------


@pytest.mark.parametrize(
    "token", ["Qv7Lp\r\nX-Injected: 1", "Qv7Lp\n", "Qv\x00Lp", "Qv7Lp\x7f", "\tQv7Lp"]
)
def test_a_token_with_control_characters_is_refused_without_echo(token: str) -> None:
    with pytest.raises(ConfigError) as caught:
        runbridge.connect("cyberdesk", token=token)
    assert caught.value.field == "token"
    assert "Qv" not in str(caught.value) and "Qv" not in repr(caught.value.args)


@pytest.mark.parametrize("provider", [123, b"cyberdesk", ["cyberdesk"]])
def test_a_provider_name_that_is_not_a_string_is_refused(provider: Any) -> None:
    with pytest.raises(ConfigError) as caught:
        runbridge.connect(provider, token="t")
    assert caught.value.field == "provider"
    with pytest.raises(ConfigError):
        runbridge.connect(provider)


def test_options_of_the_wrong_type_are_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        runbridge.connect("cyberdesk", token="t", options={"timeout": 5})  # type: ignore[arg-type]
    assert caught.value.field == "options"


# -- cursors -------------------------------------------------------------------------------

_OTHER_PROCESS = """
import asyncio, sys
import runbridge
from runbridge.testing import testing_options

async def main():
    options = testing_options()
    async with runbridge.connect("cyberdesk", token=sys.argv[1], base_url=sys.argv[2],
                                 options=options) as client:
        print((await client.list_page(page_size=2)).next_cursor)

asyncio.run(main())
"""


async def _listed(count: int) -> Any:
    emulator = CyberdeskEmulator()
    context = emulated_client("cyberdesk", emulator=emulator)
    client, _ = await context.__aenter__()
    for _ in range(count):
        await client.create(emulator.default_target)
    return client, emulator, context


async def test_a_cursor_from_another_process_with_the_same_credentials_is_accepted() -> None:
    client, emulator, context = await _listed(5)
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", _OTHER_PROCESS, emulator.token, client.base_url,
            stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, _ = await proc.communicate()
        assert proc.returncode == 0
        cursor = out.decode().strip()
        ours = (await client.list_page(page_size=2)).next_cursor
        assert cursor == ours  # the same listing, the same signed cursor
        page = await client.list_page(page_size=2, cursor=cursor)
        assert len(page.items) == 2
    finally:
        await context.__aexit__(None, None, None)


async def test_a_tampered_cursor_is_refused_before_the_wire() -> None:
    client, emulator, context = await _listed(3)
    try:
        cursor = (await client.list_page(page_size=1)).next_cursor
        assert cursor is not None
        payload, _, mac = cursor.partition(".")
        forged = [tamper(cursor), f"{payload}.{mac[::-1]}", payload, f"{payload}.", cursor + "A"]
        seen = len(emulator.log)
        for bad in forged:
            with pytest.raises(InvalidRequest) as caught:
                await client.list_page(cursor=bad)
            assert caught.value.field == "cursor" and caught.value.status is None
            with pytest.raises(InvalidRequest) as caught:
                await client.list(cursor=bad).collect()
            assert caught.value.field == "cursor"
        assert len(emulator.log) == seen
    finally:
        await context.__aexit__(None, None, None)


async def test_a_cursor_is_refused_by_a_client_with_other_credentials() -> None:
    client, _, context = await _listed(3)
    try:
        cursor = (await client.list_page(page_size=1)).next_cursor
        other = runbridge.connect(
            "cyberdesk", token="another-token", base_url=client.base_url, options=testing_options()
        )
        async with other:
            with pytest.raises(InvalidRequest) as caught:
                await other.list_page(cursor=cursor)
        assert caught.value.field == "cursor" and "credentials" in str(caught.value)
    finally:
        await context.__aexit__(None, None, None)


# -- a RunRequest mixed with keywords --------------------------------------------------------


@pytest.mark.parametrize(
    ("keywords", "field"),
    [
        ({"inputs": {"a": 1}}, "inputs"),
        ({"inputs": {}}, "inputs"),
        ({"name": "n"}, "name"),
        ({"secrets": {"p": "x"}}, "secrets"),
        ({"files": [runbridge.File("f.txt", content=b"x")]}, "files"),
        ({"machine_id": "m"}, "machine_id"),
    ],
)
async def test_a_run_request_with_keywords_is_refused(keywords: dict[str, Any], field: str) -> None:
    async with emulated_client("cyberdesk") as (client, emulator):
        seen = len(emulator.log)
        request = RunRequest(target=emulator.default_target)
        with pytest.raises(InvalidRequest) as caught:
            await client.create(request, **keywords)
        assert caught.value.field == field and caught.value.operation == "create"
        assert len(emulator.log) == seen


async def test_files_that_are_not_a_sequence_of_files_are_refused() -> None:
    async with emulated_client("cyberdesk") as (client, emulator):
        seen = len(emulator.log)
        for files in (5, "f.txt", [b"x"]):
            with pytest.raises(InvalidRequest) as caught:
                await client.create(emulator.default_target, files=files)
            assert caught.value.field == "files"
        assert len(emulator.log) == seen


# -- TLS -------------------------------------------------------------------------------------


def _self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, signed by nobody a client trusts."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
    except ImportError:
        openssl = shutil.which("openssl")
        assert openssl, "this test needs the cryptography package or the openssl command"
        subprocess.run(
            [
                openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2",
                "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            ],
            check=True,
            capture_output=True,
        )  # fmt: skip
        return cert, key
    import datetime
    import ipaddress

    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(private, hashes.SHA256())
    )
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert, key


async def test_a_certificate_failure_is_a_tls_error_and_is_not_retried(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    connections = 0

    async def handshake(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        with contextlib.suppress(ssl.SSLError, OSError):  # the client refuses the certificate
            await writer.start_tls(context)
        writer.close()

    server = await asyncio.start_server(handshake, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    options = testing_options(retry=RetryPolicy.testing(attempts=5))
    try:
        async with runbridge.connect(
            "cyberdesk", token="t", base_url=f"https://127.0.0.1:{port}", options=options
        ) as client:
            with pytest.raises(TLSError) as caught:
                await client.get("cyberdesk:3c90c3cc-0d44-4b50-8888-8dd25736052a")
    finally:
        server.close()
        await server.wait_closed()
    assert (caught.value.provider, caught.value.operation) == ("cyberdesk", "get")
    assert "certificate" in str(caught.value)
    assert caught.value.__context__ is None and caught.value.__cause__ is None
    assert connections == 1


# -- one memory budget for concurrent bodies -------------------------------------------------

MIB = 1024 * 1024


class LargeAnswers(CyberdeskEmulator):
    """Cyberdesk whose run reads answer ``large`` (gzip-compressed when ``compress``)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.large: bytes | None = None
        self.compress = False

    def middlewares(self) -> list[Any]:
        return [*super().middlewares(), self._large]

    @web.middleware
    async def _large(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if self.large is None or request.method != "GET" or request.path == "/v1/runs":
            response: web.StreamResponse = await handler(request)
            return response
        if self.compress:
            headers = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
            return web.Response(body=gzip.compress(self.large, 1), headers=headers)
        return web.Response(body=self.large, content_type="application/json")


@pytest.mark.parametrize("compress", [False, True], ids=["content-length", "gzip"])
async def test_eight_large_bodies_at_once_stay_within_the_budget(compress: bool) -> None:
    emulator = LargeAnswers()
    options = testing_options(max_inflight_body_bytes=10 * MIB, max_body_bytes=6 * MIB)
    async with emulated_client("cyberdesk", emulator=emulator, options=options) as (client, _):
        run = await client.create(emulator.default_target)
        emulator.large = orjson.dumps({**run.raw, "padding": "x" * (4 * MIB)})
        emulator.compress = compress
        runs = await asyncio.gather(*(client.get(run.ref) for _ in range(8)))
        budget = client._channel.http.budget  # the budget's own accounting
        assert budget.used == 0
        assert 4 * MIB <= budget.peak <= 10 * MIB
        # A body larger than the cap (compressed or not) is refused, and gives its room back.
        emulator.large = orjson.dumps({**run.raw, "padding": "x" * (7 * MIB)})
        with pytest.raises(ResponseError) as caught:
            await client.get(run.ref)
        assert "cap" in str(caught.value)
        assert budget.used == 0
    assert all(len(r.raw["padding"]) == 4 * MIB for r in runs)


def test_a_body_larger_than_the_budget_is_refused_even_under_the_body_cap() -> None:
    options = ClientOptions(max_inflight_body_bytes=MIB, max_body_bytes=32 * MIB)
    client = runbridge.connect("cyberdesk", token="t", options=options)
    assert client._channel.http.budget.largest == MIB


# -- the command line ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("client_table", "token", "words"),
    [
        ('timeout = "30"', "good-token", "profiles.p.client.timeout"),
        ("max_connections = -5", "good-token", "profiles.p.client.max_connections"),
        ("timeout = 30", "bad-token\r\n", "control character"),
    ],
)
def test_the_command_line_prints_one_line_and_exits_2(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    client_table: str,
    token: str,
    words: str,
) -> None:
    path = tmp_path / "runbridge.toml"
    path.write_text(
        '[profiles.p]\nprovider = "cyberdesk"\ntoken_env = "RB_T"\n'
        f'base_url = "http://127.0.0.1:9"\n[profiles.p.client]\n{client_table}\n'
    )
    monkeypatch.setenv("RB_T", token)
    code = runbridge.cli.main(
        [
            "--config",
            str(path),
            "--profile",
            "p",
            "get",
            "cyberdesk:3c90c3cc-0d44-4b50-8888-8dd25736052a",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.splitlines()) == 1 and err.startswith("runbridge: error: ")
    assert words in err and "Traceback" not in err and "bad-token" not in err
