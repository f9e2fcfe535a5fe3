"""What each insights chart shows: its table (the page's table view and CSV) and its plotly figure.

A chart is built from one series' data, never from the database: the page, the
CSV download and the API then cannot disagree. Figures are plain plotly JSON
(data and layout) that ``static/js/insights.js`` hands to ``Plotly.newPlot``,
after fitting the title, legend and week ticks to the chart's width.
Every trace is told apart by more than colour: bar patterns, line dashes,
marker symbols, and labels on the bars.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from incidents.models import Severity
from insights import selectors

# Colour-blind-safe (Okabe-Ito) colours; patterns and dashes carry the same distinction without colour.
COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]
PATTERNS = ["", "/", "x", ".", "\\", "+", "|", "-"]
DASHES = ["solid", "dash", "dot", "dashdot", "longdash", "longdashdot"]
SYMBOLS = ["circle", "square", "diamond", "triangle-up", "x", "cross", "star", "hexagon"]
BAND_COLOURS = {"elite": "#E8F5E9", "high": "#F1F8E9", "medium": "#FFF8E1", "low": "#FBE9E7"}


@dataclass(frozen=True)
class Column:
    key: str
    label: str


@dataclass
class Table:
    columns: list[Column]
    rows: list[list]

    def as_dicts(self) -> list[dict]:
        return [dict(zip([column.key for column in self.columns], row, strict=True)) for row in self.rows]


@dataclass(frozen=True)
class Chart:
    """One chart of the insights page: where its data comes from, its table, its figure and its empty state."""

    key: str
    series: str
    title: str
    description: str
    empty: str
    table: Callable[[dict], Table]
    figure: Callable[[dict], dict]
    has_data: Callable[[dict], bool]
    figures: list = field(default_factory=list)


def _layout(title: str, x_title: str, y_title: str, **extra) -> dict:
    layout = {
        "title": {"text": title, "x": 0, "xanchor": "left", "font": {"size": 15}},
        "xaxis": {"title": {"text": x_title}, "automargin": True},
        "yaxis": {"title": {"text": y_title}, "automargin": True, "rangemode": "tozero"},
        # Placed at draw time, below the axis title, by static/js/insights.js.
        "legend": {"orientation": "h"},
        "margin": {"l": 10, "r": 10, "t": 48, "b": 10},
        "font": {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 12},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "height": 360,
    }
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(layout.get(key), dict):
            layout[key] = layout[key] | value
        else:
            layout[key] = value
    return layout


# Weeks along x: a date axis, ticked on the weeks' Mondays at draw time (static/js/insights.js), in the page's
# date style; the period's year is in the page's heading, so a tick needs one line, not two.
WEEK_AXIS = {"type": "date", "tickformat": "%-d %b", "hoverformat": "%-d %b %Y"}


def _week_layout(title: str, x_title: str, y_title: str, **extra) -> dict:
    """Return the layout of a chart drawn week by week along x."""
    return _layout(title, x_title, y_title, xaxis=WEEK_AXIS | extra.pop("xaxis", {}), **extra)


# A count beside its bar, at the chart's type size: plotly.js would shrink it to a thin bar's thickness.
OUTSIDE_LABEL = {"textposition": "outside", "constraintext": "inside", "cliponaxis": False}
# A patterned bar is white between its stripes: a label inside it is dark, where plotly.js would pick white.
PATTERN_TEXT_COLOUR = "#222222"


def _bar(name: str, x: list, y: list, index: int, **extra) -> dict:
    pattern = PATTERNS[index % len(PATTERNS)]
    return {
        "type": "bar",
        "name": name,
        "x": x,
        "y": y,
        "marker": {"color": COLOURS[index % len(COLOURS)], "pattern": {"shape": pattern}},
        # Labels read across: plotly.js would turn one on its side to fit a thin bar.
        "textangle": 0,
        **({"insidetextfont": {"color": PATTERN_TEXT_COLOUR}} if pattern else {}),
        **extra,
    }


def _line(name: str, x: list, y: list, index: int, **extra) -> dict:
    return {
        "type": "scatter",
        "mode": "lines+markers",
        "name": name,
        "x": x,
        "y": y,
        "connectgaps": False,
        "line": {"color": COLOURS[index % len(COLOURS)], "dash": DASHES[index % len(DASHES)], "width": 2},
        "marker": {"symbol": SYMBOLS[index % len(SYMBOLS)], "size": 7},
        **extra,
    }


def _scaled(value: float | None, scale: float) -> float | None:
    return None if value is None else round(value * scale, 2)


def _weeks(data: dict) -> list[str]:
    return [w["week"] for w in data["weeks"]]


def week_table(data: dict, columns: list[tuple[str, str]]) -> Table:
    """Return one row per week of the period with the (key, label) columns of the series' weeks."""
    return Table(
        [Column("week", "Week starting"), *(Column(key, label) for key, label in columns)],
        [[w["week"], *(w[key] for key, _ in columns)] for w in data["weeks"]],
    )


