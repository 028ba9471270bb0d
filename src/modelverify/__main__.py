"""``python -m modelverify``."""

from modelverify.cli.main import main

main()
