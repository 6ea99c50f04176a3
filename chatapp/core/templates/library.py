"""TemplateLibrary: the built-in templates and the user's own, which override built-ins of
the same name. Loaded on first use; a user template with problems is left out and told as
one warning line; saving one keeps the version it replaces."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from chatapp.core.templates.cache import CheckCache
from chatapp.core.templates.dump import to_toml
from chatapp.core.templates.model import (
    CheckResult,
    ImportReport,
    InvalidTemplate,
    Rendered,
    Template,
    TemplateError,
    TemplateNotFound,
    TemplateVersion,
    Value,
    Variable,
)
from chatapp.core.templates.render import Renderer

# Checking, saving and importing import TOML, jinja2 and the store when first used:
# a start-up that reads the check cache needs none of them.


def builtin_dir() -> Path:
    """The built-in templates: the package data an install ships as chatapp.prompts, or,
    when chatapp runs from a source checkout (tests, `python -m chatapp` in the repo),
    the prompts/ folder beside the package, which is where that package data comes from
    (pyproject's package-dir)."""
    from importlib.util import find_spec

    import chatapp

    spec = find_spec("chatapp.prompts")
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return Path(chatapp.__file__).resolve().parent.parent / "prompts"


class TemplateLibrary:
    def __init__(self, builtin_dir: Path, user_dir: Path, cache_path: Path | None = None) -> None:
        self.builtin_dir = builtin_dir
        self.user_dir = user_dir
        # Where check results are kept between runs (None: check every file every load).
        self.cache_path = cache_path
        self._templates: dict[str, Template] | None = None
        self._warnings: list[str] = []
        self._broken: dict[str, str] = {}  # name → why its file was left out
        self._renderer = Renderer()

    @property
    def warnings(self) -> list[str]:
        """One line per template file left out: `path:line: problem`."""
        self._loaded()
        return list(self._warnings)

    def templates(self, tag: str | None = None) -> list[Template]:
        """Every usable template by name (those with tag, if given)."""
        found = sorted(self._loaded().values(), key=lambda template: template.name)
        return [template for template in found if tag is None or tag in template.tags]

    def get(self, name: str) -> Template:
        templates = self._loaded()
        if name in templates:
            return templates[name]
        if name in self._broken:
            raise TemplateError(f"template '{name}' has problems: {self._broken[name]}")
        raise TemplateNotFound(name, list(templates))

    def render(self, template: Template | str, values: Mapping[str, Value]) -> Rendered:
        """Fill a template (or the one named so) in with values; TemplateError says what
        is missing or wrong, in one line."""
        if isinstance(template, str):
            template = self.get(template)
        return self._renderer.render(template, values)

    def source(self, name: str) -> str:
        """The TOML text of a template."""
        template = self.get(name)
        if template.path is None:
            return to_toml(template)
        try:
            return template.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise TemplateError(f"{template.path}: cannot read: {error}") from None

    def check(self, paths: Sequence[Path] = ()) -> list[CheckResult]:
        """The full check of files or folders of them (default: the whole library)."""
        from chatapp.core.templates.check import check_file

        if paths:
            files = [(file, self._is_builtin(file)) for path in paths for file in _expand(path)]
        else:
            files = [(file, True) for file in template_files(self.builtin_dir)]
            files += [(file, False) for file in template_files(self.user_dir)]
        return [check_file(file, builtin=builtin) for file, builtin in files]

    def reload(self) -> None:
        """Read the folders again on next use (after files changed)."""
        self._templates = None

    # -- the user's templates and their versions --------------------------------------------

    def user_path(self, name: str) -> Path:
        return self.user_dir / f"{name}.toml"

    def create(self, name: str, base: str | None = None) -> Template:
        """A new user template: a copy of the template `base`, or a starter to edit."""
        path = self.user_path(name)
        if path.exists():
            raise TemplateError(f"template '{name}' exists already: {path}")
        return self.save_text(name, self.source(base) if base else to_toml(starter(name)))

    def save(self, template: Template) -> Template:
        """Save a template record as the user's template of its name (next version)."""
        return self.save_text(template.name, to_toml(template))

    def save_text(self, name: str, text: str) -> Template:
        """Save TOML text as the user's template `name`, its next version (the current one
        is kept in the history); InvalidTemplate when the text has problems."""
        from chatapp.core.templates.versions import save_template_text

        template = save_template_text(self.user_dir, name, text)
        self.reload()
        return template

    def import_patterns(self, folder: Path, *, overwrite: bool = False) -> ImportReport:
        """Import fabric-style pattern folders as user templates (patterns.py)."""
        from chatapp.core.templates.patterns import import_patterns

        report = import_patterns(folder, self.user_dir, overwrite=overwrite)
        self.reload()
        if report.imported:
            self._loaded()  # checks and caches them now, not at the next start
        return report

    def history(self, name: str) -> list[TemplateVersion]:
        """The saved versions of a user template, oldest first ([] for a built-in)."""
        from chatapp.core.templates.versions import versions

        found = versions(self.user_dir, name)
        if not found:
            self.get(name)  # unknown: TemplateNotFound
        return found

    def version(self, name: str, number: int) -> Template:
        from chatapp.core.templates.versions import load_version

        return load_version(self.user_dir, name, number)

    def diff(self, name: str, old: int, new: int) -> str:
        from chatapp.core.templates.versions import diff_versions

        return diff_versions(self.user_dir, name, old, new)

    # -- loading ------------------------------------------------------------------------------

    def _loaded(self) -> dict[str, Template]:
        if self._templates is None:
            self._templates = self._load()
        return self._templates

    def _load(self) -> dict[str, Template]:
        cache = CheckCache(self.cache_path)
        templates: dict[str, Template] = {}
        self._broken = {}
        for folder, builtin in ((self.builtin_dir, True), (self.user_dir, False)):
            for path in template_files(folder):
                result = cache.check(path, builtin=builtin)
                if result.template is None:
                    self._broken[path.stem] = str(InvalidTemplate(result.problems))
                else:
                    templates[result.template.name] = result.template
                    self._broken.pop(result.template.name, None)
        cache.write()
        self._warnings = list(self._broken.values())
        return templates

    def _is_builtin(self, path: Path) -> bool:
        return path.resolve().parent == self.builtin_dir.resolve()


def starter(name: str) -> Template:
    """What a new template starts as: one text in, a system prompt to write."""
    text = Variable("text", "What you type or pipe in", "text", required=True)
    return Template(
        name=name,
        title=name.replace("-", " ").replace("_", " ").capitalize(),
        description="One line saying what it does",
        main=text.name,
        system="You are a helpful assistant.",
        user="{{ text }}",
        variables={text.name: text},
        params={"temperature": 0.7},
    )


def template_files(folder: Path) -> list[Path]:
    """The template files of a folder, by name (none when it does not exist)."""
    try:
        with os.scandir(folder) as entries:
            names = sorted(
                entry.name
                for entry in entries
                if entry.name.endswith(".toml") and not entry.name.startswith(".")
            )
    except OSError:
        return []
    return [folder / name for name in names]


def _expand(path: Path) -> list[Path]:
    return template_files(path) if path.is_dir() else [path]
