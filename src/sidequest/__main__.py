"""``python -m sidequest`` is the ``sidequest`` command."""

from sidequest.cli import main

main()
