"""Prompt templates through the core: the built-ins, checking files line by line, filling
them in within the sandbox, the user's own templates, their versions, pattern imports."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatapp.config import load_settings
from chatapp.core.templates import (
    MissingVariables,
    Renderer,
    Template,
    TemplateError,
    TemplateLibrary,
    Variable,
    builtin_dir,
    to_toml,
)
from chatapp.core.templates.check import check_file, check_text
from chatapp.core.templates.parse import parse_template
from chatapp.core.templates.patterns import escape_jinja, import_patterns
from chatapp.core.templates.versions import with_version
from chatapp.core.workspace import Workspace

ROOT = Path(__file__).resolve().parents[2]
BUILTINS = sorted((ROOT / "prompts").glob("*.toml"))

GOOD = """\
title = "Translate English to Chinese"
description = "English in, Simplified Chinese out"
tags = ["translation", "chinese"]
main = "text"
system = \"\"\"You translate English into natural Simplified Chinese.
Keep the tone {{ tone }}.\"\"\"
user = \"\"\"
Translate this:

{{ text }}\"\"\"

[variables.text]
description = "The English text to translate"
type = "text"

[variables.tone]
description = "How it should sound"
type = "choice"
choices = ["formal", "casual"]
default = "formal"

[params]
temperature = 0.2

