"""Decision support for the physician's patient page: plain data assembled from a Context and an Evaluation.

Nothing here decides anything new: it gathers what the rules and their helpers already compute
(response history, findings, not-evaluable rules, metabolite draws, MELD / Child-Pugh, withdrawal
readiness, steroid exposure) into rows a template can show, and lists the second-line options of
seed 004 Table 2 with the reasons an option is contraindicated for this patient.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from dateutil.relativedelta import relativedelta

from monitoring.alerts.queue import rule_title
from monitoring.engine.context import Context
from monitoring.engine.formulas import child_pugh
from monitoring.engine.response import State
from monitoring.engine.timeline import Lab, Timeline
from monitoring.record.charts import ScorePoint
from monitoring.rules.steroids import DAYS_PER_MONTH, cumulative_steroid_exposure
from monitoring.rules.thiopurine import _is_deficient, _latest_results
from monitoring.rules.transplant import MELD_INPUTS, child_pugh_score, conventional_values, meld_from_labs, meld_scores
from monitoring.rules.withdrawal import withdrawal_readiness

# -- scores over time -------------------------------------------------------------------------


def _latest_on(series: tuple[Lab, ...], days: list[date], on: date, since: date) -> Lab | None:
    index = bisect_right(days, on)
    if not index:
        return None
    lab = series[index - 1]
    return lab if lab.on >= since else None


def score_history(timeline: Timeline, params: dict[str, Any]) -> list[ScorePoint]:
    """MELD, MELD-Na, MELD 3.0 and Child-Pugh on each day a score input was drawn.
    Each score uses the latest result of each input no older than `liver_score_labs_recent_days`
    (as LT-01/LT-02 do); Child-Pugh also needs a visit (ascites, HE) within
    `child_pugh_visit_recent_days`. A score whose inputs are incomplete that day is None.
    """
    recent = timedelta(days=params["liver_score_labs_recent_days"])
    visit_recent = timedelta(days=params["child_pugh_visit_recent_days"])
    codes = MELD_INPUTS["meld3"]
    series = {code: timeline.labs.get(code, ()) for code in codes}
    days_of = {code: [lab.on for lab in labs] for code, labs in series.items()}
    visit_days = [v.on for v in timeline.visits]
    female = timeline.sex != "male"
    draw_days = sorted({lab.on for code in ("creatinine", "bilirubin", "inr", "albumin") for lab in series[code]})
    points = []
    for day in draw_days:
        since = day - recent
        labs = {code: lab for code in codes if (lab := _latest_on(series[code], days_of[code], day, since)) is not None}
        scores = meld_from_labs(labs, female=female, age=_age(timeline, day))
        cp, cp_class = None, ""
        index = bisect_right(visit_days, day)
        visit = timeline.visits[index - 1] if index else None
        if (
            visit is not None
            and visit.on >= day - visit_recent
            and all(c in labs for c in ("bilirubin", "albumin", "inr"))
        ):
            v = conventional_values(labs)
            result = child_pugh(
                bilirubin_mg_dl=v["bilirubin_mg_dl"],
                albumin_g_dl=v["albumin_g_dl"],
                inr=v["inr"],
                ascites=visit.ascites,
                encephalopathy_grade=visit.encephalopathy_grade,
            )
            cp, cp_class = result.score, result.grade
        if any(scores.values()) or cp is not None:
            points.append(ScorePoint(day, scores["meld"], scores["meld_na"], scores["meld3"], cp, cp_class))
    return points


def _age(timeline: Timeline, on: date) -> int:
    return timeline.age_on(on)


# -- the panel --------------------------------------------------------------------------------

CRITERION_LABELS = {
    "total_therapy": "(a) Total therapy long enough",
    "sustained_cbr": "(b) Sustained complete biochemical response",
    "no_relapse_after_withdrawal": "(c) No relapse after a previous withdrawal",
    "not_pregnant": "(d) Not pregnant, no pregnancy planned",
    "favourable_predictors": "Favourable predictors (WD-02)",
    "histology": "Histological remission (WD-03)",
}


@dataclass(frozen=True)
class Option:
    """One row of seed 004 Table 2, with the patient's contraindications (empty = available)."""

    key: str
    name: str
    remission_rate: str
    indications: str
    contraindications: str
    source: str
    reasons: tuple[str, ...] = ()
    on_it_now: bool = False
    note: str = ""

    @property
    def contraindicated(self) -> bool:
        return bool(self.reasons)

    @property
    def source_parts(self) -> list[tuple[str, str | None]]:
        return source_parts(self.source)


