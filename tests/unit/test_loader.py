"""Importing the user's worker modules, as ``sidequest run`` does: ``-r MODULE``, ``-r path/to/file.py``,
or the recipe's convention (an ``app/workers`` package, subpackages included). A module that cannot be
imported is a ConfigurationError naming it and the underlying error.

Each scenario writes a small application into its own directory; the modules it imports are forgotten
afterwards, so the next scenario can reuse the same package names."""

from __future__ import annotations

import gc
import importlib
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from sidequest.errors import ConfigurationError
from sidequest.loader import load_worker_modules
from sidequest.registry import WorkerRegistry

WORKER_SOURCE = """
    import sidequest

    class {name}(sidequest.Worker):
        def perform(self, *args):
            pass
"""


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    """An empty application directory; sys.modules and sys.path are put back as they were afterwards."""
    modules, path = set(sys.modules), list(sys.path)
    importlib.invalidate_caches()
    yield tmp_path
    for name in set(sys.modules) - modules:
        del sys.modules[name]
    sys.path[:] = path
    gc.collect()  # drop the scenario's Worker classes, which Worker.__subclasses__() would still list


def write(project: Path, relative: str, source: str = "") -> Path:
    """Write a file, making the directories on the way."""
    path = project / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))
    return path


def worker(name: str) -> str:
    return WORKER_SOURCE.format(name=name)


def loaded_names() -> list[str]:
    return WorkerRegistry.from_loaded().names()


# -- -r MODULE -----------------------------------------------------------------------------------------


def test_a_module_named_with_r_is_imported_from_the_working_directory(project: Path) -> None:
    write(project, "billing_jobs/__init__.py")
    write(project, "billing_jobs/invoices.py", worker("InvoiceWorker"))

    modules = load_worker_modules(["billing_jobs.invoices"], cwd=project)

    assert modules == ["billing_jobs.invoices"]
    assert "billing_jobs.invoices.InvoiceWorker" in loaded_names()


def test_several_r_modules_are_imported_in_order(project: Path) -> None:
    write(project, "first_jobs.py", worker("FirstWorker"))
    write(project, "second_jobs.py", worker("SecondWorker"))

    assert load_worker_modules(["first_jobs", "second_jobs"], cwd=project) == ["first_jobs", "second_jobs"]
    assert {"first_jobs.FirstWorker", "second_jobs.SecondWorker"} <= set(loaded_names())


def test_r_with_a_py_path_imports_the_file_by_its_stem(project: Path) -> None:
    write(project, "scripts/nightly_jobs.py", worker("NightlyWorker"))

    modules = load_worker_modules(["scripts/nightly_jobs.py"], cwd=project)

    assert modules == ["nightly_jobs"]
    assert "nightly_jobs.NightlyWorker" in loaded_names()


def test_r_with_an_absolute_py_path_works_from_any_working_directory(project: Path) -> None:
    path = write(project, "elsewhere/absolute_jobs.py", worker("AbsoluteWorker"))
    (project / "cwd").mkdir()

    assert load_worker_modules([str(path)], cwd=project / "cwd") == ["absolute_jobs"]


def test_r_with_a_py_path_that_does_not_exist_says_so(project: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"cannot load workers from 'missing/jobs.py': no such file"):
        load_worker_modules(["missing/jobs.py"], cwd=project)


def test_r_with_a_module_that_does_not_exist_names_it(project: Path) -> None:
    with pytest.raises(ConfigurationError) as raised:
        load_worker_modules(["no_such_jobs_module"], cwd=project)

    message = str(raised.value)
    assert message.startswith("could not import worker module 'no_such_jobs_module': ModuleNotFoundError")


def test_a_module_that_raises_on_import_is_named_with_the_error(project: Path) -> None:
    write(project, "broken_jobs.py", "import sidequest\nraise RuntimeError('DATABASE_URL is not set')\n")

    with pytest.raises(ConfigurationError) as raised:
        load_worker_modules(["broken_jobs"], cwd=project)

    assert str(raised.value) == (
        "could not import worker module 'broken_jobs': RuntimeError: DATABASE_URL is not set"
    )
    assert isinstance(raised.value.__cause__, RuntimeError)


def test_a_module_with_a_syntax_error_is_named_with_the_error(project: Path) -> None:
    write(project, "typo_jobs.py", "def perform(self:\n    pass\n")

    with pytest.raises(ConfigurationError) as raised:
        load_worker_modules(["typo_jobs"], cwd=project)

    message = str(raised.value)
    assert message.startswith("could not import worker module 'typo_jobs': File ")
    assert f'{project / "typo_jobs.py"}", line 1' in message
    assert "SyntaxError: '(' was never closed" in message


def test_a_module_whose_worker_has_no_perform_fails_to_load_with_the_rename_advice(project: Path) -> None:
    write(
        project,
        "recipe_jobs.py",
        """
        import sidequest

        class OrderConfirmationWorker(sidequest.Worker):
            def process(self, order_id=None):
                pass
        """,
    )

    with pytest.raises(ConfigurationError) as raised:
        load_worker_modules(["recipe_jobs"], cwd=project)

    message = str(raised.value)
    assert "could not import worker module 'recipe_jobs': sidequest.errors.WorkerDefinitionError" in message
    assert "rename it to perform" in message


# -- the convention: app/workers -----------------------------------------------------------------------


