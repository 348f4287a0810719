"""`python -m visitdesk.desktop`, and the entry script of the installed (PyInstaller) build."""

import multiprocessing
import sys

if __name__ == "__main__":
    # A statement run's render process starts this same program; in a frozen build it must turn
    # into the worker here, before the whole desk and Qt are imported for nothing.
    multiprocessing.freeze_support()
    from visitdesk.desktop.app import main

    sys.exit(main())
