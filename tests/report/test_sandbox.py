"""The report's environment is Jinja2's sandbox with two shortcuts (a dict's keys read
without a failed attribute lookup first; printed text escaped without making Markup):
each must give exactly what the plain sandbox gives, refusals included."""

from __future__ import annotations

import pytest
from jinja2 import Environment, StrictUndefined
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup, escape

from mops.report.context import first_commits
from mops.report.render import ReportEnvironment, environment, ticks


def _plain_sandbox() -> SandboxedEnvironment:
    env = SandboxedEnvironment(autoescape=True, undefined=StrictUndefined)
    env.filters["ticks"] = _jinjas_ticks
    return env


def _jinjas_ticks(value: object) -> Markup:
    """The report's ``ticks`` filter written with markupsafe's own escape."""
    import re

    escaped = escape(value)
    return Markup(re.sub(r"`([^`\n]+)`", lambda m: f"<code>{m.group(1)}</code>", escaped))


def _ours() -> ReportEnvironment:
    env = ReportEnvironment(autoescape=True, undefined=StrictUndefined)
    env.filters["ticks"] = ticks
    return env


class Html:
    def __html__(self) -> str:
        return "<i>already html</i>"


CONTEXT = {
    "d": {"name": "<b>&'\"", "items": "an item called items", "_private": "underscore key",
          "n": 3, "x": 1.5, "none": None, "m": Markup("<em>kept</em>"), "h": Html(),
          "nested": {"list": [1, "<2>"], "keys": "shadowed"}},
    "s": "plain <str> & 'quotes' \"too\"",
}

SAME = [
    "{{ d.name }}", "{{ d.n }} {{ d.x }} {{ d.none }} {{ d.m }} {{ d.h }}", "{{ s }}",
    "{{ d._private }}", "{{ d.nested.list }}", "{{ d['name'] }}",
    # A key named like a dict method: the sandbox gives the method, and so do we.
    "{{ d.items is callable }} {{ d.nested.keys is callable }}",
    "{{ d.items() | list | length }}", "{{ d.get('name') }}",
    "{% for k, v in d.nested.items() %}{{ k }}={{ v }};{% endfor %}",
    "{{ d.missing is defined }}", "{{ d.name ~ d.m }}", "{{ d.name | upper }}",
    "{% set x %}{{ d.name }}{{ d.m }}{% endset %}{{ x }}",
    "{% macro b(v) %}<span>{{ v }}</span>{% endmacro %}{{ b(d.name) }}{{ b(d.m) }}",
    # Macros (called without the checks for other callables): arguments, defaults,
    # varargs, kwargs, caller, in loops and blocks, and what is not a macro.
    "{% macro m(a, b=2) %}{{ a }}{{ b }}{{ varargs }}{{ kwargs }}{% endmacro %}"
    "{{ m(1) }}|{{ m(1, 3, 4, x=d.name) }}|{{ m(b=5, a=d.m) }}",
    "{% macro m() %}[{{ caller() }}]{% endmacro %}{% call m() %}{{ d.name }}{% endcall %}",
    "{% macro m(v) %}({{ v }}){% endmacro %}{% for i in d.nested.list %}{% set x = i %}"
    "{{ m(x) }}{% endfor %}{% set y %}{{ m(d.name) }}{% endset %}{{ y }}",
    "{{ range(3) | list }} {{ d.nested.list.index(1) }} {{ dict(a=1) }}",
    # Each argument by position (the macro's body called directly, ReportEnvironment.call),
    # and the shapes next to it that take Jinja2's own path.
    "{% macro m(a, b) %}{{ a }}-{{ b }}{% endmacro %}{{ m(d.name, d.m) }}|{{ m(d.h, 1) | "
    "length }}|{{ m(1, b=2) }}",
    "{% macro m() %}<{{ d.name }}>{% endmacro %}{{ m() }}{{ m() ~ d.name }}",
    "{% macro m(a) %}{% autoescape false %}{{ a }}{% endautoescape %}{% endmacro %}"
    "{{ m(d.name) }}{% autoescape false %}{{ m(d.name) }}{% endautoescape %}",
    "{% macro m(a, caller=1) %}{{ a }}{{ caller }}{% endmacro %}{{ m(1, d.name) }}{{ m(2) }}",
    "{% macro m(a) %}{{ a }}{{ varargs }}{% endmacro %}{{ m(1) }}{{ m(1, 2) }}",
    "{% macro m(a) %}{{ a }}{{ kwargs }}{% endmacro %}{{ m(d.name) }}",
    "{% macro m(a) %}{{ a }}{% endmacro %}{% filter upper %}{{ m(d.name) }}{% endfilter %}",
    "{{ d.name | ticks }} {{ d.m | ticks }} {{ '`<code>` & `x`' | ticks }} {{ d.n | ticks }}",
]


