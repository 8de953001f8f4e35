"""Import the user's worker modules: ``-r MODULE`` flags, or the recipe's convention.

A ``-r`` naming a package imports it with every subpackage and module below it (the recipe keeps one
worker per file in ``app/workers/``, in subdirectories, with an ``__init__.py`` that imports nothing);
a ``-r`` naming a plain module imports just it. Without ``-r``, sidequest looks in the working
directory for an ``app/workers`` package, then a ``workers`` package (or ``workers.py``), and imports
it the same way.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sidequest.errors import ConfigurationError
from sidequest.registry import WorkerRegistry

CONVENTIONAL_PACKAGES = ("app.workers", "workers")


def load_worker_modules(requires: Sequence[str], cwd: Path | None = None) -> list[str]:
    """Import ``requires`` (dotted module names or paths to .py files) and return the module names.

    A package is imported with all its submodules, in order. With no ``requires``, imports the
    conventional workers package of ``cwd`` and all its submodules.
    Raises :class:`ConfigurationError` naming the module and the underlying error when one cannot be
    imported, or when there is nothing to import.
    """
    base = (cwd or Path.cwd()).resolve()
    if str(base) not in sys.path:
        sys.path.insert(0, str(base))
    if requires:
        names: list[str] = []
        for spec in requires:
            names += [name for name in _import_tree(_module_name(spec, base)) if name not in names]
        return names
    for candidate in CONVENTIONAL_PACKAGES:
        path = base.joinpath(*candidate.split("."))
        if path.is_dir() or path.with_suffix(".py").is_file():
            return _import_tree(candidate)
    raise ConfigurationError(
        f"no worker modules to load: pass -r MODULE (e.g. -r myapp.workers), or create an 'app/workers' "
        f"or 'workers' package in {base}"
    )


def load_workers(requires: Sequence[str], cwd: Path | None = None) -> tuple[list[str], WorkerRegistry]:
    """Import the worker modules as :func:`load_worker_modules` does; return their names and a registry
    of the Workers they define, including those of modules they import in turn.

    Workers imported before the call (sidequest's own, or a caller's) are left out, except those of
    ``__main__``, so a command run inside a bigger Python process (a test) sees only what it loaded.
    """
    before = set(sys.modules)
    modules = load_worker_modules(requires, cwd)
    imported = (set(sys.modules) - before) | set(modules) | {"__main__"}

    def loaded_here(module: str) -> bool:
        return module in imported or any(module.startswith(name + ".") for name in modules)

    workers = [worker for worker in WorkerRegistry.from_loaded() if loaded_here(worker.__module__)]
    return modules, WorkerRegistry.of(*workers)


def load_object(spec: str) -> Any:
    """Import ``module:attribute`` (e.g. ``app.middleware:audit``) and return the attribute.

    Raises :class:`ConfigurationError` naming the spec when the module or attribute is missing.
    """
    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name or not attribute:
        raise ConfigurationError(f"bad reference {spec!r}: write MODULE:ATTRIBUTE, e.g. app.middleware:audit")
    _import(module_name)
    target: Any = sys.modules[module_name]
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise ConfigurationError(f"bad reference {spec!r}: {module_name} has no attribute {attribute!r}")
        target = getattr(target, part)
    return target


def _module_name(spec: str, base: Path) -> str:
    if spec.endswith(".py") or "/" in spec:
        path = (base / spec).resolve()
        if not path.exists():
            raise ConfigurationError(f"cannot load workers from {spec!r}: no such file")
        parent = str(path.parent)
        if parent not in sys.path:
            sys.path.insert(0, parent)
        return path.stem if path.is_file() else path.name
    return spec


def _import(name: str) -> str:
    try:
        importlib.import_module(name)
    except Exception as exc:
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        raise ConfigurationError(f"could not import worker module {name!r}: {detail}") from exc
    return name


def _import_tree(package: str) -> list[str]:
    """Import ``package`` and, when it is a package, every module below it; return their names."""
    names = [_import(package)]
    module = sys.modules[package]
    paths = getattr(module, "__path__", None)
    if paths is not None:
        for info in pkgutil.walk_packages(paths, prefix=package + "."):
            names.append(_import(info.name))
    return names
