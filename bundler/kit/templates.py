"""The jinja2 templates of `bundler/templates/`: README.txt and the HTML report (`template`),
controller/setup.sh (`shell_template`).

A module of its own so that `bundler inspect` (the HTML report) renders without importing
`bundler.kit.pack` and, through it, the SBOM library.
"""

from __future__ import annotations

import shlex
from importlib import resources

import jinja2


def template(name: str) -> jinja2.Template:
    """A template from bundler/templates (strict: an undefined name is an error). A template
    named `*.html.j2` is HTML-escaped: every value in the report comes from the kit (a wheel's
    METADATA Summary and License, problem lines), and `select_autoescape(["html"])` alone
    matched only names ending in `.html`, so the report escaped nothing (#16 fresh review
    16x, finding 1: a Summary with an `<img onerror=...>` rewrote the page)."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("bundler", "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=jinja2.select_autoescape(["html", "html.j2"]),
    )
    return env.get_template(name)


def shell_template(name: str) -> jinja2.Template:
    """A shell-script template from bundler/templates: no autoescape (values go through the
    `shquote` filter, `shlex.quote`), strict undefined, blocks kept as written."""
    source = resources.files("bundler").joinpath("templates")
    loader = jinja2.FunctionLoader(lambda n: source.joinpath(n).read_text(encoding="utf-8"))
    env = jinja2.Environment(
        loader=loader,
        autoescape=False,  # a shell script: values go through `shquote`
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters["shquote"] = shlex.quote
    return env.get_template(name)
