"""A catalog file named anywhere (--catalog, POLICYENG_CATALOG, `catalog:`) must exist and
be valid; only a URL that cannot be had falls back to builtin, in one warning line."""

from __future__ import annotations

import re

import pytest
from catalog_server import reply
from conftest import AGE, run_cli

from policyeng import load_catalog
from policyeng.errors import CatalogError, CatalogWarning

HINT = "hint: a catalog source is `builtin`, a path to a JSON file, or an http(s):// URL\n"


@pytest.mark.parametrize("where", ["--catalog", "POLICYENG_CATALOG"])
def test_a_mistyped_builtin_exits_3_wherever_it_is_named(where):
    options = ["--catalog", "buildin"] if where == "--catalog" else []
    done = run_cli("select", "supports chat", *options, env={"POLICYENG_CATALOG": "buildin"})
    assert (done.returncode, done.stdout) == (3, "")
    assert done.stderr == (
        "policyeng: catalog buildin: file not found; did you mean 'builtin'?\n" + HINT
    )


@pytest.mark.parametrize("given", ["BUILTIN", " builtin", "Builtin\n", "BUILDIN"])
def test_builtin_is_suggested_whatever_its_case_or_surrounding_spaces(given):
    done = run_cli("select", "supports chat", env={"POLICYENG_CATALOG": given})
    assert (done.returncode, done.stdout) == (3, "")
    assert "file not found; did you mean 'builtin'?\n" in done.stderr


def test_a_missing_file_in_the_environment_is_an_error_not_a_fallback(tmp_path):
    missing = str(tmp_path / "catalog.json")
    done = run_cli("select", "supports chat", env={"POLICYENG_CATALOG": missing})
    assert (done.returncode, done.stdout) == (3, "")
    assert done.stderr == f"policyeng: catalog {missing}: file not found\n" + HINT


def test_an_invalid_file_in_a_policy_files_catalog_key_exits_3(tmp_path):
    (tmp_path / "broken.json").write_text("{not json")
    (tmp_path / "p.yaml").write_text(
        "version: 1\ncatalog: broken.json\npolicies:\n  chat: {where: supports chat}\n"
    )
    done = run_cli("select", "-f", str(tmp_path / "p.yaml"), "chat", env={"POLICYENG_CATALOG": ""})
    assert (done.returncode, done.stdout) == (3, "")
    assert done.stderr == (
        f"policyeng: catalog {tmp_path / 'broken.json'}: invalid JSON at "
        "line 1, column 2: Expecting property name enclosed in double "
        "quotes\n"
    )


def test_load_catalog_raises_for_a_missing_file_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("POLICYENG_CATALOG", str(tmp_path / "nope.json"))
    with pytest.raises(CatalogError) as caught:
        load_catalog()
    assert caught.value.message == "file not found"


def test_a_name_far_from_builtin_gets_no_suggestion(tmp_path):
    with pytest.raises(CatalogError) as caught:
        load_catalog("models.json")
    assert caught.value.message == "file not found"


def test_an_unusable_url_still_falls_back_in_one_line_even_with_a_hint(server, monkeypatch):
    # --strict on a body with an invalid entry: an error whose message spans lines and
    # carries a hint; the fall-back warning must still be one line.
    server.script("/api/models", reply(200, [{"model_name": "x", "category": 7}]))
    monkeypatch.setenv("POLICYENG_CATALOG", server.url())
    with pytest.warns(CatalogWarning) as caught:
        catalog = load_catalog(strict=True)
    assert catalog.source == "builtin" and catalog.stale
    [warning] = [str(w.message) for w in caught]
    assert "\n" not in warning and "hint" not in warning
    assert re.fullmatch(
        rf"catalog {re.escape(server.url())}: 1 invalid entry \(strict mode\)"
        rf"; using builtin \(snapshot of 2026-11-20, {AGE} old\)",
        warning,
    )


# --- a source with no usable entry is unusable (exit 3), not "no model matches" ---------------


def test_an_empty_catalog_file_exits_3(write_catalog):
    path = write_catalog([])
    done = run_cli("select", "supports chat", "--catalog", str(path))
    assert (done.returncode, done.stdout) == (3, "")
    assert done.stderr == f"policyeng: catalog {path}: holds no models\n"


def test_a_catalog_file_of_only_invalid_entries_exits_3_without_a_flood(write_catalog):
    path = write_catalog(
        [{"model_name": ""}, {"supports": "chat"}, {"model_name": "x", "category": 7}]
    )
    done = run_cli("catalog", "--catalog", str(path))
    assert (done.returncode, done.stdout) == (3, "")
    assert done.stderr == (
        f"policyeng: catalog {path}: holds no valid model entries "
        "(3 invalid)\nhint: --strict (strict=True) lists why each entry is "
        "invalid\n"
    )


def test_an_empty_builtin_is_a_catalog_error(monkeypatch, tmp_path):
    import policyeng.catalog.sources as catalog_module

    (tmp_path / "builtin.json").write_text("[]")
    (tmp_path / "builtin.meta.json").write_text('{"date": "2026-11-20", "sha256": "0"}')
    monkeypatch.setattr(catalog_module, "BUILTIN_PATH", tmp_path / "builtin.json")
    monkeypatch.setattr(catalog_module, "BUILTIN_META_PATH", tmp_path / "builtin.meta.json")
    with pytest.raises(CatalogError) as caught:
        load_catalog("builtin")
    assert str(caught.value) == "catalog builtin: holds no models"


def test_an_empty_catalog_in_memory_is_still_allowed():
    from policyeng.catalog import Catalog

    assert len(Catalog.from_entries([])) == 0


def test_a_fifo_or_a_device_as_the_catalog_is_refused(tmp_path):
    import os

    fifo = tmp_path / "models.json"
    os.mkfifo(fifo)
    for source in (str(fifo), "/dev/zero"):
        with pytest.raises(CatalogError, match="not a regular file"):
            load_catalog(source)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("http://xn--/x", "not a valid URL: Malformed A-label"),
        ("", "the catalog source is empty"),
    ],
)
def test_a_source_that_names_nothing_usable_is_a_catalog_error(source, message):
    with pytest.raises(CatalogError, match=message):
        load_catalog(source)


def test_url_schemes_are_case_insensitive():
    from policyeng.catalog.sources import is_url

    assert is_url("HTTPS://tokens.flex.ai/api/models") and not is_url("models.json")


def test_an_unclear_offline_setting_is_a_usage_error(monkeypatch):
    from policyeng.errors import UsageError

    monkeypatch.setenv("POLICYENG_OFFLINE", "maybe")
    with pytest.raises(UsageError, match="POLICYENG_OFFLINE='maybe': use 1, true, yes or on"):
        load_catalog("builtin")
    monkeypatch.setenv("POLICYENG_OFFLINE", "off")
    assert len(load_catalog("builtin")) == 55


def test_a_catalog_file_over_the_size_limit_exits_3_before_reading_it_all(
    write_catalog, monkeypatch
):
    import policyeng.catalog.sources as sources

    path = write_catalog([{"model_name": f"m{i}", "category": "text"} for i in range(50)])
    monkeypatch.setattr(sources, "MAX_CATALOG_FILE_BYTES", 1024)
    with pytest.raises(
        CatalogError, match=r"is over 1,024 bytes, the most a catalog file may hold"
    ):
        load_catalog(str(path))
    monkeypatch.setattr(sources, "MAX_CATALOG_FILE_BYTES", 10 * 1024 * 1024)
    assert len(load_catalog(str(path))) == 50
