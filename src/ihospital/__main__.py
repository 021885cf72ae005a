"""``python -m ihospital``: the same as the ``ihospital`` command."""

from ihospital.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
