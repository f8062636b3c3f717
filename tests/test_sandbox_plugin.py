"""The pytest plugin that users' own tests get: fixtures that give an offline Spotify."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import pytest

import spotkit
from spotkit.sandbox import Sandbox

pytest_plugins = ["pytester"]


def test_spotkit_env_points_spotkit_at_the_sandbox(spotkit_env: Sandbox) -> None:
    spotkit.login(open_browser=spotkit_env.browser, timeout=30)
    spotkit_env.set_playing(spotkit_env.track_uris[3], progress_ms=1000)
    record = spotkit.now_playing()
    assert record is not None
    assert record["item_uri"] == spotkit_env.track_uris[3]


def test_spotkit_env_logs_in_on_a_free_port_not_8888(spotkit_env: Sandbox) -> None:
    # 8888 is JupyterLab's default and other suites on the machine log in at the same time
    uri = urlsplit(os.environ["SPOTIFY_REDIRECT_URI"])
    assert (uri.scheme, uri.hostname, uri.path) == ("http", "127.0.0.1", "/callback")
    assert uri.port not in (None, 8888)
    token = spotkit.login(open_browser=spotkit_env.browser, timeout=30)
    assert token.access_token


def test_each_test_gets_a_fresh_sandbox_and_client(spotkit_env: Sandbox) -> None:
    # the shortcuts must not reuse the previous test's client (and its stopped sandbox)
    with pytest.raises(spotkit.LoginRequired):
        spotkit.now_playing()
    spotkit.login(open_browser=spotkit_env.browser, timeout=30)
    assert spotkit.me()["display_name"] == "Sandy Box"


@pytest.mark.parametrize("spotify_sandbox", [{"premium": False}], indirect=True)
def test_options_through_indirect_parametrization(spotkit_env: Sandbox) -> None:
    spotkit.login(open_browser=spotkit_env.browser, timeout=30)
    with pytest.raises(spotkit.PremiumRequired):
        spotkit.pause()


def test_a_users_test_file_gets_the_fixtures(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import spotkit

        def test_mine(spotkit_env):
            spotkit.login(open_browser=spotkit_env.browser, timeout=30)
            assert spotkit.me()["id"] == spotkit_env.user["id"]
    """)
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
