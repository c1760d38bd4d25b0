"""``python -m bayes_llm.cli``: the same as the ``bayes-llm`` command."""

import sys

from bayes_llm.cli import main

# Guarded: a spawned worker process (report figures, study variants) imports the main
# module again and must not run the command a second time.
if __name__ == "__main__":
    sys.exit(main())