SECOND_LINE_OPTIONS: tuple[Option, ...] = (
    Option(
        "mmf",
        "Mycophenolate mofetil (MMF)",
        "50-80% in AZA-intolerant; 25-50% in non-responders",
        "AZA intolerance; women of childbearing age; thiopurine contraindication",
        "Significant GI intolerance; cytopenias; teratogenicity",
        "S004 Table 2 (refs 7-9, 19)",
        note="First-line CAMARO RCT (Snijders, J Hepatol 2024;80:576): CBR at 6 months 72.2% with MMF vs 32.3% "
        "with AZA. Seed 004 Table 2 wrongly attaches CAMARO to budesonide (clinical-rules.md A-4).",
    ),
    Option(
        "mercaptopurine",
        "6-Mercaptopurine (6-MP)",
        "Comparable to AZA in small series",
        "AZA intolerance (imidazole-moiety hypersensitivity, excipient reaction)",
        "Cross-toxicity with AZA hepatotoxicity",
        "S004 Table 2 (refs 9, 19); §7.1",
    ),
    Option(
        "thioguanine",
        "Thioguanine",
        "Limited data; some benefit in hypermethylators",
        "AZA/MMF intolerance; hypermethylator profile",
        "Risk of nodular regenerative hyperplasia",
        "S004 Table 2; §7.3",
    ),
    Option(
        "tacrolimus",
        "Tacrolimus",
        "50-70% in refractory AIH",
        "Refractory to AZA and/or MMF",
        "Nephrotoxicity; hypertension; diabetes",
        "S004 Table 2 (refs 8, 9); target trough 3-8 ng/mL",
    ),
    Option(
        "cyclosporine",
        "Ciclosporin",
        "60-80% in paediatric AIH; some adult benefit",
        "Acute severe AIH; paediatric refractory cases",
        "Nephrotoxicity; metabolic/cosmetic adverse effects",
        "S004 Table 2 (refs 7, 8)",
    ),
    Option(
        "rituximab",
        "Rituximab",
        "Partial to complete remission in select refractory cases",
        "Refractory AIH; overlap syndromes; autoimmune cytopenias",
        "Infection risk; hypogammaglobulinaemia",
        "S004 Table 2 (refs 20, 23)",
    ),
    Option(
        "infliximab",
        "Infliximab",
        "Partial remission in last-resort scenarios",
        "Multiple drug failure; overlap with inflammatory bowel disease",
        "Autoimmunity exacerbation; infection",
        "S004 Table 2 (refs 23, 24)",
    ),
    Option(
        "transplant",
        "Liver transplant referral",
        "Excellent survival if performed before advanced multi-organ failure",
        "Acute liver failure; decompensated cirrhosis; steroid dependence with poor quality of life",
        "Active uncontrolled infection; severe cardiopulmonary disease",
        "S004 Table 2 (refs 7, 8, 26)",
    ),
)
# Table 2's first row. Budesonide is a first-line steroid, not a second-line option; it is listed
# for its contraindications (CI-01..03) and to correct the seed's CAMARO attribution.
BUDESONIDE = Option(
    "budesonide",
    "Budesonide (first-line steroid alternative)",
    "Manns et al. 2010 RCT (the seed's 'CAMARO' attribution is a seed error: CAMARO compared MMF with AZA)",
    "Non-cirrhotic AIH; steroid-sparing",
    "Cirrhosis; acute severe AIH; portosystemic shunting",
    "S004 Table 2 corrected by clinical-rules.md A-4; CI-01..03",
)
OPTION_DRUGS = {
    "mmf": ("mycophenolate_mofetil", "mycophenolic_acid"),
    "mercaptopurine": ("mercaptopurine",),
    "thioguanine": ("thioguanine",),
    "tacrolimus": ("tacrolimus",),
    "cyclosporine": ("cyclosporine",),
    "rituximab": ("rituximab",),
    "infliximab": ("infliximab",),
    "budesonide": ("budesonide",),
}
THIOPURINES = ("azathioprine", "mercaptopurine", "thioguanine")
SEVERE_AZA_EVENTS = ("hepatotoxicity", "pancreatitis", "cytopenia")
RECENT_INFECTION_MONTHS = 3