[example]
variables = { text = "See you on Friday." }
output = "星期五见。"
"""


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(text: str, *, builtin: bool = False) -> list[tuple[int, str]]:
    result = check_text(text, name="t", path=Path("t.toml"), builtin=builtin)
    return [(problem.line, problem.message) for problem in result.problems]


def translate() -> Template:
    template, problems = parse_template(GOOD, name="translate", path=Path("translate.toml"))
    assert template is not None, problems
    return template


# -- the built-ins ----------------------------------------------------------------------------


def test_the_built_ins_are_the_package_data_folder() -> None:
    assert builtin_dir().resolve() == (ROOT / "prompts").resolve()
    assert len(BUILTINS) >= 3


@pytest.mark.parametrize("path", BUILTINS, ids=lambda path: path.stem)
def test_every_built_in_passes_check_and_renders_its_example(path: Path) -> None:
    result = check_file(path, builtin=True)
    assert [str(problem) for problem in result.problems] == []
    template = result.template
    assert template is not None and template.example is not None
    assert template.title and template.description and template.main in template.variables
    rendered = Renderer().render(template, template.example.variables)
    assert rendered.user.strip()
    assert str(template.example.variables[template.main]) in rendered.system + rendered.user


def test_a_built_in_without_an_example_is_a_problem() -> None:
    text = GOOD[: GOOD.index("[example]")]
    assert problems_of(text) == []
    assert problems_of(text, builtin=True) == [(1, "a built-in template needs an [example]")]


# -- problems, each at its line ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "line", "message"),
    [
        (("title = ", "title = = "), 1, "Invalid value"),
        (('tags = ["translation", "chinese"]', 'tags = "chinese"'), 3, "'tags' must be a list"),
        (('main = "text"', 'main = "input"'), 4, "main variable 'input' is not declared"),
        (('main = "text"\n', 'main = "text"\nname = "x"\n'), 5, "unknown key 'name'"),
        (('type = "text"', 'type = "text"\nkind = "long"'), 15, "unknown key 'kind' in [vari"),
        (('type = "text"', 'type = "essay"'), 14, "type must be one of text, line"),
        (('default = "formal"', 'default = "rude"'), 20, "default 'rude' is not one of"),
        (("temperature = 0.2", "top_k = 4"), 23, "unknown key 'top_k' in [params]"),
        (("temperature = 0.2", "temperature = -1"), 23, "'temperature' must be a number, 0"),
        (("output = ", 'reply = ""\noutput = '), 27, "unknown key 'reply' in [example]"),
        (('{ text = "See you on Friday." }', "{}"), 25, "no value for required variable 'text'"),
        (("{{ text }}", "{{ text }} {{ txt }}"), 10, "'txt' is used in user but not declared"),
        (("Keep the tone {{ tone }}.", "Keep {% if %}"), 6, "system: "),
        (("{{ text }}", "{{ text.__class__ }}"), 10, "user: unsafe access to '__class__'"),
        (("Keep the tone {{ tone }}.", "Keep calm."), 16, "variable 'tone' is declared but not"),
    ],
)
def test_each_problem_is_told_at_its_line(change: tuple[str, str], line: int, message: str) -> None:
    old, new = change
    assert old in GOOD
    found = problems_of(GOOD.replace(old, new, 1))
    assert len(found) == 1, found
    assert found[0][0] == line and message in found[0][1], found


def test_missing_keys_are_each_told() -> None:
    found = problems_of('description = "nothing else"\n')
    assert [message for _, message in found] == [
        "missing 'title'",
        "missing 'main': the name of the variable the user types or pipes in",
        "missing 'user': the jinja2 text of the user's message",
    ]


def test_a_jinja_syntax_error_is_told_at_its_line_in_the_file() -> None:
    text = GOOD.replace("Translate this:\n\n{{ text }}", "Translate this:\n\n{{ text }\n")
    ((line, message),) = problems_of(text)
    assert (line, message.split(":")[0]) == (10, "user")


def test_a_key_inside_a_prompt_is_not_taken_for_the_files_key() -> None:
    text = GOOD.replace("Translate this:", 'main = "not a key"\n[variables.fake]\nTranslate:')
    text = text.replace('main = "text"', 'main = "txt"')
    assert problems_of(text) == [(4, "main variable 'txt' is not declared ([variables.txt])")]


# -- filling in -------------------------------------------------------------------------------


def test_defaults_fill_in_and_chinese_renders_as_it_is() -> None:
    rendered = Renderer().render(translate(), {"text": "明天见，Ana！"})
    assert rendered.system.endswith("Keep the tone formal.")
    assert rendered.user == "Translate this:\n\n明天见，Ana！"
    assert rendered.variables == {"text": "明天见，Ana！", "tone": "formal"}


def test_a_missing_variable_is_named_with_what_it_is_for() -> None:
    with pytest.raises(MissingVariables) as caught:
        Renderer().render(translate(), {"text": "  "})
    assert str(caught.value) == (
        "template 'translate' needs variable 'text' (The English text to translate)"
    )


def test_all_missing_variables_are_listed_at_once() -> None:
    template = Template(
        name="letter",
        title="Letter",
        main="body",
        user="{{ to }}: {{ body }}",
        variables={"to": Variable("to"), "body": Variable("body", type="text")},
    )
    with pytest.raises(MissingVariables) as caught:
        Renderer().render(template, {})
    assert str(caught.value) == "template 'letter': missing variables: to, body"
    assert caught.value.names == ["to", "body"]


def test_a_choice_must_be_one_of_its_choices_and_unknown_names_are_refused() -> None:
    with pytest.raises(TemplateError, match="tone must be one of formal, casual, not 'rude'"):
        Renderer().render(translate(), {"text": "hi", "tone": "rude"})
    with pytest.raises(TemplateError, match="has no variable 'txet'"):
        Renderer().render(translate(), {"txet": "hi"})


@pytest.mark.parametrize(
    "escape", ["{{ ''.__class__ }}", "{{ text.__class__.__mro__ }}", "{{ text['__class__'] }}"]
)
def test_the_sandbox_refuses_a_way_out_in_one_line(escape: str) -> None:
    template = Template(
        name="x", title="x", main="text", user=escape, variables={"text": Variable("text")}
    )
    with pytest.raises(TemplateError) as caught:
        Renderer().render(template, {"text": "hi"})
    message = str(caught.value)
    assert message.startswith("template 'x': unsafe access: ") and "\n" not in message


def test_strict_undefined_names_what_is_missing() -> None:
    variables = {"a": Variable("a")}
    template = Template(name="x", title="x", main="a", user="{{ a }}{{ b }}", variables=variables)
    with pytest.raises(TemplateError, match="template 'x': 'b' is undefined"):
        Renderer().render(template, {"a": "1"})


# -- the library ------------------------------------------------------------------------------


def test_broken_user_templates_are_told_with_file_and_line_and_the_rest_load(
    tmp_path: Path,
) -> None:
    users = tmp_path / "prompts"
    bad_toml = write(users, "bad-toml", 'title = "x"\nmain = "text\n')
    undeclared = write(users, "undeclared", GOOD.replace("{{ text }}", "{{ texte }}"))
    write(users, "mine", GOOD)
    library = TemplateLibrary(builtin_dir(), users)
    assert library.warnings == [
        f"{bad_toml}:2: Illegal character '\\n'",
        f"{undeclared}:10: variable 'texte' is used in user but not declared ([variables.texte]) "
        "(and 1 more)",
    ]
    names = [template.name for template in library.templates()]
    assert "mine" in names and "summarize" in names
    assert "bad-toml" not in names and "undeclared" not in names


def test_a_user_template_overrides_the_built_in_of_its_name(tmp_path: Path) -> None:
    users = tmp_path / "prompts"
    write(users, "summarize", GOOD.replace("Translate English to Chinese", "My summary"))
    library = TemplateLibrary(builtin_dir(), users)
    mine = library.get("summarize")
    assert (mine.title, mine.builtin, mine.path) == ("My summary", False, users / "summarize.toml")
    assert "summarize" in [template.name for template in library.templates(tag="chinese")]


def test_an_unknown_name_suggests_a_close_one(tmp_path: Path) -> None:
    library = TemplateLibrary(builtin_dir(), tmp_path)
    with pytest.raises(TemplateError, match="no template named 'sumarize' .did you mean 'summ"):
        library.get("sumarize")


def test_the_check_cache_is_used_until_a_file_changes(tmp_path: Path) -> None:
    users, cache = tmp_path / "prompts", tmp_path / "cache" / "templates.json"
    path = write(users, "mine", GOOD)
    assert TemplateLibrary(builtin_dir(), users, cache).get("mine").title.startswith("Translate")
    assert cache.stat().st_mode & 0o777 == 0o600
    path.write_text(GOOD.replace("Translate English to Chinese", "Changed"), encoding="utf-8")
    assert TemplateLibrary(builtin_dir(), users, cache).get("mine").title == "Changed"
    path.write_text(GOOD.replace("{{ text }}", "{{ texte }}"), encoding="utf-8")
    again = TemplateLibrary(builtin_dir(), users, cache)
    assert "mine" not in [template.name for template in again.templates()]
    assert "variable 'texte' is used in user" in again.warnings[0]


def test_loading_from_the_cache_imports_neither_jinja2_nor_tomllib(tmp_path: Path) -> None:
    users, cache = tmp_path / "prompts", tmp_path / "templates.json"
    write(users, "mine", GOOD)
    script = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from chatapp.core.templates import TemplateLibrary, builtin_dir
        library = TemplateLibrary(builtin_dir(), Path({str(users)!r}), Path({str(cache)!r}))
        assert len(library.templates()) > 3 and not library.warnings
        print("jinja2" in sys.modules, "tomllib" in sys.modules)
    """)
    first, second = (
        subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
        for _ in range(2)
    )
    assert first.stdout.split() == ["True", "True"]  # checked, then cached
    assert second.stdout.split() == ["False", "False"]


