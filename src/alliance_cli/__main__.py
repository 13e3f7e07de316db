"""``python -m alliance_cli``."""

from alliance_cli.cli import main

main()
