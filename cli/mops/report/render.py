"""Rendering a report context with Jinja2, and the report's own digest.

Templates are found datasette's way: the inventory's ``report_templates/`` first
(read from the *same commit* as the data, so an as-of report uses the templates
of that day), then the built-ins; ``default:NAME`` always reaches the built-in,
so an override can extend what it replaces. ``autoescape`` is always on and
``StrictUndefined`` makes a missing field fail loudly. The environment is
sandboxed because an inventory's templates arrive by pull request like any
other file, and rendering must not let them run Python. What the rendered report
must be, whatever the templates say (no script, mops's content-security policy, a
notice naming each override with its digest), is :mod:`mops.report.guard`'s.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from collections.abc import Callable, Iterator, MutableMapping
from itertools import islice
from pathlib import Path
from typing import Any, BinaryIO

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    FileSystemBytecodeCache,
    FileSystemLoader,
    PrefixLoader,
    StrictUndefined,
    Template,
    TemplateError,
    TemplateNotFound,
    TemplateSyntaxError,
    nodes,
)
from jinja2.compiler import CodeGenerator, Frame
from jinja2.loaders import split_template_path
from jinja2.nodes import EvalContext
from jinja2.runtime import Context, Macro
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup, escape

from mops.errors import UsageError
from mops.inventory.store import Source
from mops.report import guard
from mops.report.context import DIGEST_PLACEHOLDER

OVERRIDES_DIR = "report_templates"
DEFAULT_TEMPLATE = "inventory.html"
#: Where the digest sits in the rendered HTML: ``<code id="report-digest">HEX</code>``.
DIGEST_RE = re.compile(r'(id="report-digest">)([0-9a-f]{64})(<)')


class InventoryTemplateLoader(BaseLoader):
    """Templates from the inventory's ``report_templates/``, through its source (tree or commit)."""

    def __init__(self, source: Source, folder: str = OVERRIDES_DIR) -> None:
        self.source = source
        self.folder = folder

    def get_source(self, environment: Environment,
                   template: str) -> tuple[str, str | None, Callable[[], bool] | None]:
        pieces = split_template_path(template)  # refuses "..", like FileSystemLoader
        rel = "/".join([self.folder, *pieces])
        if not self.source.isfile(rel):
            raise TemplateNotFound(template)
        try:
            text = self.source.read(rel).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UsageError(f"{rel}: a report template must be UTF-8 text ({exc})") from None
        return text, rel, lambda: True

    def digests(self) -> list[tuple[str, str]]:
        """Each of the inventory's templates (path from the inventory) with its sha256."""
        return [(f"{self.folder}/{name}", guard.digest(self.source.read(f"{self.folder}/{name}")))
                for name in self.list_templates()]

    def list_templates(self) -> list[str]:
        out, stack = [], [self.folder]
        while stack:
            folder = stack.pop()
            for name in self.source.listdir(folder):
                rel = f"{folder}/{name}"
                if self.source.isdir(rel):
                    stack.append(rel)
                else:
                    out.append(rel[len(self.folder) + 1:])
        return sorted(out)


def builtin_dir() -> Path:
    from mops.resources import templates_dir

    return templates_dir()


def environment(source: Source | None = None,
                cache_dir: Path | None = None) -> SandboxedEnvironment:
    """The Jinja2 environment: overrides from ``source`` (if given), then the built-ins.

    ``cache_dir`` keeps compiled templates (keyed by their source's checksum), which
    saves compiling some twenty templates on every run.
    """
    builtin = FileSystemLoader(str(builtin_dir()))
    loaders: list[BaseLoader] = []
    if source is not None:
        loaders.append(InventoryTemplateLoader(source))
    loaders += [PrefixLoader({"default": builtin}, delimiter=":"), builtin]
    cache = None
    if cache_dir is not None:
        try:
            cache_dir.mkdir(parents=True, exist_ok=True)
            cache = FileSystemBytecodeCache(str(cache_dir), CACHE_PATTERN)
        except OSError:
            cache = None  # a cache that cannot be written only costs time
    # auto_reload off: the templates of one commit cannot change while it is rendered (on,
    # every include and import would look at the file again, thousands of times a report).
    env = ReportEnvironment(loader=ChoiceLoader(loaders), autoescape=True,
                            undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                            keep_trailing_newline=True, bytecode_cache=cache, auto_reload=False)
    env.filters["ticks"] = ticks
    return env