def _week_bars(data: dict, bars: list[tuple[str, str, int]], *, stacked: bool = False) -> list[dict]:
    """Return one bar trace per (key, label, style index), labelled with its count; an empty week draws nothing.

    Side by side, a count stands above its bar, at full size however thin the bar is on a phone; stacked, it
    stays inside its part of the stack.
    """
    weeks = _weeks(data)
    place = {"textposition": "inside"} if stacked else OUTSIDE_LABEL
    return [
        _bar(label, weeks, [w[key] or None for w in data["weeks"]], index, texttemplate="%{y}", **place)
        for key, label, index in bars
    ]


def _previous_period(data: dict, label: str, value: Callable[[dict], float | None], index: int, **extra) -> list:
    """Return the previous period's line of one weekly figure, or nothing when not comparing.

    The period before has as many days; its weeks are drawn at the same place in
    this period (its first week over this one's first), dotted, the hover naming
    the week it was.
    """
    previous = data.get("previous")
    if previous is None:
        return []
    weeks = _weeks(data)
    before = previous["weeks"][: len(weeks)]
    trace = _line(
        f"{label}, previous period",
        weeks[: len(before)],
        [value(w) for w in before],
        index,
        customdata=[w["week"] for w in before],
        hovertemplate=f"{label}, week of %{{customdata}}: %{{y}}<extra>previous period</extra>",
        **extra,
    )
    trace["line"] = trace["line"] | {"dash": "dot", "width": 1.5}
    trace["marker"] = {"symbol": f"{SYMBOLS[index % len(SYMBOLS)]}-open", "size": 6}
    return [trace]


# ---------------------------------------------------------------- DORA


def _dora_groups(data: dict) -> list[tuple[str, dict]]:
    return [(f"{row['name']} (team)", row) for row in data["teams"]] + [
        (f"{row['name']} (model)", row) for row in data["models"]
    ]


def dora_table(data: dict) -> Table:
    columns = [
        Column("kind", "Team or model"),
        Column("name", "Name"),
        Column("deployments", "Deployments"),
        Column("deploys_per_week", "Deployments per week"),
        Column("change_failures", "Change failures"),
        Column("change_failure_rate", "Change failure rate"),
        Column("restore_median_hours", "Time to restore, median (h)"),
        Column("restore_p90_hours", "Time to restore, p90 (h)"),
        Column("lead_time_median_hours", "Lead time, median (h)"),
        Column("lead_time_p90_hours", "Lead time, p90 (h)"),
        Column("band", "DORA band (weakest key)"),
    ]
    rows = [
        [
            kind,
            row["name"],
            row["deployments"],
            row["deploys_per_week"],
            row["change_failures"],
            row["change_failure_rate"],
            row["restore_median_hours"],
            row["restore_p90_hours"],
            row["lead_time_median_hours"],
            row["lead_time_p90_hours"],
            row["bands"]["overall"] or "",
        ]
        for kind, group in (("team", data["teams"]), ("model", data["models"]))
        for row in group
    ]
    return Table(columns, rows)


# A band narrower than this share of the axis is shaded but not named: names side by side would overlap.
BAND_LABEL_MIN_WIDTH = 0.08


