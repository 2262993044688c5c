"""``python -m pgbooks`` == ``pgbooks``."""

from pgbooks.cli import main

main()