def _above_uln(ctx, code: str) -> Lab | None:
    lab = ctx.last(code)
    return lab if lab is not None and lab.uln is not None and lab.value > lab.uln else None


def _aza_events(ctx, kinds: tuple[str, ...]) -> list:
    """Adverse events of these kinds attributed to an azathioprine course."""
    aza_ids = {c.id for c in ctx.courses if c.drug == "azathioprine"}
    return [e for e in ctx.t.adverse_events if e.kind in kinds and e.number in aza_ids]


def contraindication_reasons(ctx, option: str, fired: set[str]) -> list[str]:
    """Why this option does not suit this patient now (recorded facts only; empty = none known)."""
    reasons: list[str] = []
    deficient = [r for r in _latest_results(ctx).values() if _is_deficient(r)]
    infection_since = ctx.as_of - relativedelta(months=RECENT_INFECTION_MONTHS)
    infections = [e for e in ctx.t.adverse_events if e.kind == "infection" and e.on >= infection_since]
    creatinine = _above_uln(ctx, "creatinine")
    if option == "mmf":
        if ctx.is_pregnant():
            reasons.append("pregnant: MMF is teratogenic (CI-04)")
        if ctx.plans_pregnancy():
            reasons.append("pregnancy planned: switch before conception (CI-06)")
        stopped = [c for c in ctx.courses if c.drug in OPTION_DRUGS["mmf"] and c.stop_reason == "intolerance"]
        if stopped:
            reasons.append(f"stopped for intolerance on {stopped[-1].stopped_on:%d %b %Y}")
    if option in ("mercaptopurine", "thioguanine") and deficient:
        genes = ", ".join(r.gene.upper() for r in deficient)
        reasons.append(f"{genes} deficiency (poor metaboliser): thiopurines contraindicated (AZA-02 / CI-08)")
    if option == "mercaptopurine":
        events = _aza_events(ctx, SEVERE_AZA_EVENTS)
        if events:
            kinds = ", ".join(sorted({e.kind for e in events}))
            reasons.append(f"severe AZA adverse event ({kinds}): cross-toxicity, 6-MP not supported (S004 §7.1)")
    if option == "thioguanine" and "HEP-04" in fired:
        reasons.append("possible nodular regenerative hyperplasia (HEP-04)")
    if option in ("tacrolimus", "cyclosporine") and creatinine is not None:
        reasons.append(f"creatinine {creatinine.value:g} above the ULN {creatinine.uln:g}: nephrotoxicity risk")
    if option == "tacrolimus" and (glucose := _above_uln(ctx, "glucose")) is not None:
        reasons.append(f"glucose {glucose.value:g} mmol/L above the ULN: diabetes risk")
    if option == "rituximab":
        igg = ctx.last("igg")
        if igg is not None and igg.lln is not None and igg.value < igg.lln:
            reasons.append(f"IgG {igg.value:g} g/L below the LLN {igg.lln:g}: hypogammaglobulinaemia")
    if option in ("rituximab", "infliximab", "transplant") and infections:
        reasons.append(f"infection recorded on {infections[-1].on:%d %b %Y} (last {RECENT_INFECTION_MONTHS} months)")
    if option == "budesonide":
        if ctx.has_cirrhosis:
            reasons.append("cirrhosis (CI-01)")
        if ctx.in_acute_episode():
            reasons.append("acute severe AIH (CI-02)")
        if ctx.t.portosystemic_shunt not in ("", "none"):
            reasons.append("portosystemic shunt (CI-03)")
    return reasons


