"""Data layer: sources, the paper's dataset, user tables, sample filters, summaries."""

from bayes_llm.data.grouping import paper_developer_groups, paper_group_order
from bayes_llm.data.paper import load_paper_dataset
from bayes_llm.data.samples import SAMPLES, SampleReport, select_sample
from bayes_llm.data.sources import load_manifest, resolve, source_status
from bayes_llm.data.summary import compute_percentile_ratio, summarise
from bayes_llm.data.user import load_model_table

__all__ = [
    "SAMPLES",
    "SampleReport",
    "compute_percentile_ratio",
    "load_manifest",
    "load_model_table",
    "load_paper_dataset",
    "paper_developer_groups",
    "paper_group_order",
    "resolve",
    "select_sample",
    "source_status",
    "summarise",
]