def _band_shapes(cuts: tuple, axis: str, *, more_is_better: bool, top: float) -> tuple[list, list]:
    """Return shaded regions and their labels for the DORA bands along ``axis`` ("x")."""
    edges = [cut for _, cut in cuts]
    names = [band for band, _ in cuts] + ["low"]
    if more_is_better:
        # elite from the first cut up, low below the last.
        bounds = [(edges[0], max(top, edges[0] * 1.5))] + [(edges[i + 1], edges[i]) for i in range(len(edges) - 1)]
        bounds.append((0, edges[-1]))
    else:
        bounds = [(0, edges[0])] + [(edges[i], edges[i + 1]) for i in range(len(edges) - 1)]
        bounds.append((edges[-1], max(top, edges[-1] * 1.5)))
    shapes, annotations = [], []
    extent = max(high for _, high in bounds)
    for name, (low, high) in zip(names, bounds, strict=True):
        shapes.append(
            {
                "type": "rect",
                "xref": axis,
                "yref": "paper",
                "x0": low,
                "x1": high,
                "y0": 0,
                "y1": 1,
                "fillcolor": BAND_COLOURS[name],
                "line": {"width": 0},
                "layer": "below",
            }
        )
        if high - low < extent * BAND_LABEL_MIN_WIDTH:
            continue  # too narrow for its name, which the bars' own labels carry ("0.23 · low")
        annotations.append(
            {
                "xref": axis,
                "yref": "paper",
                "x": (low + high) / 2,
                "y": 1,
                "yanchor": "bottom",
                "text": name,
                "showarrow": False,
                "font": {"size": 11, "color": "#444"},
            }
        )
    return shapes, annotations


def _dora_bars(data: dict, key: str, title: str, x_title: str, cuts: tuple, *, more_is_better: bool, scale=1.0):
    groups = _dora_groups(data)
    names = [name for name, _ in groups]
    values = [_scaled(row[key], scale) for _, row in groups]
    bands = [row["bands"] for _, row in groups]
    band_key = {
        "deploys_per_week": "deploy_frequency",
        "change_failure_rate": "change_failure_rate",
        "restore_median_hours": "time_to_restore",
        "lead_time_median_hours": "lead_time",
    }[key]
    labels = [
        "" if value is None else f"{value:.2f} · {band[band_key]}" for value, band in zip(values, bands, strict=True)
    ]
    top = max([value for value in values if value is not None] or [0])
    shapes, annotations = _band_shapes(
        tuple((band, cut * scale) for band, cut in cuts), "x", more_is_better=more_is_better, top=top * 1.1
    )
    extent = max(shape["x1"] for shape in shapes)
    traces = [
        _bar(
            "This period",
            values,
            names,
            0,
            orientation="h",
            text=labels,
            # A bar shorter than half the axis (a rate of 0 has none) shows its label beside it, at full size.
            textposition=["inside" if value and value >= extent / 2 else "outside" for value in values],
            cliponaxis=False,
            hovertemplate="%{y}: %{x:.2f}<extra></extra>",
        )
    ]
    previous = data.get("previous")
    if previous is not None:
        before = dict(_dora_groups(previous))
        traces.append(
            _bar(
                "Previous period",
                [_scaled(before.get(name, {}).get(key), scale) for name in names],
                names,
                1,
                orientation="h",
                hovertemplate="%{y} (previous): %{x:.2f}<extra></extra>",
            )
        )
    layout = _layout(
        title,
        x_title,
        "",
        shapes=shapes,
        annotations=annotations,
        barmode="group",
        height=max(260, 60 + 34 * len(names) * len(traces)),
        yaxis={"autorange": "reversed", "rangemode": "normal"},
    )
    return {"data": traces, "layout": layout}


# The DORA keys drawn against their bands: (key, title, axis title, band cut points, more is better, scale).
DORA_KEY_FIGURES = [
    ("deploys_per_week", "Deployment frequency ({environment})", "Deployments per week",
     selectors.DEPLOY_FREQUENCY_BANDS, True, 1.0),
    ("change_failure_rate", "Change failure rate ({environment})", "Change failure rate (%)",
     selectors.CHANGE_FAILURE_RATE_BANDS, False, 100.0),
    ("restore_median_hours", "Time to restore, median", "Hours to restore",
     selectors.RESTORE_HOURS_BANDS, False, 1.0),
    ("lead_time_median_hours", "Lead time for changes, median", "Hours, commit to deploy",
     selectors.LEAD_TIME_HOURS_BANDS, False, 1.0),
]  # fmt: skip