@pytest.mark.parametrize("source", SAME)
def test_renders_what_the_plain_sandbox_renders(source: str):
    expected = _plain_sandbox().from_string(source).render(CONTEXT)
    assert _ours().from_string(source).render(CONTEXT) == expected
    # and through the report's own environment (its loaders, filters and settings)
    assert environment().from_string(source).render(CONTEXT) == expected


REFUSED = [
    "{{ d.__class__.__mro__[1].__subclasses__() }}",
    "{{ d.items.__self__.__class__ }}",
    "{{ d.get.__self__ }}",
    "{{ d.nested.__class__ }}",
    "{{ d.__dir__() }}",
    "{{ s.__class__.__base__.__subclasses__() }}",
    "{% macro m() %}{% endmacro %}{{ m._func.__globals__ }}",
]


@pytest.mark.parametrize("source", REFUSED)
def test_refuses_what_the_plain_sandbox_refuses(source: str):
    with pytest.raises((SecurityError, UndefinedError)) as plain:
        _plain_sandbox().from_string(source).render(CONTEXT)
    with pytest.raises(plain.type):
        _ours().from_string(source).render(CONTEXT)
    # The twin: without the sandbox, these templates do reach Python.
    assert Environment(autoescape=True).from_string(source).render(CONTEXT)


def test_a_missing_key_is_undefined_as_in_the_sandbox():
    for env in (_plain_sandbox(), _ours()):
        with pytest.raises(UndefinedError):
            env.from_string("{{ d.nope }}").render(CONTEXT)


def test_printed_text_is_escaped():
    out = _ours().from_string("{{ s }}|{{ d.m }}|{{ d.h }}").render(CONTEXT)
    assert out == ("plain &lt;str&gt; &amp; &#39;quotes&#39; &#34;too&#34;|<em>kept</em>|"
                   "<i>already html</i>")


def test_first_commits_is_the_oldest_commit_touching_each_path():
    shared = ["models/a/card.md", "models/a/versions/1/approvals/A-1.yaml",
              "models/b/versions/1/approvals/A-2.yaml"]
    trail = [  # newest first
        {"commit": "c3", "paths": ["models/a/versions/1/approvals/A-1.yaml"]},
        {"commit": "c2", "paths": ["models/a/versions/1/approvals/A-3.yaml"]},
        {"commit": "c1", "paths": shared},
    ]
    sets: dict = {}
    found = first_commits(trail, ["models/a/versions/1/approvals/A-1.yaml",
                                  "models/a/versions/1/approvals/A-3.yaml",
                                  "models/a/versions/1/approvals/A-9.yaml", None], sets)
    assert found == {"models/a/versions/1/approvals/A-1.yaml": "c1",
                     "models/a/versions/1/approvals/A-3.yaml": "c2"}
    # The commit shared with another model's trail is made a set once.
    again = first_commits([{"commit": "c1", "paths": shared}],
                          ["models/b/versions/1/approvals/A-2.yaml"], sets)
    assert again == {"models/b/versions/1/approvals/A-2.yaml": "c1"}
    assert len([k for k in sets if sets[k][0] is shared]) == 1


