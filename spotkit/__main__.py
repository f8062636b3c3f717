"""`python -m spotkit` is the `spotkit` command."""

import sys

from .cli import main

sys.exit(main())
