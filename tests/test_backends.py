"""Two backends, one set of tools: which one serves, and what the direct Brex one says when it fails."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from brex_mcp.brex_direct import BrexDirectClient
from brex_mcp.config import ConfigError, settings_from_env
from brex_mcp.doctor import diagnose
from brex_mcp.errors import AuthenticationFailed, NotFound
from tests.conftest import settings_for

pytestmark = pytest.mark.anyio
TRUTO = {"TRUTO_API_TOKEN": "t", "TRUTO_INTEGRATED_ACCOUNT_ID": "a"}
BREX = {"BREX_API_TOKEN": "bxt_x"}


def test_a_truto_token_chooses_truto():
    assert settings_from_env(TRUTO).backend == "truto"


def test_a_brex_token_alone_chooses_the_direct_backend_at_brexs_host():
    settings = settings_from_env(BREX)
    assert (settings.backend, settings.upstream_url, settings.integrated_account_id) == (
        "brex",
        "https://api.brex.com",
        "brex-direct",
    )


def test_both_tokens_without_a_choice_are_refused_naming_the_switch():
    with pytest.raises(ConfigError, match="BREX_MCP_BACKEND=truto or BREX_MCP_BACKEND=brex"):
        settings_from_env({**TRUTO, **BREX})


@pytest.mark.parametrize("choice", ["truto", "brex"])
def test_the_switch_chooses_when_both_are_set(choice):
    assert settings_from_env({**TRUTO, **BREX, "BREX_MCP_BACKEND": choice}).backend == choice


def test_hosted_mode_needs_truto():
    with pytest.raises(ConfigError, match="needs the Truto backend"):
        settings_from_env({**BREX, "BREX_MCP_ALLOWED_ACCOUNTS": "a,b"})


def test_the_brex_base_url_must_be_https_off_loopback():
    with pytest.raises(ConfigError, match="BREX_BASE_URL must use https"):
        settings_from_env({**BREX, "BREX_BASE_URL": "http://brex.example"})


async def test_a_rejected_brex_token_says_to_make_a_new_one(sandbox):
    client = BrexDirectClient(settings_for(sandbox, backend="brex", brex_api_token=SecretStr("bxt_wrong")))
    with pytest.raises(AuthenticationFailed) as caught:
        await client.unified("/users")
    await client.aclose()
    assert caught.value.remote and "BREX_API_TOKEN" in caught.value.describe()


async def test_brex_errors_keep_their_code_and_trace_id(sandbox):
    client = BrexDirectClient(settings_for(sandbox, backend="brex"))
    with pytest.raises(NotFound) as caught:
        await client.unified("/users/cuuser_nope")
    await client.aclose()
    assert (caught.value.code, caught.value.status) == ("USER_NOT_FOUND", 404) and caught.value.trace_id


async def test_direct_requests_carry_the_brex_token_and_no_integrated_account(sandbox):
    client = BrexDirectClient(settings_for(sandbox, backend="brex"))
    await client.custom("GET", "/v2/company")
    await client.aclose()
    (record,) = sandbox.requests
    assert record.path == "/v2/company" and "integrated_account_id" not in record.query
    assert record.headers["authorization"] == f"Bearer {sandbox.brex_token}"


async def test_doctor_on_the_direct_backend_probes_brex_and_says_how_to_fix_a_token(sandbox):
    checks = await diagnose(settings_for(sandbox, backend="brex", brex_api_token=SecretStr("bxt_wrong")))
    assert checks[0].detail.startswith("direct Brex backend")
    failed = [c for c in checks if c.status == "fail"]
    assert failed and "BREX_API_TOKEN" in failed[0].next_steps[0]