def test_without_r_the_app_workers_package_is_imported_with_all_its_subpackages(project: Path) -> None:
    write(project, "app/__init__.py")
    write(project, "app/workers/__init__.py")
    write(project, "app/workers/order_confirmation_worker.py", worker("OrderConfirmationWorker"))
    write(project, "app/workers/mailers/__init__.py")
    write(project, "app/workers/mailers/welcome_worker.py", worker("WelcomeWorker"))
    write(project, "app/workers/mailers/billing/__init__.py")
    write(project, "app/workers/mailers/billing/receipt_worker.py", worker("ReceiptWorker"))

    modules = load_worker_modules([], cwd=project)

    assert sorted(modules) == [
        "app.workers",
        "app.workers.mailers",
        "app.workers.mailers.billing",
        "app.workers.mailers.billing.receipt_worker",
        "app.workers.mailers.welcome_worker",
        "app.workers.order_confirmation_worker",
    ]
    assert modules[0] == "app.workers"
    assert {
        "app.workers.order_confirmation_worker.OrderConfirmationWorker",
        "app.workers.mailers.welcome_worker.WelcomeWorker",
        "app.workers.mailers.billing.receipt_worker.ReceiptWorker",
    } <= set(loaded_names())


def test_app_workers_without_init_files_is_found_too(project: Path) -> None:
    write(project, "app/workers/report_worker.py", worker("ReportWorker"))

    modules = load_worker_modules([], cwd=project)

    assert modules == ["app.workers", "app.workers.report_worker"]
    assert "app.workers.report_worker.ReportWorker" in loaded_names()


def test_without_app_workers_a_top_level_workers_package_is_used(project: Path) -> None:
    write(project, "workers/__init__.py")
    write(project, "workers/cleanup_worker.py", worker("CleanupWorker"))

    assert load_worker_modules([], cwd=project) == ["workers", "workers.cleanup_worker"]


def test_a_single_workers_py_module_is_used_as_well(project: Path) -> None:
    write(project, "workers.py", worker("OnlyWorker"))

    assert load_worker_modules([], cwd=project) == ["workers"]
    assert "workers.OnlyWorker" in loaded_names()


def test_app_workers_wins_over_a_top_level_workers_package(project: Path) -> None:
    write(project, "app/workers/__init__.py")
    write(project, "workers/__init__.py", "raise RuntimeError('must not be imported')\n")

    assert load_worker_modules([], cwd=project) == ["app.workers"]


def test_r_modules_replace_the_convention(project: Path) -> None:
    write(project, "app/workers/__init__.py", "raise RuntimeError('must not be imported')\n")
    write(project, "chosen_jobs.py", worker("ChosenWorker"))

    assert load_worker_modules(["chosen_jobs"], cwd=project) == ["chosen_jobs"]


def test_a_broken_module_deep_in_app_workers_is_named(project: Path) -> None:
    write(project, "app/workers/__init__.py")
    write(project, "app/workers/fine_worker.py", worker("FineWorker"))
    write(project, "app/workers/mailers/__init__.py")
    write(project, "app/workers/mailers/broken_worker.py", "import not_installed_mail_library\n")

    with pytest.raises(ConfigurationError) as raised:
        load_worker_modules([], cwd=project)

    message = str(raised.value)
    assert message.startswith("could not import worker module 'app.workers.mailers.broken_worker'")
    assert "No module named 'not_installed_mail_library'" in message


def test_a_broken_subpackage_of_app_workers_is_named(project: Path) -> None:
    write(project, "app/workers/__init__.py")
    write(project, "app/workers/mailers/__init__.py", "raise ImportError('smtp settings missing')\n")
    write(project, "app/workers/mailers/welcome_worker.py", worker("WelcomeWorker"))

    with pytest.raises(
        ConfigurationError, match=r"'app\.workers\.mailers': ImportError: smtp settings missing"
    ):
        load_worker_modules([], cwd=project)


def test_with_nothing_to_load_the_error_says_what_to_pass_or_create(project: Path) -> None:
    with pytest.raises(ConfigurationError) as raised:
        load_worker_modules([], cwd=project)

    message = str(raised.value)
    assert message.startswith("no worker modules to load: pass -r MODULE (e.g. -r myapp.workers)")
    assert f"'app/workers' or 'workers' package in {project.resolve()}" in message


# -- -r PACKAGE ----------------------------------------------------------------------------------------


def test_r_naming_a_package_whose_init_imports_nothing_imports_every_module_below_it(project: Path) -> None:
    write(project, "app/__init__.py")
    write(project, "app/workers/__init__.py")
    write(project, "app/workers/billing/__init__.py")
    write(project, "app/workers/billing/invoice_worker.py", worker("InvoiceWorker"))
    write(project, "app/workers/welcome_worker.py", worker("WelcomeWorker"))

    modules = load_worker_modules(["app.workers"], cwd=project)

    assert modules[0] == "app.workers"
    assert sorted(modules) == [
        "app.workers",
        "app.workers.billing",
        "app.workers.billing.invoice_worker",
        "app.workers.welcome_worker",
    ]
    assert {
        "app.workers.billing.invoice_worker.InvoiceWorker",
        "app.workers.welcome_worker.WelcomeWorker",
    } <= set(loaded_names())


def test_r_naming_a_plain_module_imports_just_it(project: Path) -> None:
    write(project, "jobs/__init__.py")
    write(project, "jobs/nightly.py", worker("NightlyWorker"))
    write(project, "jobs/unrelated.py", "raise RuntimeError('never imported')\n")

    assert load_worker_modules(["jobs.nightly"], cwd=project) == ["jobs.nightly"]


def test_a_broken_module_deep_in_an_r_package_is_named(project: Path) -> None:
    write(project, "shop/__init__.py")
    write(project, "shop/workers/__init__.py")
    write(project, "shop/workers/mail/__init__.py")
    write(project, "shop/workers/mail/broken_worker.py", "raise RuntimeError('no SMTP_HOST')\n")

    with pytest.raises(ConfigurationError) as raised:
        load_worker_modules(["shop.workers"], cwd=project)

    assert "'shop.workers.mail.broken_worker': RuntimeError: no SMTP_HOST" in str(raised.value)
