"""Allow ``python -m reach_dq``."""

from reach_dq.cli import main

main()
