"""`python -m visitdesk.desktop`, and the entry script of the installed (PyInstaller) build."""

import sys

from visitdesk.desktop.app import main

if __name__ == "__main__":
    sys.exit(main())