def second_line_options(ctx, fired: set[str]) -> list[Option]:
    from dataclasses import replace

    options = []
    for option in (*SECOND_LINE_OPTIONS, BUDESONIDE):
        drugs = OPTION_DRUGS.get(option.key, ())
        on_it = bool(ctx.active_drug(*drugs)) if drugs else False
        options.append(
            replace(option, reasons=tuple(contraindication_reasons(ctx, option.key, fired)), on_it_now=on_it)
        )
    return options


@dataclass(frozen=True)
class ResponseSummary:
    current: str
    since: date | None
    history: list[dict[str, Any]]
    months_on_treatment: int | None
    treatment_start: date | None
    cbr_by_6_months: bool | None  # None: the 6-month point has not been reached yet
    cbr_on: date | None
    on_treatment: bool


def response_summary(ctx) -> ResponseSummary:

    history = ctx.response
    t0 = ctx.t0
    months = None
    if t0 is not None and ctx.on_treatment:
        delta = relativedelta(ctx.as_of, t0)
        months = delta.years * 12 + delta.months
    cbr = history.first(State.COMPLETE_RESPONSE, after=t0) if t0 else None
    deadline_passed = t0 is not None and ctx.as_of >= t0 + relativedelta(months=ctx.p("cbr_deadline_months"))
    return ResponseSummary(
        current=history.current.label if history.current else "Not treated",
        since=history.since,
        history=[{"on": c.on, "state": c.state.label, "detail": c.detail} for c in reversed(history.changes)],
        months_on_treatment=months,
        treatment_start=t0,
        cbr_by_6_months=True if cbr else (False if deadline_passed else None),
        cbr_on=cbr.on if cbr else None,
        on_treatment=ctx.on_treatment,
    )


def metabolite_summary(ctx, evaluation) -> dict[str, Any] | None:
    """The last two 6-TGN / 6-MMP draws and what the TPM rules make of them (None if never measured)."""
    tgn, mmp = ctx.labs("tgn"), ctx.labs("mmp")
    if not tgn and not mmp:
        return None
    pairing = timedelta(days=ctx.p("thiopurine_lab_pairing_days"))
    draws = []
    for lab in tgn[-2:]:
        partner = next((m for m in reversed(mmp) if abs(m.on - lab.on) <= pairing), None)
        draws.append({"on": lab.on, "tgn": lab.value, "mmp": partner.value if partner else None})
    if not tgn:
        draws = [{"on": lab.on, "tgn": None, "mmp": lab.value} for lab in mmp[-2:]]
    for draw in draws:
        draw["ratio"] = round(draw["mmp"] / draw["tgn"], 1) if draw["tgn"] and draw["mmp"] is not None else None
    findings = [f for f in evaluation.findings if f.rule_id.startswith("TPM-")]
    missing = [n for n in evaluation.not_evaluable if n.rule_id.startswith("TPM-")]
    on_thiopurine = bool(ctx.active_drug(*THIOPURINES))
    latest = draws[-1]
    if findings or missing:
        text = ""
    elif not on_thiopurine:
        text = "Not on a thiopurine now: the last results are history."
    elif latest["tgn"] is not None and ctx.p("tgn_low") <= latest["tgn"] <= ctx.p("tgn_high"):
        text = f"6-TGN within {ctx.p('tgn_low'):g}-{ctx.p('tgn_high'):g} and 6-MMP not above {ctx.p('mmp_high'):g}."
    else:
        text = "No metabolite rule applies to the current draw (drawn before the last dose change, or unpaired)."
    return {
        "draws": list(reversed(draws)),
        "findings": findings,
        "not_evaluable": missing,
        "interpretation": text,
        "tgn_range": (ctx.p("tgn_low"), ctx.p("tgn_high")),
        "mmp_high": ctx.p("mmp_high"),
    }