def dora_key_figure(data: dict, *, key: str) -> dict:
    """Return the bars of one DORA key per team and model, over its bands."""
    _, title, x_title, cuts, more_is_better, scale = next(spec for spec in DORA_KEY_FIGURES if spec[0] == key)
    title = title.format(environment=data["environment"])
    return _dora_bars(data, key, title, x_title, cuts, more_is_better=more_is_better, scale=scale)


def dora_weeks_figure(data: dict, *, title: str | None = None, height: int = 340) -> dict:
    weeks = [w["week"] for w in data["weeks"]]
    rates = [_scaled(w["change_failure_rate"], 100.0) for w in data["weeks"]]
    traces = [
        *_week_bars(data, [("deployments", "Deployments", 0), ("change_failures", "Change failures", 1)]),
        _line("Change failure rate (%)", weeks, rates, 2, yaxis="y2"),
        *_previous_period(data, "Deployments", lambda w: w["deployments"], 0),
        *_previous_period(
            data, "Change failure rate (%)", lambda w: _scaled(w["change_failure_rate"], 100.0), 2, yaxis="y2"
        ),
    ]
    layout = _week_layout(
        title or f"Deployments and change failures per week ({data['environment']})",
        "Week starting (Monday)",
        "Deployments",
        barmode="group",
        height=height,
        yaxis2={
            "title": {"text": "Change failure rate (%)"},
            "automargin": True,
            "overlaying": "y",
            "side": "right",
            "rangemode": "tozero",
            "showgrid": False,
        },
    )
    return {"data": traces, "layout": layout}


def dora_models_table(data: dict) -> Table:
    return Table(
        [
            Column("model", "Model"),
            Column("week", "Week starting"),
            Column("deployments", "Deployments"),
            Column("change_failures", "Change failures"),
            Column("change_failure_rate", "Change failure rate"),
        ],
        [
            [model["name"], w["week"], w["deployments"], w["change_failures"], w["change_failure_rate"]]
            for model in data["models"]
            for w in model["weeks"]
        ],
    )


def dora_models_figure(data: dict) -> dict:
    traces = []
    for index, model in enumerate(row for row in data["models"] if row["deployments"]):
        weeks = [w["week"] for w in model["weeks"]]
        traces.append(
            _line(
                model["name"],
                weeks,
                [_scaled(w["change_failure_rate"], 100.0) for w in model["weeks"]],
                index,
                customdata=[w["deployments"] for w in model["weeks"]],
                hovertemplate=f"{model['name']}: %{{y}}% of %{{customdata}} deployments<extra></extra>",
            )
        )
    layout = _week_layout(
        f"Change failure rate per model, week by week ({data['environment']})",
        "Week starting (Monday)",
        "Change failure rate (%)",
        yaxis={"range": [-5, 105], "rangemode": "normal"},
    )
    return {"data": traces, "layout": layout}


# ---------------------------------------------------------------- incidents and MTTx

SEVERITIES = [severity.value for severity in Severity]
MILESTONE_LABELS = {
    "detect": "Time to detect",
    "acknowledge": "Time to acknowledge",
    "mitigate": "Time to mitigate",
    "resolve": "Time to resolve",
}


def incidents_figure(data: dict) -> dict:
    traces = [
        *_week_bars(
            data, [(severity.lower(), severity, index) for index, severity in enumerate(SEVERITIES)], stacked=True
        ),
        *_previous_period(data, "All severities", lambda w: w["total"], 7),
    ]
    return {
        "data": traces,
        "layout": _week_layout(
            "Incidents per week by severity", "Week detected (Monday)", "Incidents", barmode="stack"
        ),
    }


