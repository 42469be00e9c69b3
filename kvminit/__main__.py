import sys

from kvminit.entry import console

sys.exit(console())
