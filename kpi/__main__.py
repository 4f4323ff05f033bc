import sys

from kpi.entry import main

sys.exit(main())