def mttx_figure(data: dict) -> dict:
    weeks = [w["week"] for w in data["weeks"]]
    traces = []
    for index, (name, label) in enumerate(MILESTONE_LABELS.items()):
        traces.append(_line(f"{label}, median", weeks, [w[f"{name}_median"] for w in data["weeks"]], index))
        p90 = _line(f"{label}, p90", weeks, [w[f"{name}_p90"] for w in data["weeks"]], index)
        p90["line"] = p90["line"] | {"dash": "dot", "width": 1}
        p90["marker"] = {"symbol": f"{SYMBOLS[index]}-open", "size": 7}
        traces.append(p90)
    traces += _previous_period(data, "Time to resolve, median", lambda w: w["resolve_median"], 7)
    layout = _week_layout(
        "Time to detect, acknowledge, mitigate and resolve",
        "Week detected (Monday)",
        "Hours (log scale)",
        # A tick per power of ten: the 2s and 5s between them crowd a phone's chart.
        yaxis={"type": "log", "rangemode": "normal", "dtick": 1},
        height=420,
    )
    return {"data": traces, "layout": layout}


# ---------------------------------------------------------------- versions


def versions_table(data: dict) -> Table:
    return Table(
        [
            Column("label", "Model version"),
            Column("deployments", "Deployments"),
            Column("failed_deployments", "Failed deployments"),
            Column("incidents", "Incidents"),
            Column("rolled_back", "Rolled back"),
        ],
        [
            [v["label"], v["deployments"], v["failed_deployments"], v["incidents"], "yes" if v["rolled_back"] else "no"]
            for v in data["versions"]
        ],
    )


def versions_figure(data: dict) -> dict:
    """Return one row of bars per model version, in version order from the top.

    Rows, not columns: a version's name reads across even on a phone, and more
    versions make the chart taller instead of its labels smaller.
    """
    labels = [v["label"] + (" ↩" if v["rolled_back"] else "") for v in data["versions"]]
    # A version without any draws no bar and no "0" beside it.
    traces = [
        _bar("Incidents", [v["incidents"] or None for v in data["versions"]], labels, 1),
        _bar("Failed deployments", [v["failed_deployments"] or None for v in data["versions"]], labels, 4),
    ]
    top = max((v[key] for v in data["versions"] for key in ("incidents", "failed_deployments")), default=0)
    for trace in traces:
        what = trace["name"].lower()
        trace |= {"orientation": "h", "texttemplate": "%{x}", **OUTSIDE_LABEL}
        trace |= {"hovertemplate": f"%{{y}}: %{{x}} {what}<extra></extra>"}
    layout = _layout(
        "Incidents and failed deployments per model version, in version order (↩ rolled back)",
        "Count",
        "",
        barmode="group",
        height=max(260, 110 + 30 * len(labels)),
        # Counts: no tick between two whole numbers.
        xaxis={"dtick": 1} if top <= 10 else {},
        yaxis={"autorange": "reversed", "rangemode": "normal"},
    )
    return {"data": traces, "layout": layout}


# ---------------------------------------------------------------- contributing factors


def factors_table(data: dict) -> Table:
    return week_table(data, [(c["key"], c["label"]) for c in data["categories"]])


def factors_figure(data: dict) -> dict:
    traces = _week_bars(
        data, [(c["key"], c["label"], index) for index, c in enumerate(data["categories"])], stacked=True
    )
    # The previous period may have other categories: its line counts them all.
    traces += _previous_period(data, "All factors", lambda w: sum(v for k, v in w.items() if k != "week"), 7)
    layout = _week_layout(
        "Contributing factors by category", "Week the incident was detected (Monday)", "Factors", barmode="stack"
    )
    return {"data": traces, "layout": layout}


# ---------------------------------------------------------------- follow-through


def follow_through_figure(data: dict) -> dict:
    traces = [
        *_week_bars(data, [("opened", "Opened", 0), ("done", "Done", 2)]),
        _line("Done on time", _weeks(data), [w["done_on_time"] for w in data["weeks"]], 3),
        *_previous_period(data, "Opened", lambda w: w["opened"], 0),
        *_previous_period(data, "Done", lambda w: w["done"], 2),
    ]
    return {
        "data": traces,
        "layout": _week_layout(
            "Action items opened and done per week", "Week (Monday)", "Action items", barmode="group"
        ),
    }


# ---------------------------------------------------------------- operational load


