"""Prompt templates: TOML files of jinja2 texts with declared variables.

    model.py     the records (Template, Variable, Example, Rendered, Problem, ...), errors
    lines.py     the line of a key in a TOML text, for problems
    parse.py     TOML text → Template, or its problems at their lines
    check.py     the full check: parse, then the jinja2 texts (syntax, variables, sandbox)
    render.py    filling a template in, in jinja2's sandbox (imported on first use)
    dump.py      Template → TOML text
    versions.py  saving a user template, keeping the versions it replaces
    cache.py     check results by file stat, so loading skips TOML and jinja2
    library.py   TemplateLibrary: built-ins + the user's own, which override them
    patterns.py  importing fabric-style pattern folders

The UI and the CLI use TemplateLibrary and the records exported here. Importing this
package stays cheap: parse, check, versions and patterns (tomllib, jinja2, the store)
load when first needed; import their functions from their modules.
"""

from chatapp.core.templates.dump import to_toml
from chatapp.core.templates.library import TemplateLibrary, builtin_dir
from chatapp.core.templates.model import (
    CheckResult,
    Example,
    ImportReport,
    InvalidTemplate,
    MissingVariables,
    Problem,
    Rendered,
    Template,
    TemplateError,
    TemplateNotFound,
    TemplateVersion,
    Variable,
    from_data,
    to_data,
)
from chatapp.core.templates.render import Renderer

__all__ = [
    "CheckResult",
    "Example",
    "ImportReport",
    "InvalidTemplate",
    "MissingVariables",
    "Problem",
    "Renderer",
    "Rendered",
    "Template",
    "TemplateError",
    "TemplateLibrary",
    "TemplateNotFound",
    "TemplateVersion",
    "Variable",
    "builtin_dir",
    "from_data",
    "to_data",
    "to_toml",
]