#: The compiled templates' file names in the cache: Jinja2's, with the version of the
#: compiler (:class:`ReportCodeGenerator`) that made them, so that a cache written by an
#: earlier mops is not loaded as if this one had compiled it.
CACHE_PATTERN = "__mops_report_2_%s.cache"


try:  # what markupsafe's escape does to a str, without wrapping the result in Markup
    from markupsafe._speedups import _escape_inner
except ImportError:  # pragma: no cover - markupsafe without its C extension, or renamed
    def _escape_inner(s: str, /) -> str:
        return str(escape(s))


def _escape_output(value: Any) -> str:
    """``escape`` for what a template prints: the same text, as a plain str for a str.

    Compiled templates call ``escape`` on every ``{{ ... }}`` they print (millions in a
    whole-inventory report), only to put the result in the output, where it is joined
    with the rest: there a str is as good as markupsafe's Markup, which costs ten times
    as much to make. Markup (a macro's output, a filter's) is printed as it is, as
    ``escape`` prints it; anything else goes to ``escape`` itself.
    """
    kind = type(value)
    if kind is str:
        return _escape_inner(value)
    if kind is Markup:
        return value
    return escape(value)


class ReportTemplate(Template):
    """A template whose printed values are escaped by :func:`_escape_output`."""

    @classmethod
    def from_code(cls, environment: Environment, code: Any, globals: Any,
                  uptodate: Callable[[], bool] | None = None) -> Template:
        template = super().from_code(environment, code, globals, uptodate)
        # The name the compiled module prints through (in no other place does it call it).
        namespace = template.root_render_func.__globals__
        if namespace.get("escape") is escape:
            namespace["escape"] = _escape_output
        return template


class ReportCodeGenerator(CodeGenerator):
    """Jinja2's compiler, printing each run of text and ``{{ ... }}`` between two tags as
    one piece, where Jinja2 yields each part alone.

    Every piece a template yields passes up through each template that includes it (a
    whole-inventory report's are some eight deep, and millions), so fewer pieces is less
    of the rendering's time. The parts are evaluated in the same order, each escaped as
    before, and joined: the same text; what each part does (the sandbox's checks, the
    escaping) is Jinja2's own code, as the buffered output of a macro or ``{% set %}``
    block compiles it. A template that raises mid-way renders no report either way.
    """

    def visit_Output(self, node: nodes.Output, frame: Frame) -> None:
        if (frame.buffer is not None or frame.require_output_check or len(node.nodes) < 2
                or self.environment.is_async):
            super().visit_Output(node, frame)
            return
        pieces = self.temporary_identifier()
        self.writeline(f"{pieces} = []")
        frame.buffer = pieces
        try:
            super().visit_Output(node, frame)
        finally:
            frame.buffer = None
        self.writeline(f"yield concat({pieces})")


class ReportEnvironment(SandboxedEnvironment):
    """The sandbox, answering ``mapping.key`` on a plain dict (all of a report's context)
    without the detour it takes otherwise: an attribute lookup that fails, then the item;
    and printing through :class:`ReportTemplate`.

    The answer is the sandbox's own: a name that is an attribute of ``dict`` (``items``,
    ``__class__``) still goes through :meth:`SandboxedEnvironment.getattr` and its checks;
    any other name of a dict is its item or undefined, as the sandbox would give it.
    """

    template_class = ReportTemplate
    code_generator_class: type[CodeGenerator] = ReportCodeGenerator

    def call(__self, __context: Context, __obj: Any,  # noqa: N805 (Jinja2's own signature)
             *args: Any, **kwargs: Any) -> Any:
        """A macro of the templates called as :meth:`Context.call` would call it, without
        the checks made for an unknown callable (a Macro is Jinja2's own, safe to call,
        and takes no context): a report calls its macros hundreds of thousands of times."""
        if type(__obj) is Macro:
            kwargs.pop("_block_vars", None)
            kwargs.pop("_loop_vars", None)
            try:
                if kwargs or not _plain_call(__obj, args):
                    return __obj(*args, **kwargs)
                # What Macro.__call__ and _invoke do with exactly its arguments, in order
                # (Markup of a plain str is str's __new__, as _as_markup says).
                rv = __obj._func(*args)
                if not __obj._default_autoescape:
                    return rv
                return str.__new__(Markup, rv) if type(rv) is str else Markup(rv)
            except StopIteration:
                return __context.environment.undefined(
                    "value was undefined because a callable raised a StopIteration exception")
        return super().call(__context, __obj, *args, **kwargs)

    def _load_template(self, name: str,
                       globals: MutableMapping[str, Any] | None) -> Template:
        """Jinja2's, with the templates loaded without globals also in a plain dict: its
        cache (a lock and a reordered list at each look) is asked at each include and
        import, hundreds of thousands of times a report; with ``auto_reload`` off it
        gives the template it holds, as this does."""
        loaded: dict[str, tuple[Any, Template]] = self.__dict__.setdefault("_mops_loaded", {})
        found = loaded.get(name) if not globals else None
        if found is not None and found[0] is self.loader and not self.auto_reload:
            return found[1]
        template = super()._load_template(name, globals)
        if not globals:
            loaded[name] = (self.loader, template)
        return template

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        """A template's globals over the environment's, as one dict: Jinja2's ChainMap of
        the two answers the same, but in Python code, and each include and import of a
        report (hundreds of thousands) looks at every key. The environment's globals are
        never changed once :func:`environment` has made it."""
        return {**self.globals, **(d or {})}

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)