# Templates of every shape whose printing the report's compiler joins into fewer pieces
# (ReportCodeGenerator): the same text as the plain sandbox, piece for piece joined.
TEMPLATES = {
    "base.html": "<h1>{% block title %}T {{ d.name }}{% endblock %}</h1>\n"
                 "{% block body %}{{ d.n }} and {{ d.m }}{% endblock %}|{{ s }}",
    "child.html": "{% extends 'base.html' %}{% block title %}{{ super() }} + {{ d.h }}"
                  "{% endblock %}{% block body %}{% include 'row.html' %}{% endblock %}",
    "row.html": "{% for i in d.nested.list %}<li>{{ i }} of {{ d.name }}</li>{% else %}none"
                "{% endfor %}{% include 'leaf.html' %}",
    "leaf.html": "{% from 'macros.html' import m %}[{{ m(d.name) }} {{ m(d.m) }}]",
    "macros.html": "{% macro m(v) %}<b>{{ v }}</b> {{ v | length }}{% endmacro %}",
    # An extends decided at run time (output outside blocks is checked for it).
    "maybe.html": "{% if d.n > 2 %}{% extends 'base.html' %}{% endif %}before {{ d.name }}"
                  "{% block title %}mine {{ d.m }}{% endblock %} after {{ s }}",
    "modes.html": "{% macro m(v) %}<i>{{ v }} {{ caller() }}</i>{% endmacro %}"
                  "{% autoescape false %}{{ d.name }} raw {{ s }}{% endautoescape %}|"
                  "{% autoescape d.n > 2 %}{{ d.name }} {{ s }}{% endautoescape %}|"
                  "{% filter upper %}{{ d.name }} up {{ s }}{% endfilter %}|"
                  "{% for x in [[1, [2]], [3]] recursive %}({{ x }} {{ loop.depth }}"
                  "{% if x is iterable %}{{ loop(x) }}{% endif %}){% endfor %}|"
                  "{% set t %}{{ d.name }}+{{ d.m }}{% endset %}{{ t }} {{ t | length }}|"
                  "{% call m('c') %}in {{ d.name }} call{% endcall %}",
    "fails.html": "line one {{ d.name }}\nline two {{ d.n }} {{ d.nope }} {{ s }}\n",
}


def _loaded(env_class: type[SandboxedEnvironment]) -> SandboxedEnvironment:
    from jinja2 import DictLoader

    return env_class(loader=DictLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined)


@pytest.mark.parametrize("name", ["base.html", "child.html", "row.html", "maybe.html",
                                  "modes.html"])
def test_joined_pieces_render_what_the_plain_sandbox_renders(name: str):
    plain, ours = _loaded(SandboxedEnvironment), _loaded(ReportEnvironment)
    expected = plain.get_template(name).render(CONTEXT)
    assert ours.get_template(name).render(CONTEXT) == expected
    assert "".join(ours.get_template(name).generate(CONTEXT)) == expected
    # Fewer pieces wherever a run of text and values sits between two tags.
    pieces = len(list(ours.get_template(name).generate(CONTEXT)))
    assert pieces <= len(list(plain.get_template(name).generate(CONTEXT)))
    # With the extends decided the other way: output outside blocks is printed.
    small = {**CONTEXT, "d": {**CONTEXT["d"], "n": 1}}  # type: ignore[dict-item]
    assert ours.get_template(name).render(small) == plain.get_template(name).render(small)


def test_a_run_between_two_tags_is_one_piece():
    plain, ours = _loaded(SandboxedEnvironment), _loaded(ReportEnvironment)
    # "<li>", i, " of ", name, "</li>" for each item: five pieces each in Jinja2's, one here.
    source = "{% for i in d.nested.list %}<li>{{ i }} of {{ d.name }}</li>{% endfor %}"
    assert len(list(plain.from_string(source).generate(CONTEXT))) == 10
    assert list(ours.from_string(source).generate(CONTEXT)) == [
        "<li>1 of &lt;b&gt;&amp;&#39;&#34;</li>", "<li>&lt;2&gt; of &lt;b&gt;&amp;&#39;&#34;</li>"]


