"""Is the installed cicd exactly the suite at a given commit? setup-cicd asks before reusing one.

A runner may already have a cicd on PATH (a prepared self-hosted runner, a laptop running the workflows
under act). Its version number proves nothing: every commit of the suite says 0.1.0. So it is reused only
when every module of the suite's checkout at the referenced commit is byte-for-byte the module the
installed package runs; otherwise setup-cicd installs the checkout.
"""

from __future__ import annotations

from pathlib import Path


def first_difference(suite_package: Path, installed_package: Path) -> str | None:
    """The first module of `suite_package` that the installed package lacks or holds otherwise."""
    modules = sorted(path for path in suite_package.rglob("*.py") if "__pycache__" not in path.parts)
    if not modules:
        return f"{suite_package} holds no cicd modules"
    for module in modules:
        relative = module.relative_to(suite_package)
        installed = installed_package / relative
        if not installed.is_file():
            return f"{relative} is not installed"
        if installed.read_bytes() != module.read_bytes():
            return f"{relative} differs"
    return None


def installed_package() -> Path:
    import cicd

    return Path(cicd.__file__).resolve().parent
