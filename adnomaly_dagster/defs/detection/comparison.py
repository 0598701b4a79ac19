"""Champion/challenger: compare the two stored fraud_model versions the detector runs on the same
windows and fraud labels, and promote the challenger when the stated rule says it is better."""

import dagster as dg

from adnomaly_dagster.resources import PostgresResource, S3Resource
from adnomaly_dagster.tables import markdown_table
from streaming.detection.comparison import Rule

GROUP = "detection"


class ComparisonConfig(dg.Config):
    min_f1_gain: float = Rule.min_f1_gain
    min_labels: int = Rule.min_labels


@dg.asset(
    group_name=GROUP,
    kinds={"python", "s3"},
    deps=["fraud_model"],
    description="Champion vs challenger: both fraud_model versions the detector runs score the "
    "same windows (anomaly_results rows per model_version); each version's incidents are "
    "matched to fraud_labels over the span both scored (precision, recall, F1, median delay). "
    "Promotion rule: over at least `min_labels` (default 5) judged fraud labels, the "
    "challenger's F1 beats the champion's by at least `min_f1_gain` (default 0.02) and its "
    "recall is not lower; then it becomes champion in models/detector/roles.json, which the "
    "running detector follows within its reload interval. Scores go to roles.json too "
    "(`adnomaly model list`).",
)
def model_comparison(
    config: ComparisonConfig, postgres: PostgresResource, s3: S3Resource
) -> dg.MaterializeResult:
    from streaming.detection.comparison import compare_and_promote
    from streaming.detection.store import MODEL_PREFIX

    rule = Rule(config.min_f1_gain, config.min_labels)
    with postgres.connect() as conn:
        out = compare_and_promote(conn, s3.settings(), s3.client(), MODEL_PREFIX, rule)
    metadata: dict[str, dg.MetadataValue] = {
        "champion": dg.MetadataValue.text(out.champion or "none"),
        "challenger": dg.MetadataValue.text(out.challenger or "none"),
        "rule": dg.MetadataValue.text(rule.text()),
        "decision": dg.MetadataValue.text(out.decision.why),
        "promoted": dg.MetadataValue.bool(out.promoted),
    }
    if out.scores is not None and out.span is not None:
        keys = ("alerts", "labels", "caught", "precision", "recall", "f1", "median_delay_s")
        rows = [
            (role, s.version, *(getattr(s, k) for k in keys))
            for role, s in zip(("champion", "challenger"), out.scores, strict=True)
        ]
        metadata["scores"] = dg.MetadataValue.md(markdown_table(["role", "version", *keys], rows))
        metadata["span"] = dg.MetadataValue.text(f"{out.span[0]} .. {out.span[1]}")
    return dg.MaterializeResult(metadata=metadata)
