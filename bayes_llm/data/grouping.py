"""The paper's 13-group developer coding, reproduced from the data.

The ten major developers keep their own group (``data/developer_majors.csv``). Every other
developer (Mistral and Tencent included) is pooled by its mean ln(FLOP / 1e18) across its
models: <= 12 "Other, Small", <= 15.5 "Other, Med", > 15.5 "Other, Large".
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd

from bayes_llm import constants as C
from bayes_llm.data.sources import project_data_dir


@cache
def major_developers() -> dict[str, str]:
    """Map developer strings of the 10 majors to their group label."""
    table = pd.read_csv(project_data_dir() / "developer_majors.csv")
    return dict(zip(table["developer"], table["major_group"], strict=True))


def paper_developer_groups(
    developer: pd.Series,
    ln_flop_1e18: pd.Series,
    cutoffs: tuple[float, float] = C.PAPER_OTHER_CUTOFFS,
) -> pd.Series:
    """Return the paper's developer group for each model.

    Parameters
    ----------
    developer : Series
        Developer string of each model.
    ln_flop_1e18 : Series
        ln(C / 1e18) of each model.
    cutoffs : (float, float)
        Upper bounds of "Other, Small" and "Other, Med" on the developer's mean.

    Returns
    -------
    Series
        One of the 10 major labels or "Other, Small/Med/Large".
    """
    majors = major_developers()
    mean_ln = ln_flop_1e18.groupby(developer).transform("mean")
    small, med = cutoffs
    other = np.select([mean_ln <= small, mean_ln <= med], [C.OTHER_SMALL, C.OTHER_MED],
                      default=C.OTHER_LARGE)
    groups = developer.map(majors)
    return groups.fillna(pd.Series(other, index=developer.index)).astype("string")


def paper_group_order() -> list[str]:
    """Return the 13 groups in a stable order: majors as listed, then Other Small/Med/Large."""
    return [*major_developers().values(), C.OTHER_SMALL, C.OTHER_MED, C.OTHER_LARGE]
