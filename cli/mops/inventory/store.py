"""Reading an inventory, from the working tree or from any commit, through one interface."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from stat import S_ISDIR, S_ISREG
from typing import Any, Protocol

from mops import clock, git
from mops.errors import NotAnInventoryError, NotFoundError, RecordError, UsageError
from mops.inventory import layout, records, stamps, yamlio
from mops.inventory.layout import MODELS_DIR, SETTINGS_FILE
from mops.inventory.names import (
    ModelRef,
    did_you_mean,
    validate_model,
    validate_record_id,
    validate_version,
)
from mops.inventory.stamps import StampCache


class Source(Protocol):
    """Where the inventory's bytes come from: the working tree or a commit."""

    def read(self, rel: str) -> bytes: ...
    def listdir(self, rel: str) -> list[str]: ...
    def isdir(self, rel: str) -> bool: ...
    def isfile(self, rel: str) -> bool: ...


class WorktreeSource:
    """The working tree. A symlink that points outside the inventory is never followed."""

    #: The folder read most: each model's folder in it is indexed when first read, with one
    #: scandir per directory, so that reading one model never lists another's files.
    INDEXED = MODELS_DIR

    def __init__(self, root: Path, stamps: StampCache | None = None) -> None:
        self.root = root
        #: What was remembered of each model folder (its folders' listings, its files' blob
        #: ids) by stamp; None: nothing is (every folder is listed, every file read).
        self.stamps = stamps
        self._root = os.fspath(root) + os.sep
        self._real_root = os.path.realpath(root)
        self._checked: set[str] = {""}
        #: ``models/<id>`` -> its index (None: it holds a symlink, so every path is checked).
        self._units: dict[str, _TreeIndex | None] = {}
        self._indexed_link: bool | None = None
        #: The folders of ``models/`` that are symbolic links, once ``models/`` was listed.
        self._linked_units: set[str] | None = None
        #: ``models/``'s entries, once listed, and those that are files.
        self._listed: list[str] | None = None
        self._file_units: set[str] = set()

    def invalidate(self) -> None:
        """Forget what was listed (after mops wrote files)."""
        self._units = {}
        self._linked_units = None
        self._file_units = set()

    def _tree(self, rel: str) -> _TreeIndex | None:
        if not rel.startswith(self._PREFIX):
            return None
        unit = self._unit(rel)
        try:
            return self._units[unit]
        except KeyError:
            pass
        if self._indexed_link is None:
            self._indexed_link = os.path.islink(self._root + self.INDEXED)
        linked = unit in self._linked_units if self._linked_units is not None else None
        if unit in self._file_units:  # not a folder (as listed): no index, as scan finds
            self._units[unit] = None
            return None
        known = self.stamps.unit(unit) if self.stamps is not None else None
        tree = None if self._indexed_link else _TreeIndex.scan(self._root, unit, linked, known)
        self._units[unit] = tree
        return tree

    _PREFIX = INDEXED + "/"
    _AFTER = len(_PREFIX)

    def _list_indexed(self) -> list[str]:
        """``models/``'s entries; which are symbolic links is noted on the way (free)."""
        path = self._path(self.INDEXED)
        try:
            with os.scandir(path) as it:
                entries = list(it)
        except (FileNotFoundError, NotADirectoryError):
            return []
        if os.path.islink(path):  # the folder itself: every path below is checked
            return sorted(e.name for e in entries)
        self._linked_units = {f"{self._PREFIX}{e.name}" for e in entries if e.is_symlink()}
        self._file_units = {f"{self._PREFIX}{e.name}" for e in entries
                            if not e.is_symlink() and not e.is_dir(follow_symlinks=False)}
        self._listed = sorted(e.name for e in entries)
        return list(self._listed)

    def holding(self, file: str) -> list[str]:
        """The entries of ``models/`` (sorted) holding ``file`` (``models/<entry>/<file>``
        is a file, as :meth:`isfile` finds it): with one ``lstat``
        of the file for a plain folder, so that asking it of 10,000 models loads nothing of
        what was remembered of their folders."""
        names = self.listdir(self.INDEXED)
        linked = self._linked_units  # None: models/ is a link (or none), as listed
        out = []
        for name in names:
            unit = self._PREFIX + name
            rel = f"{unit}/{file}"
            if linked is None or self._indexed_link or unit in self._units or unit in linked \
                    or unit in self._file_units:
                if self.isfile(rel):
                    out.append(name)
                continue
            try:
                mode = os.lstat(self._root + rel).st_mode
            except (FileNotFoundError, NotADirectoryError):
                continue
            if S_ISREG(mode) or (not S_ISDIR(mode) and self.isfile(rel)):  # a link: checked
                out.append(name)
        return out

    def _path(self, rel: str) -> str:
        # Each path prefix is checked once (lstat), so large inventories stay fast.
        if rel not in self._checked:
            parent = rel.rpartition("/")[0]
            if parent not in self._checked:
                self._path(parent)
            full = os.path.join(self.root, rel)
            if os.path.islink(full):
                real = os.path.realpath(full)
                if real != self._real_root and not real.startswith(self._real_root + os.sep):
                    raise RecordError(rel, "is a symbolic link that points outside the inventory; "
                                           "mops does not follow it")
            self._checked.add(rel)
        return os.path.join(self.root, rel) if rel else str(self.root)

    def read(self, rel: str) -> bytes:
        tree = self._tree(rel)
        path = self._root + rel if tree is not None else self._path(rel)
        with open(path, "rb") as fh:
            return fh.read()

    def blob_ids(self, rels: Sequence[str]) -> list[bytes]:
        """The git blob id of each file of ``rels``: remembered by its stamp in a model's
        folder (:mod:`mops.inventory.stamps`), else read and hashed (and remembered once
        settled)."""
        out = []
        unit = prefix = ""
        known = None
        for rel in rels:
            if not prefix or not rel.startswith(prefix):
                tree = self._tree(rel)
                unit = self._unit(rel)
                prefix = unit + "/"
                known = self.stamps.unit(unit) if tree is not None and self.stamps else None
            if known is None:
                out.append(yamlio.blob_id(self.read(rel)))
                continue
            path = self._root + rel
            name = rel[len(unit):]
            kept = known.blobs.get(name)
            if kept is not None and kept[:-20] == stamps.stamp(os.stat(path)):
                out.append(kept[-20:])
                continue
            data, seen = stamps.observe(path, stamps.read_bytes)
            blob = yamlio.blob_id(data)
            if seen is not None:
                known.blobs[name] = seen + blob
                known.dirty = True
            elif kept is not None:
                del known.blobs[name]
                known.dirty = True
            out.append(blob)
        return out

    def _unit(self, rel: str) -> str:
        end = rel.find("/", self._AFTER)
        return rel if end < 0 else rel[:end]

    def save(self) -> None:
        """Keep what was learnt of the model folders' stamps (dropping the folders that are
        gone, when every folder of ``models/`` was read)."""
        if self.stamps is None:
            return
        listed = self._listed
        self.stamps.save(prune=listed is not None and all(
            f"{self._PREFIX}{name}" in self._units for name in listed))

    def listdir(self, rel: str) -> list[str]:
        tree = self._tree(rel)
        if tree is not None:
            return tree.dirs.get(rel, [])
        if rel == self.INDEXED:
            return self._list_indexed()
        try:
            return sorted(os.listdir(self._path(rel)))
        except (FileNotFoundError, NotADirectoryError):
            return []

    def isdir(self, rel: str) -> bool:
        tree = self._tree(rel)
        if tree is not None:
            return rel in tree.dirs
        return os.path.isdir(self._path(rel))

    def isfile(self, rel: str) -> bool:
        tree = self._tree(rel)
        if tree is not None:
            return rel in tree.files
        return os.path.isfile(self._path(rel))

    def stat(self, rel: str) -> os.stat_result:
        tree = self._tree(rel)
        return os.stat(self._root + rel if tree is not None else self._path(rel))


