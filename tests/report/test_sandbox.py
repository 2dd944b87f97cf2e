"""The report's environment is Jinja2's sandbox with two shortcuts (a dict's keys read
without a failed attribute lookup first; printed text escaped without making Markup):
each must give exactly what the plain sandbox gives, refusals included."""

from __future__ import annotations

import pytest
from jinja2 import Environment, StrictUndefined
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup

from mops.report.context import first_commits
from mops.report.render import ReportEnvironment, environment


def _plain_sandbox() -> SandboxedEnvironment:
    return SandboxedEnvironment(autoescape=True, undefined=StrictUndefined)


def _ours() -> ReportEnvironment:
    return ReportEnvironment(autoescape=True, undefined=StrictUndefined)


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
