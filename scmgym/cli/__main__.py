import sys

from scmgym.cli import main

sys.exit(main())
