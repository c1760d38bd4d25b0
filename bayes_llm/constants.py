"""Project-wide constants: one place for every number the package relies on."""

from __future__ import annotations

#: The one credible-interval setting used by every summary, table and plot.
#: ArviZ 1.x defaults to an 89% equal-tailed interval; bayes_llm reports 94% HDIs.
HDI_PROB: float = 0.94
#: Interval kind passed to ArviZ ("hdi" or "eti").
CI_KIND: str = "hdi"

#: Number of questions in MMLU-Pro (TIGER-Lab, 2024): 12,032 questions, 10 options each.
MMLU_PRO_N_QUESTIONS: int = 12_032
#: Chance accuracy of a 10-option multiple-choice question (the guessing floor).
MMLU_PRO_GUESS_RATE: float = 0.1
#: MATH Level 5 is free-response: no guessing floor.
MATH_GUESS_RATE: float = 0.0
#: Number of problems in MATH Level 5 as used by the Open LLM Leaderboard v2.
MATH_LVL5_N_QUESTIONS: int = 1_324

#: FLOP per parameter per training token in the C = 6 N D approximation.
FLOP_PER_PARAM_TOKEN: float = 6.0

#: The paper's release window (inclusive, by month).
PAPER_FIRST_MONTH: str = "2022-11"
PAPER_LAST_MONTH: str = "2025-03"

#: The paper's three release cohorts (first month, last month, label).
PAPER_COHORTS: tuple[tuple[str, str, str], ...] = (
    ("2022-10", "2023-09", "2022q4-2023q3"),
    ("2023-10", "2024-06", "2023q4-2024q2"),
    ("2024-07", "2025-03", "2024q3-2025q1"),
)

#: Cut-offs on a developer's mean ln(FLOP / 1e18) used by the paper to pool
#: non-major developers into "Other, Small" (<= 12), "Other, Med" (<= 15.5)
#: and "Other, Large" (> 15.5).
PAPER_OTHER_CUTOFFS: tuple[float, float] = (12.0, 15.5)
OTHER_SMALL: str = "Other, Small"
OTHER_MED: str = "Other, Med"
OTHER_LARGE: str = "Other, Large"
#: Reference (omitted) developer group of the paper's regression.
PAPER_BASE_GROUP: str = OTHER_SMALL

#: Default random seed for every stochastic step.
DEFAULT_SEED: int = 20260207

#: The joint six-benchmark model's default parameterisations (``bayes-llm joint``, the
#: Python API and a study's joint variant): the ones that mixed best on the 809 models
#: (models/README.md).
JOINT_DEFAULT_RESIDUALS: str = "marginal"
#: ``conditional``: theta centred on its approximate conditional mean and scaled by its
#: conditional SD (39-120 leapfrog steps per draw against ~260 for ``scaled``).
JOINT_DEFAULT_ABILITY: str = "conditional"
#: ``models``: alpha at the models' average period (the same model; alpha and the period
#: effects mixed better on the 809 models, e.g. alpha's bulk ESS 53 -> 477 with the
#: conditional ability; models/README.md).
JOINT_DEFAULT_INTERCEPT: str = "models"