@dataclass
class _TreeIndex:
    """Directories and files below one folder, read with one ``scandir`` per directory."""

    dirs: dict[str, list[str]]
    files: AbstractSet[str]
    #: What the stamp cache remembers of the folder, when it is exactly this tree.
    unit: stamps.Unit | None = None

    @classmethod
    def scan(cls, root: str, top: str, linked: bool | None = None,
             known: stamps.Unit | None = None) -> _TreeIndex | None:
        """The index of ``root + top``, or None when the folder is or holds a symlink (then
        every path is checked). ``linked``: whether ``top`` is one, when already known.
        ``known``: what was remembered of it; a folder whose stamp is the one remembered is
        not listed again, and ``known`` is brought up to date."""
        dirs: dict[str, list[str]] = {}
        files: set[str] = set()
        if linked is None:
            linked = os.path.islink(root + top)
        if linked:
            return None
        if known is not None and known.unchanged(root):
            return cls(known.dirs, known.files, known)
        seen: dict[str, stamps.Stamp | None] = {}
        stack = [top]
        while stack:
            folder = stack.pop()
            path = root + folder
            try:
                if known is None:
                    with os.scandir(path) as it:
                        entries = list(it)
                else:
                    entries, seen[folder] = stamps.observe(path, _listing, stat=os.lstat)
            except NotADirectoryError:
                if folder == top:
                    return None
                seen[folder] = None  # changed while it was listed: not remembered
                continue
            except FileNotFoundError:
                if folder != top:
                    seen[folder] = None
                continue
            names = []
            prefix = folder + "/"
            for entry in entries:
                if entry.is_symlink():
                    return None
                name = entry.name
                names.append(name)
                if entry.is_dir(follow_symlinks=False):
                    stack.append(prefix + name)
                else:
                    files.add(prefix + name)
            names.sort()
            dirs[folder] = names
        if known is not None:
            known.remember(top, seen, dirs, files)
            if known.folders:  # remembered as listed now
                return cls(dirs, files, known)
        return cls(dirs, files)


