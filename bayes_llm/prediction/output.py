"""The files of ``bayes-llm predict``: the table, the per-draw netCDF and a plot.

Everything is written into a folder built in a temporary sibling and swapped in
(:func:`bayes_llm.atomic.atomic_directory`), so an interrupted run leaves nothing
half-written and an existing folder is replaced only when bayes_llm wrote it.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from bayes_llm.prediction.result import Prediction

PREDICTIONS_CSV = "predictions.csv"
PREDICTIVE_DRAWS_NC = "predictive_draws.nc"
PREDICTIONS_PNG = "predictions.png"
#: Kind recorded in the folder's marker file.
FOLDER_KIND = "prediction"


def plot_predictions(table: pd.DataFrame, *, title: str = ""):
    """Predictive intervals of accuracy against compute, with observed scores where given.

    Parameters
    ----------
    table : DataFrame
        From :meth:`Prediction.summary`.
    title : str
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from bayes_llm.plots._style import new_figure

    fig = new_figure((7.0, 4.5))
    ax = fig.add_subplot()
    x = table["log10_flop"].to_numpy(float)
    ahead = table["period_steps_ahead"].to_numpy() > 0 if "period_steps_ahead" in table \
        else np.zeros(len(table), bool)
    label = table["interval"].iloc[0] if "interval" in table and len(table) else "interval"
    for mask, colour, name in ((~ahead, "C0", "in a fitted period"),
                               (ahead, "C1", "after the fitted periods (extrapolated)")):
        if not mask.any():
            continue
        med = table["accuracy_median"].to_numpy(float)[mask]
        err = np.vstack([med - table["accuracy_lower"].to_numpy(float)[mask],
                         table["accuracy_upper"].to_numpy(float)[mask] - med])
        ax.errorbar(x[mask], med, yerr=err, fmt="o", ms=3, color=colour, alpha=0.6,
                    elinewidth=0.8, label=f"predictive median and {label}, {name}")
    observed = table["observed_accuracy"].to_numpy(float)
    seen = np.isfinite(observed)
    if seen.any():
        ax.scatter(x[seen], observed[seen], marker="x", s=14, color="k", zorder=3,
                   label="observed accuracy")
    ax.set_xlabel("log10 training compute (FLOP)")
    ax.set_ylabel("accuracy")
    ax.set_title(title or "Posterior predictive accuracy of new models")
    ax.legend(fontsize=7, loc="upper left")
    return fig


def write_prediction(prediction: Prediction, out: str | os.PathLike, *,
                     prob: float | None = None, kind: str | None = None,
                     thresholds: tuple[float, ...] | None = None) -> list[Path]:
    """Write ``predictions.csv``, ``predictive_draws.nc`` and ``predictions.png`` to ``out``.

    Returns
    -------
    list of Path
        The files written (at their final place).
    """
    from bayes_llm.atomic import atomic_directory
    from bayes_llm.plots._style import figure_png
    from bayes_llm.prediction.result import DEFAULT_THRESHOLDS

    table = prediction.summary(prob, kind, thresholds or DEFAULT_THRESHOLDS)
    out = Path(out)
    with atomic_directory(out, kind=FOLDER_KIND) as tmp:
        table.to_csv(tmp / PREDICTIONS_CSV, index=False)
        prediction.to_dataset().to_netcdf(tmp / PREDICTIVE_DRAWS_NC, engine="h5netcdf")
        status = "" if prediction.diagnostics_ok else " (FIT DIAGNOSTICS FAILED)"
        fig = plot_predictions(table, title=f"Predictions of '{prediction.spec_name}'{status}")
        (tmp / PREDICTIONS_PNG).write_bytes(figure_png(fig))
    return [out / PREDICTIONS_CSV, out / PREDICTIVE_DRAWS_NC, out / PREDICTIONS_PNG]


__all__ = ["PREDICTIONS_CSV", "PREDICTIONS_PNG", "PREDICTIVE_DRAWS_NC", "plot_predictions",
           "write_prediction"]