def operational_load_table(data: dict) -> Table:
    return Table(
        [
            Column("team", "Team"),
            Column("week", "Week starting"),
            Column("incident_hours", "Incident hours"),
            Column("action_hours", "Action item hours"),
            Column("hours", "Operational hours"),
            Column("budget_hours", "Budget (h)"),
            Column("budget_set_by_team", "Budget set by the team"),
            Column("budget_share", "Share of budget"),
            Column("over_budget", "Over budget"),
        ],
        [
            [
                team["name"],
                w["week"],
                w["incident_hours"],
                w["action_hours"],
                w["hours"],
                w["budget_hours"],
                "yes" if team["budget_set_by_team"] else "no",
                w["budget_share"],
                "yes" if w["over_budget"] else "no",
            ]
            for team in data["teams"]
            for w in team["weeks"]
        ],
    )


def _budget_percent(week: dict) -> float | None:
    return None if week["budget_share"] is None else round(week["budget_share"] * 100, 1)


def operational_load_figure(data: dict) -> dict:
    traces = []
    # A team with no load in the period before has no line of it.
    before = {team["id"]: team for team in (data.get("previous") or {}).get("teams", [])}
    for index, team in enumerate(data["teams"]):
        weeks = [w["week"] for w in team["weeks"]]
        shares = [_budget_percent(w) for w in team["weeks"]]
        over = team["weeks_over_budget"]
        name = team["name"] + (f" ({over} week{'s' if over > 1 else ''} over)" if over else "")
        traces.append(
            _line(
                name,
                weeks,
                shares,
                index,
                text=["over" if w["over_budget"] else "" for w in team["weeks"]],
                mode="lines+markers+text",
                textposition="top center",
                customdata=[w["hours"] for w in team["weeks"]],
                hovertemplate=f"{team['name']}: %{{y}}% of budget (%{{customdata}} h)<extra></extra>",
            )
        )
        if team["id"] in before:
            compared = {"weeks": team["weeks"], "previous": before[team["id"]]}
            traces += _previous_period(compared, team["name"], _budget_percent, index)
    layout = _week_layout(
        "Operational load against each team's budget",
        "Week (Monday)",
        "Share of the budget (%)",
        shapes=[
            {
                "type": "line",
                "xref": "paper",
                "x0": 0,
                "x1": 1,
                "y0": 100,
                "y1": 100,
                "line": {"color": "#B00020", "dash": "dash", "width": 2},
            }
        ],
        annotations=[
            {"xref": "paper", "x": 0, "y": 100, "yanchor": "bottom", "xanchor": "left", "text": "budget"}
            | {"showarrow": False}
        ],
    )
    return {"data": traces, "layout": layout}


# ---------------------------------------------------------------- game days


def game_days_figure(data: dict) -> dict:
    traces = [
        *_week_bars(data, [("drills", "Drills run", 0), ("findings", "Findings", 1), ("actions", "Action items", 2)]),
        *_previous_period(data, "Drills run", lambda w: w["drills"], 0),
    ]
    return {
        "data": traces,
        "layout": _week_layout("Game days: drills, findings and actions", "Week (Monday)", "Count", barmode="group"),
    }


def _any_week(*keys: str) -> Callable[[dict], bool]:
    return lambda data: any(w[key] for w in data["weeks"] for key in keys)


