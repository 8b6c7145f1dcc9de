"""Every way a policy file can be wrong: the file, line, column and message shape."""

from __future__ import annotations

import pytest

from policyeng import PolicyError, PolicyFileError, load_policies


def load_error(path: str) -> PolicyError:
    with pytest.raises(PolicyError) as caught:
        load_policies(path)
    return caught.value


# --- YAML itself ---------------------------------------------------------------------------


def test_duplicate_key_names_both_lines(write):
    path = write(
        "dup.yaml",
        """
        version: 1
        policies:
          chat:
            where: healthy
            order_by: [model_name]
            where: supports chat
    """,
    )
    error = load_error(path)
    assert error.kind == "duplicate-key"
    assert str(error) == (
        f"{path}:6:5: duplicate key 'where' in policies.chat (first at line 4)\n"
        "      where: supports chat\n"
        "      ^^^^^"
    )


def test_duplicate_policy_names_and_flow_keys_are_all_reported(write):
    path = write(
        "dups.yaml",
        """
        version: 1
        policies:
          chat: {where: healthy}
          other: {where: healthy, where: live}
          chat: {where: healthy}
    """,
    )
    error = load_error(path)
    assert isinstance(error, PolicyFileError)
    assert [(e.line, e.column, e.message) for e in error.errors] == [
        (4, 27, "duplicate key 'where' in policies.other (first at line 4)"),
        (5, 3, "duplicate key 'chat' in policies (first at line 3)"),
    ]


def test_yaml_syntax_error_points_at_the_problem(write):
    path = write(
        "broken.yaml",
        """
        version: 1
        policies:
          chat:
            where: [healthy
    """,
    )
    error = load_error(path)
    assert error.kind == "yaml"
    assert (error.source, error.line, error.column) == (path, 5, 1)
    assert error.message.startswith("not valid YAML: expected ',' or ']', but got")


def test_a_tab_in_the_indentation_gets_a_plain_words_hint(tmp_path):
    path = tmp_path / "tab.yaml"
    path.write_text("version: 1\npolicies:\n  chat:\n\twhere: healthy\n")
    error = load_error(str(path))
    assert str(error).splitlines() == [
        f"{path}:4:1: not valid YAML: found character '\\t' that cannot start any token "
        "(while scanning for the next token)",
        "   where: healthy",
        "  ^",
        "hint: YAML indents with spaces, not tabs",
    ]


@pytest.mark.parametrize(
    ("text", "where", "problem"),
    [
        (
            "version: 1\npolicies:\n  chat:\n    where: healthy\n   order_by: [x]\n",
            "5:4",
            "expected <block end>, but found '<block mapping start>' (while parsing a block "
            "mapping at line 3)",
        ),
        (
            "version: 1\npolicies:\n  chat:\n    where: healthy\n      order_by: [x]\n",
            "5:15",
            "mapping values are not allowed here",
        ),
    ],
    ids=["dedented", "indented"],
)
def test_a_misindented_line_gets_a_plain_words_hint(tmp_path, text, where, problem):
    path = tmp_path / "indent.yaml"
    path.write_text(text)
    lines = str(load_error(str(path))).splitlines()
    assert lines[0] == f"{path}:{where}: not valid YAML: {problem}"
    assert lines[2].endswith("^")  # the caret stays
    assert lines[3] == "hint: check the indentation of this line against the line above"


def test_an_unquoted_colon_in_a_value_gets_a_quoting_hint(tmp_path):
    path = tmp_path / "colon.yaml"
    path.write_text(
        "version: 1\npolicies:\n  chat:\n    description: Note: cheap\n    where: healthy\n"
    )
    lines = str(load_error(str(path))).splitlines()
    assert lines[0] == f"{path}:4:22: not valid YAML: mapping values are not allowed here"
    assert lines[3] == "hint: a value that contains ': ' must be quoted: key: \"text: more text\""


def test_object_building_tags_are_refused(write):
    path = write(
        "tags.yaml",
        """
        version: 1
        policies:
          chat:
            where: !!python/object/apply:os.system ["echo hi"]
    """,
    )
    error = load_error(path)
    assert str(error).splitlines()[0] == (
        f"{path}:4:12: YAML tag !!python/object/apply:os.system is not allowed in a "
        "policy file (only plain mappings and lists)"
    )


def test_empty_file(write):
    path = write("empty.yaml", "# nothing here\n")
    assert str(load_error(path)) == (
        f"{path}: the file is empty; expected `version: 1` and `policies:`"
    )


def test_missing_file_and_empty_directory(tmp_path):
    missing = tmp_path / "nope.yaml"
    assert str(load_error(str(missing))) == f"{missing}: file not found"
    assert str(load_error(str(tmp_path))) == (
        f"{tmp_path}: no policy files (*.yaml, *.yml) in this directory"
    )


# --- schema --------------------------------------------------------------------------------


