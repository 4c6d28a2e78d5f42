import sys

from safetycli.cli import entry, main

# The quick exit (cli/quickexit.py) only when this is the process's program: run inside another
# (runpy, a profiler) or with `python -i`, the host's own exit and exit code stay.
if sys.modules["__main__"].__dict__ is globals() and not sys.flags.inspect:
    entry()
else:
    main()