def _listing(path: str) -> list[os.DirEntry[str]]:
    with os.scandir(path) as it:
        return list(it)


class CommitSource:
    def __init__(self, reader: git.CommitReader) -> None:
        self.reader = reader

    def read(self, rel: str) -> bytes:
        if self.reader.is_symlink(rel):
            raise RecordError(rel, "is a symbolic link; mops does not follow links in history")
        return self.reader.read(rel)

    def listdir(self, rel: str) -> list[str]:
        return sorted(self.reader.dirs.get(rel, ()))

    def isdir(self, rel: str) -> bool:
        return rel in self.reader.dirs

    def isfile(self, rel: str) -> bool:
        return rel in self.reader.entries


@dataclass
class Version:
    model: str
    version: str
    dir: str
    record: records.VersionRecord
    evidence: list[records.Evidence] = field(default_factory=list)
    approvals: list[records.Approval] = field(default_factory=list)
    monitoring: list[records.Monitoring] = field(default_factory=list)

    @property
    def stage(self) -> str:
        return self.record.stage

    @property
    def ref(self) -> str:
        return f"{self.model}@{self.version}"


@dataclass
class Model:
    id: str
    dir: str
    card: records.Card
    versions: list[Version]
    findings: list[records.Finding]

    @property
    def latest(self) -> Version | None:
        return self.versions[-1] if self.versions else None

    def version(self, name: str) -> Version:
        for v in self.versions:
            if v.version == name:
                return v
        known = ", ".join(v.version for v in self.versions) or "none"
        raise NotFoundError(f"model {self.id!r} has no version {name!r} (versions: {known})")


@dataclass
class VersionFiles:
    """One version's record files: (path, record id) for each kind."""

    name: str
    dir: str
    record: str
    evidence: list[tuple[str, str]]
    approvals: list[tuple[str, str]]
    monitoring: list[tuple[str, str]]


