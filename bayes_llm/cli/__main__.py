"""``python -m bayes_llm.cli``: the same as the ``bayes-llm`` command."""

import sys

from bayes_llm.cli import main

sys.exit(main())