def test_schema_error_names_file_line_and_yaml_path(write):
    path = write(
        "schema.yaml",
        """
        version: 1
        policies:
          support-chat:
            where: healthy
            order_by: [output_per_mtok, 3]
    """,
    )
    error = load_error(path)
    assert error.kind == "schema"
    assert str(error) == (
        f"{path}:5:33: policies.support-chat.order_by[1]: expected text, got the number 3\n"
        "      order_by: [output_per_mtok, 3]\n"
        "                                  ^"
    )


def test_misspelt_key_gets_did_you_mean_and_a_caret(write):
    path = write(
        "typo.yaml",
        """
        version: 1
        policies:
          chat:
            where: healthy
            fallbak: other
    """,
    )
    assert str(load_error(path)) == (
        f"{path}:5:5: policies.chat: unknown key 'fallbak'; did you mean 'fallback'?\n"
        "      fallbak: other\n"
        "      ^^^^^^^"
    )


def test_all_schema_errors_are_reported_in_file_order(write):
    path = write(
        "many.yaml",
        """
        version: 2
        policies:
          "bad name":
            description: no condition
          chat:
            where: ""
            expect: {endpoint: /v1/chat, min_candidates: 0}
    """,
    )
    error = load_error(path)
    assert isinstance(error, PolicyFileError)
    assert [f"{e.line}:{e.column}: {e.message}" for e in error.errors] == [
        "1:10: version: this policyeng reads version 1, not 2",
        "3:3: policy name 'bad name' may hold only letters, digits, '-' and '_' "
        "(and starts with a letter or digit)",
        "3:3: policies.bad name: missing required key 'where'",
        "6:12: policies.chat.where: must not be empty",
        "7:24: policies.chat.expect.endpoint: '/v1/chat' is not one of: /v1/chat/completions, "
        "/v1/embeddings, /v1/images/generations, /v1/videos/generations, /v1/audio/speech, "
        "/v1/audio/transcriptions",
        "7:50: policies.chat.expect.min_candidates: must be at least 1",
    ]


def test_top_level_shape(write):
    path = write("list.yaml", "- version: 1\n")
    assert load_error(path).message == "(top level): expected a mapping, got a list"


# --- policy expressions inside the file ----------------------------------------------------


@pytest.mark.parametrize(
    ("where_line", "line", "column", "shown"),
    [
        (
            "where: supports chat and output_per_mtk < 1",
            4,
            30,
            "    where: supports chat and output_per_mtk < 1",
        ),
        (
            'where: "supports chat and output_per_mtk < 1"',
            4,
            31,
            '    where: "supports chat and output_per_mtk < 1"',
        ),
        (
            "where: 'supports \"chat\" and output_per_mtk < 1'",
            4,
            33,
            "    where: 'supports \"chat\" and output_per_mtk < 1'",
        ),
        (
            'where: "supports \\"chat\\" and output_per_mtk < 1"',
            4,
            35,
            '    where: "supports \\"chat\\" and output_per_mtk < 1"',
        ),
        (
            "where: 'model_name != ''x'' and output_per_mtk < 1'",
            4,
            37,
            "    where: 'model_name != ''x'' and output_per_mtk < 1'",
        ),
    ],
    ids=["plain", "double-quoted", "single-quoted", "escapes", "doubled-quote"],
)
def test_bad_expression_is_placed_exactly_in_single_line_scalars(
    write, where_line, line, column, shown
):
    path = write(
        "expr.yaml",
        f"""
        version: 1
        policies:
          chat:
            {where_line}
    """,
    )
    error = load_error(path)
    assert error.kind == "unknown-field"
    assert str(error) == (
        f"{path}:{line}:{column}: unknown field 'output_per_mtk'; did you mean "
        "'output_per_mtok'?\n"
        f"  {shown}\n"
        f"  {' ' * (column - 1)}{'^' * len('output_per_mtk')}"
    )


@pytest.mark.parametrize("style", ["|", ">", "|-", ">-"])
def test_bad_expression_in_block_scalar_points_at_its_line(write, style):
    path = write(
        "block.yaml",
        f"""
        version: 1
        policies:
          chat:
            where: {style}
              supports chat
                and outptu_per_mtok < 1
    """,
    )
    error = load_error(path)
    assert (error.source, error.line, error.column) == (path, 6, 13)
    assert str(error).splitlines()[1:] == [
        "          and outptu_per_mtok < 1",
        "              ^^^^^^^^^^^^^^^",
    ]


def test_bad_order_by_key_is_placed_in_its_list_item(write):
    path = write(
        "order.yaml",
        """
        version: 1
        policies:
          chat:
            where: supports chat
            order_by: [output_per_mtok, contxt_window desc]
    """,
    )
    assert str(load_error(path)) == (
        f"{path}:5:33: unknown field 'contxt_window'; did you mean 'context_window'?\n"
        "      order_by: [output_per_mtok, contxt_window desc]\n"
        "                                  ^^^^^^^^^^^^^"
    )


def test_order_by_in_block_list_and_type_error(write):
    path = write(
        "order2.yaml",
        """
        version: 1
        policies:
          chat:
            where: supports chat
            order_by:
              - input_per_mtok
              - 'provider < "x"'
    """,
    )
    error = load_error(path)
    assert (error.line, error.column, error.kind) == (7, 10, "type")
    assert error.message == "`<` needs numbers, but these are strings"