def steroid_exposure(ctx) -> dict[str, Any]:

    total, days_above = cumulative_steroid_exposure(ctx)
    return {
        "total_mg": round(total),
        "months_above": round(days_above / DAYS_PER_MONTH, 1),
        "threshold_mg": ctx.p("prolonged_steroid_mg"),
        "limit_months": ctx.p("prolonged_steroid_months"),
    }


def alert_rows(alerts) -> list[dict[str, Any]]:
    """Open alerts (from the database) as rows: message, evidence, suggested action, linked source."""
    return [
        {
            "rule_id": alert.rule_id,
            "severity": alert.get_severity_display(),
            "message": alert.message,
            "evidence": alert.evidence,
            "action": alert.suggested_action,
            "source_parts": source_parts(alert.source),
        }
        for alert in alerts
    ]


def decision_support(timeline: Timeline, evaluation, params: dict[str, Any], as_of: date, alerts=()) -> dict[str, Any]:
    """Everything the physician's panel shows, as plain data; `alerts` are the open Alert rows."""
    ctx = Context(timeline, as_of, params)
    fired = {f.rule_id for f in evaluation.findings}
    return {
        "response": response_summary(ctx),
        "not_evaluable": [
            {"rule_id": n.rule_id, "title": rule_title(n.rule_id), "missing": n.missing}
            for n in evaluation.not_evaluable
        ],
        "metabolites": metabolite_summary(ctx, evaluation),
        "meld": meld_scores(ctx),
        "child_pugh": child_pugh_score(ctx),
        "withdrawal": [
            {"criterion": CRITERION_LABELS.get(name, name), "met": met, "detail": detail}
            for name, met, detail in withdrawal_readiness(ctx)
        ],
        "steroids": steroid_exposure(ctx),
        "options": second_line_options(ctx, fired),
        "alerts": alert_rows(alerts),
        "seed_sources": SEED_SOURCES,
    }


# -- sources ----------------------------------------------------------------------------------

# The seed texts the rules cite as S000 / S001 / S004 (clinical-rules.md, "Sources").
SEED_SOURCES = {
    "S000": "Dr.Oracle, “What is the treatment for autoimmune hepatitis with positive anti-smooth muscle "
    "antibodies (ASMA)?” (seed 000, last updated 16 Dec 2025).",
    "S001": "Dr.Oracle, “What is the treatment for autoimmune hepatitis?” (seed 001, last updated 19 Dec 2025).",
    "S004": "Narciso-Schiavon JL, Schiavon LL. Autoimmune hepatitis beyond first-line therapy: management of "
    "intolerance and treatment failure. Braz J Health Rev 2025 (seed 004).",
}
# A seed id, a DOI or a URL; a trailing full stop ends the sentence, not the link.
_SOURCE_TOKEN = re.compile(
    r"\b(S00[014])\b|doi:\s*(10\.[^\s;,)]*[^\s;,).])|(https?://[^\s;,)]*[^\s;,).])", re.IGNORECASE
)


def source_parts(text: str) -> list[tuple[str, str | None]]:
    """A source string cut into (text, link) parts: seed ids link to the source list, DOIs and URLs out."""
    parts: list[tuple[str, str | None]] = []
    position = 0
    for match in _SOURCE_TOKEN.finditer(text or ""):
        if match.start() > position:
            parts.append((text[position : match.start()], None))
        seed, doi, url = match.groups()
        if seed:
            href = f"#source-{seed.upper()}"
        elif doi:
            href = f"https://doi.org/{doi}"
        else:
            href = url
        parts.append((match.group(0), href))
        position = match.end()
    if position < len(text or ""):
        parts.append((text[position:], None))
    return parts
