"""detection_live_quality: how the running detector did on one UTC day, against the
generator's fraud labels and the analysts' verdicts (rules: streaming/incidents/quality.py),
with a check that turns red below the bounds in the settings."""

import base64
from datetime import UTC, datetime, timedelta

import dagster as dg

from adnomaly_dagster.partitions import daily, day_window
from adnomaly_dagster.resources import PostgresResource
from adnomaly_dagster.tables import markdown_table
from streaming.incidents.quality import Quality

GROUP = "detection"
CHECK = "live_quality_bounds"
# labels that began this recently are pending, not missed: a 5-minute window must close
# after the fraud starts, then Flink and the detector need their moment
GRACE = timedelta(minutes=10)


def _figure(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _minutes(delay: timedelta | None) -> float | None:
    return None if delay is None else round(delay.total_seconds() / 60, 2)


def _floats(**figures: float | None) -> dict[str, dg.MetadataValue]:
    """Figures as floats (the UI plots them across partitions); one with nothing to measure is
    text, saying so."""
    return {
        name: dg.MetadataValue.text("none: nothing to measure")
        if value is None
        else dg.MetadataValue.float(round(value, 4))
        for name, value in figures.items()
    }


def _png_md(title: str, png: bytes) -> str:
    return f"**{title}**\n\n![{title}](data:image/png;base64,{base64.b64encode(png).decode()})"


def bounds_check(quality: Quality, min_precision: float, min_recall: float) -> dg.AssetCheckResult:
    """Fails when precision or recall is below its bound; a figure with nothing to measure
    (no alert, no judged label) cannot be below anything and is reported as such."""
    low = [
        f"{name} {value:.3f} < {bound}"
        for name, value, bound in (
            ("precision", quality.precision, min_precision),
            ("recall", quality.recall, min_recall),
        )
        if value is not None and value < bound
    ]
    return dg.AssetCheckResult(
        check_name=CHECK,
        passed=not low,
        description="; ".join(low) or "precision and recall within bounds",
        metadata={
            "precision": _figure(quality.precision),
            "recall": _figure(quality.recall),
            "min_precision": min_precision,
            "min_recall": min_recall,
        },
    )


def _tables(quality: Quality) -> dict[str, dg.MetadataValue]:
    labels = [
        (
            o.label.incident_id,
            o.label.scenario,
            f"{o.label.geo}/{o.label.platform}",
            f"{o.label.start:%H:%M}-{o.label.end:%H:%M}",
            "yes" if o.caught else "no",
            _minutes(o.delay) if o.delay is not None else "—",
            ", ".join(o.alerts) or "—",
        )
        for o in quality.labels
    ]
    alerts = [
        (
            a.incident.id,
            f"{a.incident.start:%H:%M}-{a.incident.end:%H:%M}",
            a.incident.peak_score,
            "true" if a.true else "false",
            a.why,
            a.verdict or "—",
        )
        for a in quality.alerts
    ]
    label_head = ["label", "scenario", "segment", "span", "caught", "delay (min)", "by"]
    alert_head = ["incident", "span", "peak", "alert", "why", "verdict"]
    return {
        "labels_table": dg.MetadataValue.md(markdown_table(label_head, labels)),
        "alerts_table": dg.MetadataValue.md(markdown_table(alert_head, alerts)),
    }


@dg.asset(
    group_name=GROUP,
    kinds={"python", "postgres"},
    partitions_def=daily,
    deps=["fraud_labels_topic", "fraud_model"],
    description="Live model quality of one UTC day: the running detector's incidents "
    "(anomaly_results) matched to the generator's fraud labels (fraud_labels) and the analysts' "
    "verdicts (incident_verdicts: confirmed fraud is a true alert, a false alarm a false one, "
    "label or not). Precision (true alerts / alerts whose first window ends that day), recall "
    "(labels of the day caught by a true alert; those begun in the last 10 minutes are "
    "pending), median detection delay; a timeline and a delay chart.",
    check_specs=[
        dg.AssetCheckSpec(
            CHECK,
            asset="detection_live_quality",
            description="Precision and recall at least ADNOMALY_MIN_LIVE_PRECISION / "
            "ADNOMALY_MIN_LIVE_RECALL (a figure with nothing to measure passes, named).",
        )
    ],
)
def detection_live_quality(
    context: dg.AssetExecutionContext, postgres: PostgresResource
) -> dg.MaterializeResult:
    from adnomaly_dagster.defs.detection.live_quality_charts import delays_png, timeline_png
    from streaming.incidents.quality_reads import live_quality

    period = day_window(context.partition_key)
    with postgres.connect() as conn:
        quality = live_quality(conn, period, judged_until=datetime.now(UTC) - GRACE)
    settings = postgres.settings()
    check = bounds_check(quality, settings.min_live_precision, settings.min_live_recall)
    delay = _minutes(quality.median_delay)
    context.log.info(
        f"{context.partition_key}: {quality.caught}/{len(quality.labels)} labels caught, "
        f"{quality.true_alerts}/{len(quality.alerts)} alerts true"
    )
    charts = [_png_md("labels and alerts", timeline_png(quality))]
    if quality.median_delay is not None:
        charts.append(_png_md("detection delay", delays_png(quality)))
    return dg.MaterializeResult(
        metadata={
            **_floats(precision=quality.precision, recall=quality.recall),
            **_floats(median_delay_minutes=delay),
            "labels": dg.MetadataValue.int(len(quality.labels)),
            "labels_caught": dg.MetadataValue.int(quality.caught),
            "labels_pending": dg.MetadataValue.int(len(quality.pending)),
            "alerts": dg.MetadataValue.int(len(quality.alerts)),
            "true_alerts": dg.MetadataValue.int(quality.true_alerts),
            **_tables(quality),
            "charts": dg.MetadataValue.md("\n\n".join(charts)),
        },
        check_results=[check],
    )