@dataclass
class ModelFiles:
    """The record files of one model, as :meth:`Inventory.model_files` lists them."""

    model: str
    card: str
    versions: list[VersionFiles]
    findings: list[tuple[str, str]]

    def paths(self) -> list[str]:
        """Every record file's path, the card first."""
        out = [self.card]
        for v in self.versions:
            out.append(v.record)
            for kind in (v.evidence, v.approvals, v.monitoring):
                out.extend(path for path, _ in kind)
        out.extend(path for path, _ in self.findings)
        return out


def _bind(load: Callable[[str, bytes, str], Any], path: str, rid: str) -> Callable[[bytes], Any]:
    return lambda data: load(path, data, rid)


def _record_files(listdir: Callable[[str], list[str]], folder: str, suffix: str,
                  kind: str) -> list[tuple[str, str]]:
    """(path, id) of every ``<id><suffix>`` record in ``folder``, its id validated."""
    cut = -len(suffix)
    return [(f"{folder}/{fname}", validate_record_id(fname[:cut], kind))
            for fname in listdir(folder) if fname.endswith(suffix)]


def find_root(start: Path) -> Path:
    """The nearest directory at or above ``start`` holding ``mops.yaml``, like git finds .git."""
    start = start.resolve()
    for candidate in (start, *start.parents):
        if (candidate / SETTINGS_FILE).is_file():
            return candidate
    raise NotAnInventoryError(f"not a mops inventory (no {SETTINGS_FILE} in {start} or any "
                              f"parent): run `mops init` to create one")


