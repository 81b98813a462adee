"""``python -m phantom``: the same as the ``phantom`` command."""

from phantom.cli.main import main

__all__: list[str] = []

if __name__ == "__main__":
    main()
