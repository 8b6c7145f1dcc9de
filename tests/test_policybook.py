"""The policy book: what a loaded file gives a deployment, and how fallbacks resolve."""

from __future__ import annotations

import pytest

import policyeng
from policyeng import NoMatch, PolicyError, load_policies
from policyeng.policies.check import check_book, expectation_failures


def entry(name: str, **fields) -> dict:
    return {
        "model_name": name,
        "category": "text",
        "supports": ["chat"],
        "health_status": "healthy",
        **fields,
    }


CATALOG = policyeng.Catalog.from_entries(
    [
        entry("alpha", output_per_mtok=2.0, context_window=8000),
        entry("beta", output_per_mtok=0.5, context_window=32000),
        entry("gamma", output_per_mtok=0.5, context_window=128000),
        entry("delta", category="embedding", supports=["embeddings"], input_per_mtok=0.01),
    ]
)

BOOK_TEXT = """
    # yaml-language-server: $schema=../schemas/policy.schema.json
    version: 1
    policies:
      cheap-chat:
        description: Cheapest chat model
        where: supports chat and output_per_mtok < 1
        order_by: [output_per_mtok, context_window desc]
        expect:
          min_candidates: 2
      impossible:
        where: output_per_mtok < 0
        fallback: [also-impossible, cheap-chat, any]
      also-impossible:
        where: context_window > 1M
        fallback: any
      any:
        where: supports chat
"""


@pytest.fixture
def book(write):
    return load_policies(write("book.yaml", BOOK_TEXT))


def test_book_exposes_each_policy_parts(book):
    assert book.names == ["cheap-chat", "impossible", "also-impossible", "any"]
    policy = book["cheap-chat"]
    assert policy.where == "supports chat and output_per_mtok < 1"
    assert policy.order_by == ("output_per_mtok", "context_window desc")
    assert policy.fallback == ()
    assert policy.expect == {"min_candidates": 2}
    assert policy.description == "Cheapest chat model"
    assert policy.expression.text == (
        "supports chat and output_per_mtok < 1 order by output_per_mtok, context_window desc"
    )
    assert (policy.line, policy.column) == (4, 3)
    assert book["impossible"].fallback == ("also-impossible", "cheap-chat", "any")
    assert book["also-impossible"].fallback == ("any",)


def test_select_by_name_uses_the_ranking(book):
    selection = book.select("cheap-chat", CATALOG)
    assert (selection.model_name, selection.policy, selection.via) == ("gamma", "cheap-chat", None)
    assert [e["model_name"] for e in selection.candidates] == ["gamma", "beta"]


def test_fallbacks_are_tried_in_order_depth_first(book):
    assert book.chain("impossible") == ["impossible", "also-impossible", "any", "cheap-chat"]
    selection = book.select("impossible", CATALOG)
    # also-impossible's own fallback `any` comes before impossible's next one, cheap-chat.
    assert (selection.model_name, selection.via, selection.policy) == ("alpha", "any", "impossible")
    assert selection.to_dict()["via"] == "any"


def test_attempts_list_each_try_with_its_selection_or_no_match(book):
    attempts = book.attempts("impossible", CATALOG)
    assert [(a.name, a.resolved) for a in attempts] == [
        ("impossible", False),
        ("also-impossible", False),
        ("any", True),
    ]
    assert isinstance(attempts[0].error, NoMatch)
    assert attempts[-1].selection.model_name == "alpha"


def test_a_chain_that_resolves_nowhere_raises_one_no_match(write):
    book = load_policies(
        write(
            "none.yaml",
            """
        version: 1
        policies:
          a: {where: output_per_mtok < 0, fallback: b}
          b: {where: context_window > 1M}
    """,
        )
    )
    with pytest.raises(NoMatch) as caught:
        book.select("a", CATALOG)
    lines = str(caught.value).splitlines()
    assert lines[0] == "policy 'a' and its fallbacks resolve to no model (tried a -> b)"
    assert "  no model matches policy 'a' in catalog <memory> (4 models)" in lines
    assert "  no model matches policy 'b' in catalog <memory> (4 models)" in lines


def test_unknown_policy_name_suggests_a_close_one(book):
    with pytest.raises(PolicyError) as caught:
        book.select("cheap-caht", CATALOG)
    assert caught.value.kind == "unknown-policy"
    assert caught.value.message == "no policy named 'cheap-caht'; did you mean 'cheap-chat'?"


def test_an_unknown_name_is_echoed_as_a_short_escaped_prefix(book):
    with pytest.raises(PolicyError) as caught:
        book.select("\x1b" + "x" * 20_000, CATALOG)
    assert caught.value.message == (
        "no policy named '\\x1b" + "x" * 39 + "'... (20,001 characters)"
    )


def test_file_catalog_key_is_the_default_source(write, tmp_path, monkeypatch):
    monkeypatch.delenv("POLICYENG_CATALOG")  # it would take precedence over `catalog:`
    catalog_file = tmp_path / "catalog.json"
    catalog_file.write_text(
        '[{"model_name": "only", "category": "code", '
        '"supports": ["chat"], "health_status": "healthy"}]'
    )
    book = load_policies(
        write(
            "c.yaml",
            f"""
        version: 1
        catalog: {catalog_file}
        policies:
          chat: {{where: supports chat}}
    """,
        )
    )
    assert book["chat"].catalog == str(catalog_file)
    assert book.select("chat").model_name == "only"
    assert book.select("chat", "builtin").model_name != "only"
    monkeypatch.setenv("POLICYENG_CATALOG", "builtin")
    assert book.select("chat").model_name != "only"


