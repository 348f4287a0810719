"""`python -m visitdesk.portal` runs the portal command line (the demo starts it this way)."""

import sys

from visitdesk.portal.web.cli import main

sys.exit(main())
