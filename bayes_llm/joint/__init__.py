"""The joint six-benchmark model as a user runs it (issue 15): fit, answers, saved folder.

* :func:`run_joint` (``bayes_llm.joint.run``): the paper's table (or any canonical table)
  -> :class:`JointResult`: prepare the joint data, sample, diagnose the scalars and the
  correlations.
* :class:`JointResult` and :func:`load_joint` (``bayes_llm.joint.result``): the answers as
  tables and figures in the current interval setting, every one carrying the fit's
  diagnostics; :meth:`JointResult.save` writes a result folder, :func:`load_joint` reads it
  back (checksums verified) without refitting.
* :func:`joint_markdown` (``bayes_llm.joint.markdown``): ``joint.md``, the answers as
  Markdown tables under a diagnostics banner when the fit failed.

The command is ``bayes-llm joint`` (:mod:`bayes_llm.cli.joint_cmd`).
"""

from __future__ import annotations

from bayes_llm.joint.markdown import diagnostics_banner, joint_markdown
from bayes_llm.joint.result import JOINT_FILES, TABLE_FILES, JointResult, load_joint
from bayes_llm.joint.run import (
    DIAGNOSED,
    check_joint_output,
    joint_spec,
    run_joint,
)

__all__ = ["DIAGNOSED", "JOINT_FILES", "TABLE_FILES", "JointResult", "check_joint_output",
           "diagnostics_banner", "joint_markdown", "joint_spec", "load_joint", "run_joint"]