def test_expectations_each_report_a_reason(book):
    selection = book.select("cheap-chat", CATALOG)
    assert expectation_failures({"min_candidates": 3}, selection) == [
        "expected at least 3 candidates, found 2"
    ]
    assert expectation_failures({"endpoint": "/v1/embeddings"}, selection) == [
        "expected endpoint /v1/embeddings, got /v1/chat/completions (gamma)"
    ]
    assert expectation_failures({"category": ["code", "vision"]}, selection) == [
        "expected category code or vision, got text (gamma)"
    ]
    assert expectation_failures({"model_name_in": ["alpha", "beta"]}, selection) == [
        "picked gamma, which is not in model_name_in [alpha, beta]"
    ]
    assert expectation_failures({"max_output_per_mtok": 0.25}, selection) == [
        "gamma costs 0.5 per million output tokens, above max_output_per_mtok 0.25"
    ]
    met = {
        "min_candidates": 2,
        "endpoint": "/v1/chat/completions",
        "category": "text",
        "model_name_in": ["gamma"],
        "max_output_per_mtok": 0.5,
    }
    assert expectation_failures(met, selection) == []


def test_missing_output_price_fails_a_price_cap(write):
    catalog = policyeng.Catalog.from_entries([entry("free-ish")])
    book = load_policies(
        write(
            "p.yaml",
            """
        version: 1
        policies:
          chat: {where: supports chat, expect: {max_output_per_mtok: 1}}
    """,
        )
    )
    [report] = check_book(book, catalog)
    assert report.failures == ["free-ish has no output_per_mtok; max_output_per_mtok is 1"]


def test_check_book_reports_pass_fallback_and_no_match(book, write):
    reports = {r.name: r for r in check_book(book, CATALOG)}
    assert reports["cheap-chat"].passed and reports["cheap-chat"].pick == {
        "model_name": "gamma",
        "endpoint": "/v1/chat/completions",
        "via": None,
    }
    assert reports["impossible"].pick["via"] == "any"
    assert reports["impossible"].tried == ["impossible", "also-impossible", "any"]
    lonely = load_policies(
        write(
            "lonely.yaml",
            """
        version: 1
        policies:
          nothing: {where: supports chat and output_per_mtok < 0.1}
    """,
        )
    )
    [report] = check_book(lonely, CATALOG)
    assert report.failures == ["resolves to no model: `output_per_mtok < 0.1` leaves none of 3"]


def test_loading_many_paths_keeps_file_order(write, tmp_path):
    one = write("x/one.yaml", "version: 1\npolicies:\n  b: {where: healthy}\n")
    two = write("y/two.yml", "version: 1\npolicies:\n  a: {where: healthy}\n")
    book = load_policies(two, tmp_path / "x")
    assert book.names == ["a", "b"]
    assert book.files == (two, one)


def test_a_file_named_twice_is_loaded_once(write, tmp_path):
    path = write("dir/chat.yaml", "version: 1\npolicies:\n  chat: {where: supports chat}\n")
    (tmp_path / "link.yaml").symlink_to(path)
    for paths in [
        (path, path),
        (str(tmp_path / "dir"), path),
        (str(tmp_path / "dir"), str(tmp_path / "dir") + "/"),
        (path, str(tmp_path / "link.yaml")),
    ]:
        book = load_policies(*paths)
        assert [p.name for p in book] == ["chat"]
        assert book.files == (path,)


def test_a_list_of_paths_is_accepted(write):
    first = write("a.yaml", "version: 1\npolicies:\n  a: {where: supports chat}\n")
    second = write("b.yaml", "version: 1\npolicies:\n  b: {where: healthy}\n")
    assert [p.name for p in load_policies([first, second])] == ["a", "b"]
    assert [p.name for p in load_policies(iter([first]), second)] == ["a", "b"]


def test_anything_but_paths_is_a_clear_type_error():
    with pytest.raises(TypeError) as caught:
        load_policies(["a.yaml", 3])
    assert str(caught.value) == (
        "load_policies() takes paths (str or os.PathLike) or a list of them, not int"
    )


def test_explain_and_select_resolve_the_catalog_alike(write, tmp_path, monkeypatch):
    book = load_policies(
        write(
            "m.yaml",
            f"""
        version: 1
        catalog: {tmp_path}/missing.json
        policies:
          a: {{where: supports chat}}
    """,
        )
    )
    monkeypatch.setenv("POLICYENG_CATALOG", "builtin")  # takes precedence over `catalog:`
    assert book.explain("a")["pick"] == book.select("a").model_name


def test_check_book_loads_the_catalog_once(write, monkeypatch):
    from policyeng.policies import book as book_module
    from policyeng.policies.check import check_book

    book = load_policies(
        write(
            "two.yaml",
            """
        version: 1
        policies:
          a: {where: supports chat}
          b: {where: supports embeddings}
    """,
        )
    )
    loads = []
    real = book_module.load_catalog
    monkeypatch.setattr(book_module, "load_catalog", lambda **kw: loads.append(kw) or real(**kw))
    reports = check_book(book)
    assert len(loads) == 1 and [r.name for r in reports] == ["a", "b"]
