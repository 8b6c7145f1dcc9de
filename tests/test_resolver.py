"""Resolver basics: answers from memory, plain-data status, errors at construction, lifecycle."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time

import pytest
from resolver_helpers import CATALOG, POLICIES, model

import policyeng
from policyeng import CatalogError, NoMatch, PolicyError, Resolver
from policyeng.errors import UsageError


@pytest.fixture
def policies(write):
    return write("policies/main.yaml", POLICIES)


@pytest.fixture
def catalog_file(write_catalog):
    return str(write_catalog(CATALOG))


def test_selects_by_name_and_by_expression(policies, catalog_file):
    with Resolver(policies, catalog=catalog_file) as resolver:
        chat = resolver.select("chat")
        assert (chat.model_name, chat.endpoint, chat.policy, chat.via) == (
            "a",
            "/v1/chat/completions",
            "chat",
            None,
        )
        assert resolver.select("supports chat order by output_per_mtok desc").model_name == "c"
        assert (chat.stale, chat.degraded) == (False, False)


def test_a_selection_is_memoized_until_the_state_changes(policies, catalog_file):
    with Resolver(policies, catalog=catalog_file) as resolver:
        first = resolver.select("chat")
        assert resolver.select("chat") is first
        resolver.refresh()
        again = resolver.select("chat")
        assert again is not first and again.model_name == "a"


def test_select_does_no_io_after_start(policies, catalog_file, monkeypatch):
    with Resolver(policies, catalog=catalog_file) as resolver:
        resolver.select("chat")

        def no_io(*args, **kwargs):
            raise AssertionError("select() did I/O")

        monkeypatch.setattr("builtins.open", no_io)
        monkeypatch.setattr("policyeng.runtime.resolver.load_catalog", no_io)
        assert resolver.select("chat").model_name == "a"
        assert resolver.select("backup").model_name == "e"  # computed, still from memory


def test_url_and_base_url_name_the_provider_for_files_and_builtin(policies, catalog_file):
    with Resolver(policies, catalog=catalog_file) as resolver:
        selection = resolver.select("chat")
    assert selection.url == "https://tokens.flex.ai/v1/chat/completions"
    assert selection.base_url == "https://tokens.flex.ai/v1"
    assert policyeng.select("supports chat", "builtin").base_url == "https://tokens.flex.ai/v1"


def test_status_is_plain_data_in_the_documented_shape(policies, catalog_file):
    with Resolver(policies, catalog=catalog_file) as resolver:
        status = resolver.status()
    assert json.loads(json.dumps(status)) == status
    assert set(status) == {
        "state",
        "catalog",
        "last_refresh_at",
        "last_error",
        "refreshes",
        "refresh_failures",
        "open",
    }
    assert set(status["catalog"]) == {"source", "sha256", "fetched_at", "age_s", "stale", "models"}
    assert status["state"] == "ready"
    assert status["catalog"]["source"] == catalog_file
    assert status["catalog"]["models"] == 4
    assert (status["refreshes"], status["refresh_failures"], status["open"]) == (0, 0, [])


def test_unknown_policy_name_says_did_you_mean(policies, catalog_file):
    with Resolver(policies, catalog=catalog_file) as resolver:
        with pytest.raises(PolicyError) as info:
            resolver.select("chta")
    assert info.value.kind == "unknown-policy"
    assert "no policy named 'chta'; did you mean 'chat'?" in str(info.value)


def test_a_bad_expression_is_the_usual_policy_error(catalog_file):
    with Resolver(None, catalog=catalog_file) as resolver:
        with pytest.raises(PolicyError) as info:
            resolver.select("supports chat and")
    assert info.value.kind == "syntax"


def test_a_name_without_policy_files_hints_that_names_need_them(catalog_file):
    with Resolver(None, catalog=catalog_file) as resolver:
        with pytest.raises(PolicyError) as info:
            resolver.select("support-chat")
        assert "names need policy files" in str(info.value.hint)
        assert '`Resolver("policies/")`' in str(info.value)
        with pytest.raises(PolicyError) as info:
            resolver.select("supports chat and")
        assert "policy files" not in str(info.value.hint)


def test_no_match_is_raised_each_time_with_the_funnel(catalog_file):
    with Resolver(None, catalog=catalog_file) as resolver:
        for _ in range(2):
            with pytest.raises(NoMatch) as info:
                resolver.select("supports vision")
            assert "no model matches" in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"refresh": 0}, "refresh is a number of seconds greater than 0, not 0"),
        ({"refresh": -5}, "refresh is a number of seconds greater than 0, not -5"),
        ({"refresh": float("inf")}, "refresh is a number of seconds greater than 0, not inf"),
        ({"max_stale": 0}, "max_stale is a number of seconds greater than 0, not 0"),
        ({"cooldown": -1}, "cooldown is a number of seconds, 0 or more, not -1"),
        ({"allowed_fails": -2}, "allowed_fails is a whole number, 0 or more, not -2"),
    ],
)
def test_invalid_arguments_fail_at_construction(policies, kwargs, message):
    with pytest.raises(ValueError) as info:
        Resolver(policies, catalog="builtin", **kwargs)
    assert str(info.value) == message


def test_a_bad_lock_fails_at_construction(policies, write):
    bad = write("policies.lock", "{not json")
    with pytest.raises(PolicyError) as info:
        Resolver(policies, catalog="builtin", lock=bad)
    assert info.value.kind == "lock"
    with pytest.raises(PolicyError, match="lock file not found"):
        Resolver(policies, catalog="builtin", lock=bad + ".missing")


def test_a_bad_policy_file_fails_at_construction(write):
    bad = write("bad.yaml", "version: 1\npolicies:\n  x:\n    where: supports chat and\n")
    with pytest.raises(PolicyError) as info:
        Resolver(bad, catalog="builtin")
    assert info.value.line == 4


def test_no_catalog_at_all_fails_start(policies, tmp_path):
    resolver = Resolver(policies, catalog=str(tmp_path / "missing.json"))
    with pytest.raises(CatalogError, match="file not found"):
        resolver.start()


def test_use_before_start_and_after_close_is_a_clear_error(policies, catalog_file):
    resolver = Resolver(policies, catalog=catalog_file)
    with pytest.raises(UsageError, match="not started"):
        resolver.select("chat")
    resolver.start()
    resolver.close()
    resolver.close()  # idempotent
    for use in (
        lambda: resolver.select("chat"),
        resolver.refresh,
        resolver.start,
        lambda: resolver.report_failure("a"),
        lambda: resolver.on_change(print),
    ):
        with pytest.raises(UsageError, match="this Resolver is closed; create a new one"):
            use()


def test_close_joins_the_refresh_thread(policies, catalog_file):
    resolver = Resolver(policies, catalog=catalog_file).start()
    thread = resolver._thread
    assert thread is not None and thread.is_alive() and thread.daemon
    resolver.close()
    assert not thread.is_alive()


def test_async_with_does_not_block_the_loop(policies, catalog_file):
    """The first load runs off the loop; selects inside coroutines answer from memory."""

    async def main() -> tuple[float, str]:
        stalls = []

        async def ticker() -> None:
            last = time.perf_counter()
            while True:
                await asyncio.sleep(0.001)
                now = time.perf_counter()
                stalls.append(now - last - 0.001)
                last = now

        ticking = asyncio.create_task(ticker())
        await asyncio.sleep(0.01)
        async with Resolver(policies, catalog=catalog_file) as resolver:
            names = set()
            for _ in range(2000):
                names.add(resolver.select("chat").model_name)
                await asyncio.sleep(0)
        ticking.cancel()
        return max(stalls), names.pop()

    worst, name = asyncio.run(main())
    assert name == "a"
    assert worst < 0.25, f"the event loop stalled for {worst * 1000:.0f} ms"


def test_change_events_are_logged_on_the_policyeng_logger(policies, write_catalog, caplog):
    path = write_catalog(CATALOG)
    with Resolver(policies, catalog=str(path)) as resolver:
        resolver.select("chat")
        path.write_text(json.dumps([model("b", 2), model("c", 3)]))
        with caplog.at_level(logging.INFO, logger="policyeng"):
            resolver.refresh()
    assert (
        "pick changed: policy 'chat': a -> b (removed: a is no longer in the catalog)"
        in caplog.text
    )


def test_a_catalog_object_is_used_as_it_is(policies):
    catalog = policyeng.Catalog.from_entries(CATALOG)
    with Resolver(policies, catalog=catalog) as resolver:
        assert resolver.select("chat").catalog_ref is catalog
        assert resolver.next_refresh_in is None
        assert resolver.refresh()["state"] == "ready"


def test_sixteen_threads_get_the_same_memoized_answer(policies, catalog_file):
    with Resolver(policies, catalog=catalog_file) as resolver:
        seen: list[str] = []
        errors: list[BaseException] = []

        def work() -> None:
            try:
                for _ in range(500):
                    seen.append(resolver.select("chat").model_name)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert not errors
    assert set(seen) == {"a"} and len(seen) == 16 * 500


FORK_SCRIPT = r"""
import json, os, sys, warnings
warnings.simplefilter("ignore", DeprecationWarning)  # fork() with threads, on purpose
import policyeng
path, policies = sys.argv[1], sys.argv[2]
resolver = policyeng.Resolver(policies, catalog=path).start()
parent_thread = resolver._thread
pid = os.fork()
if pid == 0:
    try:
        alive = resolver._thread is not parent_thread and resolver._thread.is_alive()
        with open(path, "w") as f:
            json.dump([{"model_name": "z", "category": "text", "supports": ["chat"],
                        "health_status": "healthy", "output_per_mtok": 0}], f)
        status = resolver.refresh()
        print(json.dumps({"alive": alive, "pick": resolver.select("chat").model_name,
                          "refreshes": status["refreshes"]}), flush=True)
        resolver.close()
    finally:
        os._exit(0)
os.waitpid(pid, 0)
print(json.dumps({"parent": resolver.select("chat").model_name}))
resolver.close()
"""


def test_a_forked_child_gets_its_own_refresh_thread(policies, catalog_file):
    import subprocess
    import sys

    from conftest import IMPORTED_FROM

    result = subprocess.run(
        [sys.executable, "-c", FORK_SCRIPT, catalog_file, policies],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": IMPORTED_FROM, "POLICYENG_CATALOG": "builtin"},
    )
    assert result.returncode == 0, result.stderr
    child, parent = (json.loads(line) for line in result.stdout.splitlines())
    assert child == {"alive": True, "pick": "z", "refreshes": 1}
    assert parent == {"parent": "a"}  # the parent's memo is its own


@pytest.mark.parametrize("bad", [None, 5, ["chat"], {"policy": "chat"}])
def test_select_of_something_not_text_is_a_clear_type_error(policies, catalog_file, bad):
    with Resolver(policies, catalog=catalog_file) as resolver:
        with pytest.raises(TypeError) as info:
            resolver.select(bad)
    assert str(info.value) == (
        f"select() takes a policy name or expression (str), not {type(bad).__name__}"
    )