def _plain_call(macro: Macro, args: tuple[Any, ...]) -> bool:
    """Whether :meth:`Macro.__call__` would pass ``args`` on as they are: each of its
    arguments given by position, none more, no caller, no ``varargs``/``kwargs``, no
    evaluation context first (the macros of a report's templates, called hundreds of
    thousands of times, where the general call costs more than the macro's body)."""
    return (len(args) == macro._argument_count and not macro.caller
            and not macro.catch_kwargs and not macro.catch_varargs
            and not macro._environment.is_async
            and not (args and isinstance(args[0], EvalContext)))


def _as_markup(text: str) -> Markup:
    """``Markup(text)`` for a plain str (Markup's ``__new__`` only calls str's for one)."""
    return str.__new__(Markup, text)


#: Every name ``getattr`` finds on a dict (what the sandbox looks at before the items).
_DICT_ATTRIBUTES = frozenset(name for name in dir({}) if hasattr({}, name))


TICKS_RE = re.compile(r"`([^`\n]+)`")


def ticks(value: Any) -> Markup:
    """Text with its `backtick` spans as ``<code>`` (escaped first: nothing else becomes HTML)."""
    escaped = _as_markup(_escape_inner(value)) if type(value) is str else escape(value)
    if "`" not in escaped:
        return escaped
    return Markup(TICKS_RE.sub(lambda m: f"<code>{m.group(1)}</code>", str(escaped)))


def render_html(context: dict[str, Any], env: Environment,
                template: str = DEFAULT_TEMPLATE) -> str:
    """Render, then write the report's digest into it (see :func:`report_digest`)."""
    with _template_errors():
        html = env.get_template(template).render(context)
    return seal(guard.enforce(html, overrides(env)))


@contextlib.contextmanager
def _template_errors() -> Iterator[None]:
    """A template's failure as a usage error naming ``file:line``."""
    try:
        yield
    except TemplateNotFound as exc:
        raise UsageError(f"report template {exc.name!r} not found (in the inventory's "
                         f"{OVERRIDES_DIR}/ or the built-ins)") from None
    except TemplateError as exc:
        where = _template_location(exc)
        raise UsageError(f"{where + ': ' if where else ''}report template error: "
                         f"{exc.message}") from None


#: Rendered pieces (a few characters each) joined at a time, then checked and written
#: in parts of at most CHUNK characters.
PIECES = 4096
CHUNK = 1 << 16