def test_syntax_error_at_end_of_where(write):
    path = write(
        "end.yaml",
        """
        version: 1
        policies:
          chat:
            where: supports chat and
    """,
    )
    error = load_error(path)
    assert (error.line, error.column) == (4, 29)
    assert error.message.startswith("the policy ends too early")


def test_where_with_its_own_order_by_and_an_order_by_list(write):
    path = write(
        "twice.yaml",
        """
        version: 1
        policies:
          chat:
            where: supports chat order by model_name
            order_by: [output_per_mtok]
    """,
    )
    assert str(load_error(path)) == (
        f"{path}:5:5: `where` has its own `order by` and `order_by` is given too; keep one\n"
        "      order_by: [output_per_mtok]\n"
        "      ^^^^^^^^"
    )


def test_every_bad_policy_of_a_file_is_reported(write):
    path = write(
        "two.yaml",
        """
        version: 1
        policies:
          a: {where: supports chat and nope}
          b: {where: healthy}
          c: {where: "healthy and"}
    """,
    )
    error = load_error(path)
    assert [(e.line, e.column, e.kind) for e in error.errors] == [
        (3, 32, "unknown-field"),
        (5, 26, "syntax"),
    ]


# --- fallbacks -----------------------------------------------------------------------------


def test_unknown_fallback_names_the_chain(write):
    path = write(
        "fb.yaml",
        """
        version: 1
        policies:
          a: {where: healthy, fallback: [b]}
          b: {where: healthy, fallback: general-chta}
          general-chat: {where: healthy}
    """,
    )
    assert str(load_error(path)) == (
        f"{path}:4:33: policy 'b' falls back to 'general-chta', which is not a policy in this "
        "file (chain: a -> b -> general-chta); did you mean 'general-chat'?\n"
        "    b: {where: healthy, fallback: general-chta}\n"
        "                                  ^^^^^^^^^^^^"
    )


def test_fallback_cycle_names_the_cycle(write):
    path = write(
        "cycle.yaml",
        """
        version: 1
        policies:
          a: {where: healthy, fallback: b}
          b: {where: healthy, fallback: [x-ok, c]}
          c: {where: healthy, fallback: a}
          x-ok: {where: healthy}
    """,
    )
    error = load_error(path)
    assert error.kind == "fallback"
    assert str(error).splitlines()[0] == f"{path}:5:33: fallback cycle: a -> b -> c -> a"


def test_self_fallback_is_a_cycle(write):
    path = write(
        "self.yaml",
        """
        version: 1
        policies:
          a:
            where: healthy
            fallback: [a]
    """,
    )
    assert load_error(path).message == "fallback cycle: a -> a"


def test_fallback_to_a_policy_of_another_file_is_unknown(write, tmp_path):
    write("d/one.yaml", "version: 1\npolicies:\n  a: {where: healthy, fallback: b}\n")
    write("d/two.yaml", "version: 1\npolicies:\n  b: {where: healthy}\n")
    error = load_error(str(tmp_path / "d"))
    assert error.message.startswith("policy 'a' falls back to 'b', which is not a policy in")


# --- directories ---------------------------------------------------------------------------


def test_directory_loads_yaml_and_yml_and_reports_duplicate_names(write, tmp_path):
    first = write("d/a.yaml", "version: 1\npolicies:\n  chat: {where: healthy}\n")
    second = write(
        "d/b.yml",
        "version: 1\npolicies:\n  other: {where: healthy}\n  chat: {where: supports chat}\n",
    )
    write("d/notes.txt", "not a policy file")
    error = load_error(str(tmp_path / "d"))
    assert str(error) == (
        f"{second}:4:3: policy 'chat' is already defined in {first}:3:3\n"
        "    chat: {where: supports chat}\n"
        "    ^^^^\n"
        "hint: policy names must be unique across the files loaded together"
    )


def test_errors_of_several_files_come_together(write, tmp_path):
    write("d/a.yaml", "version: 1\npolicies:\n  a: {wher: healthy}\n")
    write("d/b.yaml", "version: 1\npolicies:\n  b: {where: healthy and}\n")
    error = load_error(str(tmp_path / "d"))
    assert [(e.source.rsplit("/", 1)[-1], e.line) for e in error.errors] == [
        ("a.yaml", 3),
        ("a.yaml", 3),
        ("b.yaml", 3),
    ]


def test_a_deeply_nested_file_is_a_limit_error(write):
    path = write(
        "deep.yaml",
        "version: 1\npolicies:\n  a:\n    where: healthy\n"
        "    description: " + "[" * 3000 + "]" * 3000 + "\n",
    )
    error = load_error(path)
    assert (error.kind, error.message) == (
        "limit",
        "the file is nested too deeply to be a policy file",
    )


def test_a_fifo_or_an_unreadable_path_is_a_file_error(tmp_path):
    import os

    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    assert load_error(str(fifo)).message == "not a regular file"
    long_name = str(tmp_path / ("x" * 300 + ".yaml"))
    assert load_error(long_name).message == "cannot read: File name too long"