def test_the_workspace_finds_user_templates_beside_the_config_file(tmp_path: Path) -> None:
    env = {"CHATAPP_DATA_DIR": str(tmp_path / "data"), "CHATAPP_USER": "tester"}
    settings = load_settings(tmp_path / "config.toml", env)
    write(tmp_path / "prompts", "mine", GOOD)
    templates = Workspace(settings).templates
    assert templates.user_dir == tmp_path / "prompts"
    assert templates.get("mine").title == "Translate English to Chinese"
    assert templates.render("mine", {"text": "hi"}).user.endswith("hi")


# -- versions ---------------------------------------------------------------------------------


def test_saving_keeps_the_previous_version_and_diff_shows_the_change(tmp_path: Path) -> None:
    users = tmp_path / "prompts"
    library = TemplateLibrary(builtin_dir(), users)
    assert library.save_text("translate", GOOD).version == 1
    second = library.save(dataclasses.replace(library.get("translate"), title="English → 中文"))
    assert second.version == 2 and library.get("translate").title == "English → 中文"
    assert [version.number for version in library.history("translate")] == [1, 2]
    assert (users / ".history" / "translate" / "v1.toml").stat().st_mode & 0o777 == 0o600
    assert (users / ".history").stat().st_mode & 0o777 == 0o700
    assert library.version("translate", 1).title == "Translate English to Chinese"
    diff = library.diff("translate", 1, 2)
    assert '-title = "Translate English to Chinese"\n' in diff
    assert '+title = "English → 中文"\n' in diff
    assert diff.startswith("--- translate v1\n+++ translate v2\n")


def test_saving_text_with_problems_writes_nothing(tmp_path: Path) -> None:
    library = TemplateLibrary(builtin_dir(), tmp_path / "prompts")
    with pytest.raises(TemplateError, match=r"translate.toml:10: variable 'txt' is used"):
        library.save_text("translate", GOOD.replace("{{ text }}", "{{ txt }}"))
    assert not (tmp_path / "prompts").exists()
    with pytest.raises(TemplateError, match="cannot be a template name"):
        library.save_text("../escape", GOOD)


def test_new_copies_a_built_in_or_starts_from_a_starter(tmp_path: Path) -> None:
    library = TemplateLibrary(builtin_dir(), tmp_path / "prompts")
    copy = library.create("my-summary", base="summarize")
    assert copy.version == 1 and copy.variables.keys() == library.get("summarize").variables.keys()
    starter = library.create("blank")
    assert Renderer().render(starter, {"text": "你好"}).user == "你好"
    with pytest.raises(TemplateError, match="exists already"):
        library.create("blank")