def test_a_failure_mid_run_names_the_template_line_as_before(tmp_path):
    from jinja2 import FileSystemLoader
    from jinja2.compiler import CodeGenerator

    from mops.errors import UsageError
    from mops.report.render import render_html

    (tmp_path / "fails.html").write_text(TEMPLATES["fails.html"])

    class JinjasCompiler(ReportEnvironment):
        code_generator_class = CodeGenerator

    messages = []
    for env_class in (JinjasCompiler, ReportEnvironment):
        env = env_class(loader=FileSystemLoader(str(tmp_path)), autoescape=True,
                        undefined=StrictUndefined)
        with pytest.raises(UsageError) as failed:
            render_html(CONTEXT, env, "fails.html")
        messages.append(failed.value.message)
    assert messages[0] == messages[1]
    assert messages[1].startswith(f"{tmp_path / 'fails.html'}:2: ")


def test_compiled_templates_are_cached_under_the_report_compilers_name(tmp_path):
    first = environment(cache_dir=tmp_path)
    expected = first.get_template("inventory.html").name
    cached = sorted(p.name for p in tmp_path.iterdir())
    assert cached and all(n.startswith("__mops_report_2_") for n in cached)
    # A cache made by Jinja2's own compiler under Jinja2's names is not read as ours.
    assert not any(n.startswith("__jinja2_") for n in cached)
    again = environment(cache_dir=tmp_path).get_template("inventory.html")
    assert again.name == expected
    source = "{% for i in d.nested.list %}<li>{{ i }}</li>{% endfor %}"
    assert len(list(environment(cache_dir=tmp_path).from_string(source).generate(CONTEXT))) == 2


def test_template_globals_are_seen_as_in_the_plain_sandbox():
    source = "{{ g }} {{ range(2) | list }} {{ d.name }}"
    for env_class in (SandboxedEnvironment, ReportEnvironment):
        env = _loaded(env_class)
        env.globals["g"] = "environment's"
        assert env.from_string(source).render(CONTEXT) == (
            "environment&#39;s [0, 1] &lt;b&gt;&amp;&#39;&#34;")
        # A template's own globals cover the environment's (and leave them alone).
        assert env.from_string(source, globals={"g": "<mine>"}).render(CONTEXT).startswith(
            "&lt;mine&gt; [0, 1]")
        assert env.from_string(source).render(CONTEXT).startswith("environment&#39;s")
        template = env.get_template("leaf.html", globals={"g": 1})
        assert "g" not in env.globals or env.globals["g"] == "environment's"
        assert template.render(CONTEXT) == _loaded(SandboxedEnvironment).get_template(
            "leaf.html").render(CONTEXT)


def test_templates_are_loaded_once_and_reloaded_as_jinja2_reloads_them(tmp_path):
    import os

    from jinja2 import FileSystemLoader

    page = tmp_path / "page.html"
    page.write_text("one {{ s }}")
    kept = ReportEnvironment(loader=FileSystemLoader(str(tmp_path)), autoescape=True,
                             auto_reload=False)
    first = kept.get_template("page.html")
    assert kept.get_template("page.html") is first
    reloading = ReportEnvironment(loader=FileSystemLoader(str(tmp_path)), autoescape=True)
    assert reloading.get_template("page.html").render(s="<x>") == "one &lt;x&gt;"
    page.write_text("two {{ s }}")
    os.utime(page, (1, 1))  # an mtime unlike the first one's
    assert reloading.get_template("page.html").render(s="x") == "two x"
    assert kept.get_template("page.html").render(s="x") == "one x"  # as Jinja2 keeps it
    # Another loader (an overlay) never gets the first loader's template.
    other = tmp_path / "other"
    other.mkdir()
    (other / "page.html").write_text("other")
    overlay = kept.overlay(loader=FileSystemLoader(str(other)))
    assert overlay.get_template("page.html").render() == "other"
