import sys

from kvminit.cli import main

sys.exit(main())