CHARTS: list[Chart] = [
    Chart(
        key="dora",
        series="dora",
        title="DORA: deployment frequency, change failure rate, time to restore, lead time",
        description=(
            "Per team and per model, against the DORA performance bands (elite, high, medium, low). "
            "Change failures are failed deployments and deployments linked as the cause of an incident."
        ),
        empty="No deployment or incident in this view: deployments from a connected pipeline fill this chart.",
        table=dora_table,
        figure=partial(dora_key_figure, key="deploys_per_week"),
        has_data=lambda data: bool(data["teams"] or data["models"]),
        figures=[partial(dora_key_figure, key=key) for key, *_ in DORA_KEY_FIGURES[1:]],
    ),
    Chart(
        key="dora-weeks",
        series="dora",
        title="Deployments and change failures per week",
        description="Finished deployments per week and the share that failed or caused an incident.",
        empty="No deployment in this view: deployments from a connected pipeline fill this chart.",
        table=partial(
            week_table,
            columns=[
                ("deployments", "Deployments"),
                ("change_failures", "Change failures"),
                ("change_failure_rate", "Change failure rate"),
            ],
        ),
        figure=dora_weeks_figure,
        has_data=_any_week("deployments"),
    ),
    Chart(
        key="dora-models",
        series="dora",
        title="Which models are getting better",
        description="Each model's change failure rate week by week; a gap is a week without deployments.",
        empty="No model was deployed in this view: deployments naming a model version fill this chart.",
        table=dora_models_table,
        figure=dora_models_figure,
        has_data=lambda data: any(model["deployments"] for model in data["models"]),
    ),
    Chart(
        key="incidents",
        series="incidents",
        title="Incidents per week by severity",
        description="Incidents in the week they were detected; drills are counted under game days.",
        empty="No incident in this view: incidents opened by pipelines or declared by people fill this chart.",
        table=partial(week_table, columns=[*((s.lower(), s) for s in SEVERITIES), ("total", "Total")]),
        figure=incidents_figure,
        has_data=_any_week("total"),
    ),
    Chart(
        key="mttx",
        series="incidents",
        title="Time to detect, acknowledge, mitigate and resolve",
        description="Median (solid) and 90th percentile (dotted) per week, in hours.",
        empty="No incident in this view: incident milestones (detected, acknowledged, mitigated, resolved) fill it.",
        table=partial(
            week_table,
            columns=[
                (f"{name}_{which}", f"{label}, {which} (h)")
                for name, label in MILESTONE_LABELS.items()
                for which in ("median", "p90")
            ],
        ),
        figure=mttx_figure,
        has_data=_any_week("total"),
    ),
    Chart(
        key="versions",
        series="versions",
        title="Which versions hurt",
        description="Incidents and failed deployments per model version, in version order; ↩ marks a rollback.",
        empty="No model version was deployed or linked to an incident in this view.",
        table=versions_table,
        figure=versions_figure,
        has_data=lambda data: bool(data["versions"]),
    ),
    Chart(
        key="factors",
        series="factors",
        title="What keeps going wrong",
        description="Contributing factors of post-mortems, by category, in the week their incident was detected.",
        empty="No contributing factor yet: post-mortems of incidents in this view fill this chart.",
        table=factors_table,
        figure=factors_figure,
        has_data=lambda data: bool(data["categories"]),
    ),
    Chart(
        key="follow-through",
        series="follow-through",
        title="Follow-through",
        description="Action items opened and done each week, and how many were done by their due date.",
        empty="No action item was opened or done in this view.",
        table=partial(
            week_table,
            columns=[
                ("opened", "Action items opened"),
                ("done", "Action items done"),
                ("done_on_time", "Done on time"),
            ],
        ),
        figure=follow_through_figure,
        has_data=_any_week("opened", "done"),
    ),
    Chart(
        key="operational-load",
        series="operational-load",
        title="Operational load",
        description=(
            "Hours each team spent working incidents (acknowledged to resolved, by owner) and operational "
            "action items, as a share of its budget per week: the one its leads set on the team page, else "
            "half of each member's working week. A point above the dashed line is over budget."
        ),
        empty="No incident was acknowledged and no operational action item done in this view.",
        table=operational_load_table,
        figure=operational_load_figure,
        has_data=lambda data: any(w["hours"] for team in data["teams"] for w in team["weeks"]),
    ),
    Chart(
        key="game-days",
        series="game-days",
        title="Game days",
        description="Drills run, what they found and the action items they led to. Left out of DORA and MTTx.",
        empty="No game day in this view: a drill incident (kind: game day) fills this chart.",
        table=partial(
            week_table,
            columns=[
                ("drills", "Drills run"),
                ("findings", "Findings (contributing factors)"),
                ("actions", "Action items"),
                ("actions_done", "Action items done"),
            ],
        ),
        figure=game_days_figure,
        has_data=_any_week("drills"),
    ),
]
CHARTS_BY_KEY = {chart.key: chart for chart in CHARTS}

SERIES = {
    "dora": selectors.dora_series,
    "incidents": selectors.incident_series,
    "versions": selectors.version_series,
    "factors": selectors.factor_series,
    "follow-through": selectors.follow_through_series,
    "operational-load": selectors.operational_load_series,
    "game-days": selectors.game_day_series,
}
