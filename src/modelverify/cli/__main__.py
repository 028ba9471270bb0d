"""``python -m modelverify.cli``."""

from modelverify.cli.main import main

main()
