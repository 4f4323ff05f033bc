import signal

from kpi.cli import main

# As the `kpi` entry point does (kpi.cache.main): a reader that stops reading ends kpi by SIGPIPE.
if hasattr(signal, "SIGPIPE"):
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
main()