def test_the_version_line_is_set_outside_multi_line_strings() -> None:
    text = 'title = "x"\nuser = """\nversion = 9\n"""\n\n[variables.a]\ndescription = "a"\n'
    added = with_version(text, 3)
    assert tomllib.loads(added)["version"] == 3
    assert tomllib.loads(added)["user"] == "version = 9\n"
    assert tomllib.loads(with_version(added, 4))["version"] == 4


# -- writing TOML, importing patterns ---------------------------------------------------------

any_text = st.text(st.characters(exclude_categories=("Cs",)))
# jinja2 reads \r\n and \r as \n, as any template text; pattern files are read so too.
printable = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\r"))


@given(printable)
def test_any_text_survives_escaping_for_jinja(text: str) -> None:
    variables = {"x": Variable("x")}
    template = Template(
        "x", "x", main="x", user=escape_jinja(text) + "{{ x }}", variables=variables
    )
    assert Renderer().render(template, {"x": "."}).user == text + "."


@given(any_text, any_text)
def test_any_text_survives_writing_as_toml(title: str, user: str) -> None:
    template = Template(name="x", title=title, main="x", user=user + "\n{{ x }}")
    data = tomllib.loads(to_toml(template))
    assert (data["title"], data["user"]) == (title, user + "\n{{ x }}")


def make_pattern(root: Path, name: str, system: bytes | None, user: str | None = None) -> None:
    folder = root / name
    folder.mkdir(parents=True)
    if system is not None:
        (folder / "system.md").write_bytes(system)
    if user is not None:
        (folder / "user.md").write_text(user, encoding="utf-8")


def test_importing_patterns_keeps_their_text_literal_and_says_what_it_skipped(
    tmp_path: Path,
) -> None:
    patterns, users = tmp_path / "patterns", tmp_path / "prompts"
    wisdom = (
        "# IDENTITY and PURPOSE\n\nYou extract wisdom. Then more.\n\n"
        "Write {{ IDEAS }} as is; {% endraw %} and {# not a comment #} too.\n"
    )
    make_pattern(patterns, "extract_wisdom", wisdom.encode())
    make_pattern(
        patterns, "翻译 成中文", "# 身份\n\n你把英文翻译成中文。保持语气。\n".encode(), "原文："
    )
    make_pattern(patterns, "empty", b"  \n")
    make_pattern(patterns, "no_system", None, "just a user part")
    make_pattern(patterns, "latin1", "caf\xe9".encode("latin-1"))
    make_pattern(patterns, "taken", b"# Taken\nAlready mine.\n")
    write(users, "taken", GOOD)

    report = import_patterns(patterns, users)

    assert report.imported == ["extract_wisdom", "翻译-成中文"]
    assert report.skipped == [
        ("empty", "system.md is empty"),
        ("latin1", "system.md is not UTF-8 text"),
        ("no_system", "no system.md"),
        ("taken", "a user template of this name exists"),
    ]
    library = TemplateLibrary(builtin_dir(), users)
    assert library.warnings == []
    imported = library.get("extract_wisdom")
    assert (imported.title, imported.description) == ("Extract wisdom", "You extract wisdom.")
    rendered = library.render("extract_wisdom", {"input": "{{ 输入 }}"})
    assert (rendered.system, rendered.user) == (wisdom, "{{ 输入 }}")
    chinese = library.render("翻译-成中文", {"input": "Good morning"})
    assert chinese.system.startswith("# 身份") and chinese.user == "原文：\n\nGood morning"
    assert library.get("翻译-成中文").description == "你把英文翻译成中文。"


def test_importing_again_with_overwrite_keeps_the_old_version(tmp_path: Path) -> None:
    patterns, users = tmp_path / "patterns", tmp_path / "prompts"
    make_pattern(patterns, "tidy", b"Tidy the text.\n")
    library = TemplateLibrary(builtin_dir(), users)
    assert library.import_patterns(patterns).imported == ["tidy"]
    (patterns / "tidy" / "system.md").write_text("Tidy the text, gently.\n", encoding="utf-8")
    assert library.import_patterns(patterns).skipped == [
        ("tidy", "a user template of this name exists")
    ]
    assert library.import_patterns(patterns, overwrite=True).imported == ["tidy"]
    assert [version.number for version in library.history("tidy")] == [1, 2]
    assert "+{% raw %}Tidy the text, gently." in library.diff("tidy", 1, 2)
