import pytest

from brex_mcp.config import ConfigError, settings_from_env


def test_missing_token_names_the_variable_and_the_sandbox():
    with pytest.raises(ConfigError, match=r"TRUTO_API_TOKEN is not set.*--sandbox"):
        settings_from_env({"TRUTO_INTEGRATED_ACCOUNT_ID": "acc"})


def test_missing_both_names_both():
    with pytest.raises(ConfigError, match="TRUTO_API_TOKEN and TRUTO_INTEGRATED_ACCOUNT_ID are not set"):
        settings_from_env({})


def test_cli_account_id_overrides_the_environment():
    settings = settings_from_env(
        {"TRUTO_API_TOKEN": "t", "TRUTO_INTEGRATED_ACCOUNT_ID": "env"}, integrated_account_id="cli"
    )
    assert settings.integrated_account_id == "cli"


def test_plain_http_is_refused_off_loopback():
    with pytest.raises(ConfigError, match="must use https"):
        settings_from_env({"TRUTO_API_TOKEN": "t", "TRUTO_INTEGRATED_ACCOUNT_ID": "a", "TRUTO_BASE_URL": "http://x.io"})


def test_plain_http_is_allowed_on_loopback():
    env = {"TRUTO_API_TOKEN": "t", "TRUTO_INTEGRATED_ACCOUNT_ID": "a", "TRUTO_BASE_URL": "http://127.0.0.1:9/"}
    assert settings_from_env(env).truto_base_url == "http://127.0.0.1:9"


def test_read_only_comes_from_the_environment():
    env = {"TRUTO_API_TOKEN": "t", "TRUTO_INTEGRATED_ACCOUNT_ID": "a", "BREX_MCP_READ_ONLY": "1"}
    assert settings_from_env(env).read_only is True


def test_token_is_not_in_the_settings_repr():
    settings = settings_from_env({"TRUTO_API_TOKEN": "sekrit-token", "TRUTO_INTEGRATED_ACCOUNT_ID": "a"})
    assert "sekrit-token" not in repr(settings) and "sekrit-token" not in str(settings.model_dump())
