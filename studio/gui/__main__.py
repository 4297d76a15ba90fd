import sys

from studio.gui.app import main

sys.exit(main())