def render_to(context: dict[str, Any], env: Environment, out: Path,
              template: str = DEFAULT_TEMPLATE) -> str:
    """:func:`render_html` streamed into the file ``out`` (replaced atomically, nothing
    written on failure): the report is never held whole, so its memory does not grow
    with the inventory. Returns the report's digest ("" when the template prints none).

    The digest is hashed as the text is written (the template prints 64 zeros in its
    place) and written over the zeros at the end; :mod:`guard` checks the stream.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    try:
        with os.fdopen(fd, "w+b") as fh:
            digest = _stream(context, env, template, fh)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return digest


def _stream(context: dict[str, Any], env: Environment, template: str, fh: BinaryIO) -> str:
    listed = overrides(env)
    check = guard.Stream(listed)
    sealer = _Sealer(fh)
    with _template_errors():
        generated = env.get_template(template).generate(context)
        # Joined in C, PIECES at a time (a report is millions of small pieces); until the
        # template is done, not until a join is empty (a loop may print nothing for
        # thousands of items).
        while batch := list(islice(generated, PIECES)):
            text = "".join(batch)
            for at in range(0, len(text), CHUNK):
                sealer.write(check.feed(text[at:at + CHUNK]))
    sealer.write(check.close())
    if check.recheck or sealer.irregular:  # rare: read it whole, as render_html does
        fh.seek(0)
        html = fh.read().decode("utf-8")
        if check.recheck:  # the built-ins only, so there is no notice to insert
            guard.refuse(guard.check(html)[0], listed)
        sealed = seal(html).encode("utf-8")
        fh.seek(0)
        fh.truncate()
        fh.write(sealed)
        found = DIGEST_RE.search(html)
        return report_digest(html) if found else ""
    return sealer.finish()


class _Sealer:
    """Writes the report, hashing it, and notes where each digest placeholder sits."""

    PLACEHOLDER = f'id="report-digest">{DIGEST_PLACEHOLDER}<'.encode()

    def __init__(self, fh: BinaryIO) -> None:
        self.fh = fh
        self.hash = hashlib.sha256()
        self.written = 0
        self.tail = b""
        self.places: list[int] = []
        #: A digest spot holding something other than zeros (an override's doing).
        self.irregular = False

    def write(self, text: str) -> None:
        if not text:
            return
        data = text.encode("utf-8")
        self.fh.write(data)
        self.hash.update(data)
        window, base = self.tail + data, self.written - len(self.tail)
        for m in DIGEST_BYTES_RE.finditer(window):
            if m.end() <= len(self.tail):
                continue  # seen with the previous piece
            if m.group(2) == DIGEST_PLACEHOLDER.encode():
                self.places.append(base + m.start(2))
            else:
                self.irregular = True
        self.written += len(data)
        self.tail = window[-(len(self.PLACEHOLDER) - 1):]

    def finish(self) -> str:
        if not self.places:
            return ""
        digest = self.hash.hexdigest()
        for at in self.places:
            self.fh.seek(at)
            self.fh.write(digest.encode())
        return digest


DIGEST_BYTES_RE = re.compile(DIGEST_RE.pattern.encode())


def overrides(env: Environment) -> list[tuple[str, str]]:
    """The inventory's templates ``env`` may use, each with its sha256 (none: built-ins only)."""
    loaders = env.loader.loaders if isinstance(env.loader, ChoiceLoader) else [env.loader]
    return [item for loader in loaders if isinstance(loader, InventoryTemplateLoader)
            for item in loader.digests()]


def _template_location(exc: TemplateError) -> str:
    """``file:line`` of the template that failed (syntax errors carry it; runtime errors
    carry it in the traceback Jinja2 rewrites to point into templates)."""
    if isinstance(exc, TemplateSyntaxError) and exc.filename:
        return f"{exc.filename}:{exc.lineno}"
    where = ""
    tb = exc.__traceback__
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if name.endswith(".html") or name.startswith(OVERRIDES_DIR + "/"):
            where = f"{name}:{tb.tb_lineno}"
        tb = tb.tb_next
    return where


def report_digest(html: str) -> str:
    """sha256 of the report's UTF-8 bytes with its own digest value replaced by 64 zeros.

    So it covers every byte of the file except the 64 hex digits where it is
    printed: anyone can check it by putting the zeros back and hashing.
    """
    blank = DIGEST_RE.sub(lambda m: m.group(1) + DIGEST_PLACEHOLDER + m.group(3), html)
    return hashlib.sha256(blank.encode("utf-8")).hexdigest()


def seal(html: str) -> str:
    """Fill in the digest of a freshly rendered report (whose digest is still zeros)."""
    digest = report_digest(html)
    return DIGEST_RE.sub(lambda m: m.group(1) + digest + m.group(3), html)


def verify_digest(html: str) -> bool:
    """True when the digest printed in a report matches its content."""
    found = DIGEST_RE.search(html)
    return found is not None and found.group(2) == report_digest(html)