class Inventory:
    """An inventory as it stands in the working tree (``commit=None``) or in a commit."""

    def __init__(self, root: Path, top: Path, source: Source, commit: str | None, *,
                 git_env: Mapping[str, str] | None = None,
                 record_cache: yamlio.ParseCache | None = None,
                 parsed: dict[tuple[str, str], Any] | None = None) -> None:
        self.root = root
        self.top = top
        self.prefix = "" if root == top else root.relative_to(top).as_posix()
        self.source = source
        self.commit = commit
        #: Extra environment for the git processes that act on this inventory: who acts and
        #: when (``GIT_COMMITTER_*``, ``GIT_AUTHOR_*``); None means the process's own.
        self.git_env = git_env
        #: Parsed records by blob id (``.git/mops/records/``, sealed): it only saves time.
        #: The loaders get it from here; :meth:`close` saves it.
        self.record_cache = record_cache
        #: Records read from history, by (path, blob id): inventories of many commits that
        #: share it (history replay) read each blob once. Only for a commit's inventory.
        self.parsed = parsed
        self._models: dict[str, Model] = {}
        #: Bytes to read instead of the files' (see :meth:`pinned`).
        self._pinned: dict[str, bytes] = {}

    # --------------------------------------------------------------- opening

    @classmethod
    def open(cls, start: Path, *, git_env: Mapping[str, str] | None = None,
             record_cache: yamlio.ParseCache | None = None) -> Inventory:
        """The inventory at or above ``start``, as it stands in the working tree.

        ``record_cache``: another inventory's, to share (else the repository's is read).
        """
        root = find_root(start)
        top = git.toplevel(root)
        if top is None:
            raise NotAnInventoryError(f"{root / SETTINGS_FILE} is not in a git repository: run "
                                      f"`git init` there, or `mops init` in a new folder")
        top = top.resolve()
        cache = git.git_dir(top) / layout.CACHE_DIR
        if record_cache is None:
            record_cache = yamlio.ParseCache(cache / layout.RECORD_CACHE)
        source = WorktreeSource(root, StampCache(cache / stamps.FOLDER))
        return cls(root, top, source, None, git_env=git_env, record_cache=record_cache)

    def at(self, rev: str) -> Inventory:
        """The same inventory as it stood at commit ``rev`` (read from git objects)."""
        commit = git.resolve(self.top, rev)
        reader = git.CommitReader(self.top, commit, self.prefix, lazy=MODELS_DIR)
        inv = Inventory(self.root, self.top, CommitSource(reader), commit, git_env=self.git_env,
                        record_cache=self.record_cache)
        if not inv.source.isfile(SETTINGS_FILE):
            raise UsageError(f"commit {commit[:12]} has no {SETTINGS_FILE}: the inventory did not "
                             f"exist yet")
        return inv

    def at_date(self, day: dt.date) -> Inventory:
        """The inventory as of the end of ``day`` (UTC): the last commit at or before it."""
        commit = git.commit_before(self.top, clock.end_of_day(day))
        if commit is None:
            raise UsageError(f"no commit at or before {day.isoformat()}: the inventory did not "
                             f"exist yet")
        return self.at(commit)

    def identity(self) -> git.Identity:
        """The acting person: git's committer identity (with :attr:`git_env`)."""
        return git.identity(self.top, self.git_env)

    @property
    def head(self) -> str | None:
        return self.commit or git.head(self.top)

    def git_path(self, rel: str) -> str:
        """A path relative to the inventory as git names it (from the repository's top)."""
        return f"{self.prefix}/{rel}" if self.prefix else rel

    # --------------------------------------------------------------- records

    def read(self, rel: str) -> bytes:
        pinned = self._pinned.get(rel)
        if pinned is not None:
            return pinned
        try:
            return self.source.read(rel)
        except FileNotFoundError:
            raise RecordError(rel, "file not found") from None
        except IsADirectoryError:
            raise RecordError(rel, "is a directory, expected a file") from None

    @cached_property
    def settings(self) -> records.Settings:
        return records.load_settings(SETTINGS_FILE, self.read(SETTINGS_FILE), cache=self.record_cache)

    def model_ids(self) -> list[str]:
        if isinstance(self.source, WorktreeSource):
            return self.source.holding(layout.CARD_FILE)
        ids = []
        for name in self.source.listdir(MODELS_DIR):
            if self.source.isfile(layout.card_path(name)):
                ids.append(name)
        return ids

    def has_model(self, model_id: str) -> bool:
        validate_model(model_id)
        return self.source.isfile(layout.card_path(model_id))

    def model(self, model_id: str) -> Model:
        validate_model(model_id)
        if model_id not in self._models:
            if not self.has_model(model_id):
                raise self.unknown_models([model_id])
            self._models[model_id] = self._load_model(model_id)
        return self._models[model_id]

    def unknown_models(self, names: Sequence[str], where: str = "") -> NotFoundError:
        """The error for model ids this inventory does not have: each with the closest
        known ids (``did you mean``), and where to see them all."""
        known = self.model_ids()
        what = ", ".join(repr(n) + (f" ({hint})" if (hint := did_you_mean(n, known)) else "")
                         for n in names)
        return NotFoundError(f"unknown model{'s' if len(names) > 1 else ''} {what} "
                             f"{where or 'in this inventory'}: `mops list` shows the models")

    def models(self) -> list[Model]:
        return [self.model(m) for m in self.model_ids()]

    def resolve(self, ref: ModelRef) -> tuple[Model, Version]:
        """The model and version a ``MODEL[@V]`` names (the latest version for ``MODEL``)."""
        model = self.model(ref.model)
        if ref.version:
            return model, model.version(ref.version)
        if model.latest is None:
            raise NotFoundError(f"model {model.id!r} has no versions yet")
        return model, model.latest

    def model_files(self, model_id: str) -> ModelFiles:
        """The record files that make up ``model_id`` (what :meth:`model` reads, in order):
        names checked before they become paths."""
        listdir: Callable[[str], list[str]] = self.source.listdir
        isfile: Callable[[str], bool] = self.source.isfile
        if isinstance(self.source, WorktreeSource):  # the model's folder, indexed: read it
            tree = self.source._tree(layout.model_dir(model_id))  # without a lookup per path
            if tree is not None:
                dirs, files = tree.dirs, tree.files

                def listdir(rel: str) -> list[str]:
                    return dirs.get(rel, [])

                def isfile(rel: str) -> bool:
                    return rel in files
        versions = []
        for name in listdir(layout.versions_dir(model_id)):
            vdir = layout.version_dir(model_id, name)
            if isfile(f"{vdir}/{layout.VERSION_FILE}"):
                validate_version(name)
                versions.append(VersionFiles(
                    name, vdir, f"{vdir}/{layout.VERSION_FILE}",
                    _record_files(listdir, f"{vdir}/{layout.EVIDENCE}", ".yaml", "evidence"),
                    _record_files(listdir, f"{vdir}/{layout.APPROVALS}", ".yaml", "approval"),
                    _record_files(listdir, f"{vdir}/{layout.MONITORING}", ".json",
                                  "monitoring record")))
        findings = _record_files(listdir, layout.findings_dir(model_id), ".yaml", "finding")
        return ModelFiles(model_id, layout.card_path(model_id), versions, findings)

    @contextlib.contextmanager
    def pinned(self, files: ModelFiles, data: Mapping[str, bytes]) -> Iterator[Model]:
        """The model made of exactly ``files`` with exactly ``data`` (what a key was computed
        from), and, inside the block, those bytes for every read of those paths: a file
        changed meanwhile cannot slip into what is kept under the key of the old one."""
        self._pinned = dict(data)
        try:
            yield self._load_model(files.model, files)
        finally:
            self._pinned = {}

    def _load_model(self, model_id: str, files: ModelFiles | None = None) -> Model:
        if files is None:
            files = self.model_files(model_id)
        card_path = files.card
        card = self._parse(card_path, lambda data: records.load_card(
            card_path, data, expected_id=model_id, cache=self.record_cache))
        versions = [self._load_version(model_id, vf) for vf in files.versions]
        versions.sort(key=lambda v: (v.record.registered_at, v.version))
        findings = self._records(files.findings, lambda p, data, rid: records.load_finding(
            p, data, record_id=rid, model=model_id, cache=self.record_cache))
        findings.sort(key=lambda f: (f.opened_at, f.id))
        return Model(id=model_id, dir=layout.model_dir(model_id), card=card, versions=versions,
                     findings=findings)

    def _load_version(self, model_id: str, files: VersionFiles) -> Version:
        path, name = files.record, files.name
        record = self._parse(path, lambda data: records.load_version(
            path, data, model=model_id, version=name, cache=self.record_cache))
        version = Version(model=model_id, version=name, dir=files.dir, record=record)
        version.evidence = self._records(files.evidence, lambda p, data, rid: records.load_evidence(
            p, data, record_id=rid, cache=self.record_cache))
        version.evidence.sort(key=lambda e: (e.added_at, e.id))
        version.approvals = self._records(files.approvals, lambda p, data, rid: records.load_approval(
            p, data, record_id=rid, cache=self.record_cache))
        version.approvals.sort(key=lambda a: (a.at, a.id))
        version.monitoring = self._records(files.monitoring, records.load_monitoring)
        version.monitoring.sort(key=lambda m: (m.at, m.id))
        return version

    def _records(self, files: list[tuple[str, str]],
                 load: Callable[[str, bytes, str], Any]) -> list[Any]:
        return [self._parse(path, _bind(load, path, rid)) for path, rid in files]

    def _parse(self, path: str, load: Callable[[bytes], Any]) -> Any:
        """``load(bytes of path)``, once per blob when reading history with ``parsed``."""
        if self.parsed is not None and isinstance(self.source, CommitSource):
            entry = self.source.reader.entries.get(path)
            if entry is not None:
                key = (path, entry.sha)
                if key not in self.parsed:
                    self.parsed[key] = load(self.read(path))
                return self.parsed[key]
        return load(self.read(path))

    def close(self) -> None:
        """Stop the git reader of a commit, and save the record cache."""
        if isinstance(self.source, CommitSource):
            self.source.reader.close()
        elif isinstance(self.source, WorktreeSource):
            self.source.save()
        if self.record_cache is not None:
            self.record_cache.save()

