"""`spotkit playlist create NAME --from FILE` against the sandbox, and files it cannot use."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from fakes import seed_login

from spotkit.cli import main
from spotkit.sandbox import Sandbox


def _items(sb: Sandbox, playlist_name: str) -> list[str]:
    for p in sb.library()["playlists"]:
        if p["name"] == playlist_name:
            import requests

            token = sb.issue_token()["access_token"]
            page = requests.get(f"{sb.api_url}/playlists/{p['id']}/items?limit=50",
                                headers={"Authorization": f"Bearer {token}"}).json()
            return [e["item"]["uri"] for e in page["items"]]
    raise AssertionError(f"no playlist {playlist_name!r}")


@pytest.mark.parametrize("fmt", ["csv", "parquet", "json", "txt"])
def test_create_from_a_file(spotkit_env: Sandbox, tmp_path: Path, fmt: str,
                            capsys: pytest.CaptureFixture[str]) -> None:
    seed_login(spotkit_env)
    uris = spotkit_env.library()["unsaved_track_uris"][:7]
    path = tmp_path / f"items.{fmt}"
    frame = pd.DataFrame({"item_uri": uris, "name": [f"t{i}" for i in range(7)]})
    if fmt == "csv":
        frame.to_csv(path, index=False)
    elif fmt == "parquet":
        frame.to_parquet(path)
    elif fmt == "json":
        path.write_text(json.dumps(frame.to_dict("records")))
    else:
        path.write_text("# my picks\n" + "\n".join(uris) + "\n\n")
    assert main(["playlist", "create", f"Picks {fmt}", "--from", str(path)]) == 0
    assert f"Created playlist 'Picks {fmt}' with 7 items" in capsys.readouterr().out
    assert _items(spotkit_env, f"Picks {fmt}") == uris


@pytest.mark.parametrize(("content", "message"), [
    (b"\xff\xfe\x00garbage", "not a UTF-8 text file"),
    (b"Bohemian Rhapsody\n", "not a Spotify track id"),
    (b"", "holds no track or episode URIs"),
    (b"[1, 2", "cannot read"),
])
def test_files_it_cannot_use(spotkit_env: Sandbox, tmp_path: Path, content: bytes, message: str,
                             capsys: pytest.CaptureFixture[str]) -> None:
    seed_login(spotkit_env)
    path = tmp_path / ("items.json" if content.startswith(b"[") else "items.txt")
    path.write_bytes(content)
    assert main(["playlist", "create", "Never", "--from", str(path)]) == 1
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert not any(p["name"] == "Never" for p in spotkit_env.library()["playlists"])


def test_usage_mistakes(spotkit_env: Sandbox, tmp_path: Path,
                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["playlist", "create", "No file"]) == 2
    assert "--from FILE" in capsys.readouterr().err
    assert main(["playlist", "create", "a", "b", "--from", "x"]) == 2
    assert main(["playlist", "create", "x", "--from", str(tmp_path)]) == 1
    assert "is a folder" in capsys.readouterr().err
    assert main(["playlist", "create", "x", "--from", str(tmp_path / "missing.csv")]) == 1
    assert "does not exist" in capsys.readouterr().err
