"""Every worked example of clinical-rules.md §3 (and the computed examples in §2) as a test row."""

import pytest

from monitoring.engine.formulas import (
    child_pugh,
    fold_uln,
    is_above,
    meld,
    meld_3,
    meld_na,
    metabolite_ratio,
    mg_per_kg,
    percent_fall,
    r_ratio,
    simplified_aih_score,
    to_conventional,
)


# §3.1 unit handling
@pytest.mark.parametrize(
    ("code", "si", "unit", "conventional"),
    [
        ("bilirubin", 85, "mg/dL", 4.971),  # §3.1: 85 µmol/L = 4.971 mg/dL
        ("bilirubin", 100, "mg/dL", 5.848),  # §3.1
        ("bilirubin", 102.6, "mg/dL", 6.0),  # §3.1: 6 mg/dL = 102.6 µmol/L
        ("bilirubin", 280, "mg/dL", 16.374),  # §2.8 ASA-02 example: 280 µmol/L ≈ 16.4 mg/dL
        ("creatinine", 110, "mg/dL", 1.244),  # §3.1
        ("creatinine", 150, "mg/dL", 1.697),  # §3.1
        ("albumin", 35, "g/dL", 3.5),  # §3.1: g/dL = g/L ÷ 10
        ("igg", 16, "mg/dL", 1600),  # §4: 1 g/L = 100 mg/dL
    ],
)
def test_unit_conversion(code, si, unit, conventional):
    assert to_conventional(code, si, unit) == pytest.approx(conventional, abs=0.001)


# §3.2 MELD (original)
@pytest.mark.parametrize(
    ("cr", "bili", "inr", "dialysis", "score"),
    [
        (1.9, 4.2, 1.2, False, 20),  # §3.2 row 1 (= ameld test)
        (1.5, 2.0, 1.5, False, 17),  # §3.2 row 2 (= clincalc test)
        (0.8, 0.6, 0.9, False, 6),  # §3.2 row 3: all floored to 1.0
        (1.0, 1.0, 1.0, True, 20),  # §3.2 row 4: dialysis sets Cr to 4.0
        (6.0, 1.0, 1.0, False, 20),  # §3.2 bounds: Cr > 4.0 is set to 4.0
    ],
)
def test_meld(cr, bili, inr, dialysis, score):
    assert meld(cr, bili, inr, dialysis) == score


# §3.3 MELD-Na (OPTN 2016)
@pytest.mark.parametrize(
    ("cr", "bili", "inr", "na", "score"),
    [
        (1.2, 2.0, 1.5, 135, 17),  # §3.3 row 1: 15 → 16.65 → 17
        (1.9, 4.2, 1.2, 125, 28),  # §3.3 row 2 (= ameld test)
        (1.0, 1.5, 1.5, 135, 15),  # §3.3 row 3: OPTN rounds MELD(i) to 13 first (unrounded gives 14)
        (1.0, 1.0, 1.0, 125, 6),  # §3.3 row 4: MELD ≤ 11, no sodium term
        (1.9, 4.2, 1.2, 130, 25),  # §3.3 row 5: OPTN 24.62 → 25
        (1.9, 4.2, 1.2, 120, 28),  # §3.3 bounds: Na below 125 is set to 125
    ],
)
def test_meld_na(cr, bili, inr, na, score):
    assert meld_na(cr, bili, inr, na) == score


# §3.4 MELD 3.0
@pytest.mark.parametrize(
    ("female", "bili", "na", "inr", "cr", "alb", "dialysis", "score"),
    [
        (False, 2.5, 131, 1.0, 1.2, 3.8, False, 16),  # Kim 2021 Table 4 (raw 15.810)
        (False, 6.0, 131, 1.5, 1.5, 3.5, False, 25),  # Kim 2021 Table 4 (raw 24.713)
        (False, 12.0, 128, 2.2, 1.8, 2.0, False, 34),  # Kim 2021 Table 4 (raw 34.220)
        (False, 4.0, 130, 1.8, 1.2, 2.8, False, 24),  # §3.4 additional example: 24.17
        (False, 4.0, 130, 1.8, 1.2, 2.8, True, 33),  # §3.4: same patient on dialysis (Cr 3.0): 33.20
        (True, 2.3, 134, 1.4, 0.9, 3.1, False, 17),  # §3.4 Patient X (female)
        (False, 2.3, 134, 1.4, 0.9, 3.1, False, 15),  # §3.4 Patient X labs in a male
    ],
)
def test_meld_3(female, bili, na, inr, cr, alb, dialysis, score):
    result = meld_3(
        female=female,
        bilirubin_mg_dl=bili,
        sodium_mmol_l=na,
        inr=inr,
        creatinine_mg_dl=cr,
        albumin_g_dl=alb,
        dialysis=dialysis,
    )
    assert result == score


def test_meld_version_matters_near_the_referral_threshold():
    # §3.4 Patient X: MELD 13, MELD-Na 16, MELD 3.0 17
    assert meld(0.9, 2.3, 1.4) == 13
    assert meld_na(0.9, 2.3, 1.4, 134) == 16


def test_meld_3_gives_adolescents_the_female_term():
    # §3.4: OPTN gives the 1.33 term to all candidates aged 12-17
    args = {"bilirubin_mg_dl": 2.3, "sodium_mmol_l": 134, "inr": 1.4, "creatinine_mg_dl": 0.9, "albumin_g_dl": 3.1}
    assert meld_3(female=False, age_years=15, **args) == meld_3(female=True, **args)


def test_meld_3_is_capped_at_40():
    assert meld_3(female=True, bilirubin_mg_dl=40, sodium_mmol_l=120, inr=6, creatinine_mg_dl=5, albumin_g_dl=1.0) == 40


# §3.5 Child-Pugh
@pytest.mark.parametrize(
    ("bili", "alb", "inr", "ascites", "he", "points", "total", "grade"),
    [
        (1.2, 4.0, 1.1, "none", 0, (1, 1, 1, 1, 1), 5, "A"),  # §3.5 row 1
        (2.5, 3.2, 1.8, "mild", 0, (2, 2, 2, 2, 1), 9, "B"),  # §3.5 row 2
        (3.5, 2.6, 2.5, "moderate_severe", 1, (3, 3, 3, 3, 2), 14, "C"),  # §3.5 row 3
        (4.1, 2.7, 2.4, "moderate_severe", 3, (3, 3, 3, 3, 3), 15, "C"),  # §3.5 row 5
        (2.0, 3.5, 1.7, "none", 2, (2, 2, 2, 1, 2), 9, "B"),  # §3.5: lower cut-offs fall in the middle band
        (3.0, 2.8, 2.3, "none", 0, (2, 2, 2, 1, 1), 8, "B"),  # §3.5: upper cut-offs too (inclusive)
    ],
)
def test_child_pugh(bili, alb, inr, ascites, he, points, total, grade):
    result = child_pugh(bilirubin_mg_dl=bili, albumin_g_dl=alb, inr=inr, ascites=ascites, encephalopathy_grade=he)
    assert (
        result.bilirubin_points,
        result.albumin_points,
        result.inr_points,
        result.ascites_points,
        result.encephalopathy_points,
    ) == points
    assert result.score == total
    assert result.grade == grade


@pytest.mark.parametrize(
    ("bilirubin_umol_l", "points"),
    [
        (34, 1),  # §3.5 trap: 34 µmol/L = 1.988 mg/dL scores 1 on the mg/dL table
        (51, 2),  # §3.5 trap: 51 µmol/L = 2.982 mg/dL scores 2
    ],
)
def test_child_pugh_uses_the_mg_dl_table_after_conversion(bilirubin_umol_l, points):
    bili = to_conventional("bilirubin", bilirubin_umol_l, "mg/dL")
    result = child_pugh(bilirubin_mg_dl=bili, albumin_g_dl=4.0, inr=1.0, ascites="none", encephalopathy_grade=0)
    assert result.bilirubin_points == points


# §3.6 IAIHG simplified criteria
@pytest.mark.parametrize(
    ("antibodies", "igg", "histology", "points", "total", "result"),
    [
        ({"ana_titre": 160}, 24.0, "typical", (2, 2, 2, 2), 8, "definite"),  # §3.6 row 1
        ({"ana_titre": 40}, 16.8, "compatible", (1, 1, 1, 2), 5, "not diagnostic"),  # §3.6 row 2
        ({"lkm1_titre": 40}, 15.0, "typical", (2, 0, 2, 2), 6, "probable"),  # §3.6 row 4
        ({"ana_titre": 80, "sla_positive": True}, 17.6, "typical", (2, 1, 2, 2), 7, "definite"),  # max 2; 17.6 = 1.1×
        ({"sma_titre": 80}, 17.61, "atypical", (2, 2, 0, 2), 6, "probable"),  # §3.6: > 1.10 × ULN
    ],
)
def test_simplified_aih_score(antibodies, igg, histology, points, total, result):
    score = simplified_aih_score(**antibodies, igg=igg, igg_uln=16, histology=histology, viral_hepatitis_absent=True)
    assert (score.autoantibody_points, score.igg_points, score.histology_points, score.viral_points) == points
    assert score.total == total
    assert score.result == result


# §3.7 derived quantities, and the worked examples in §2 that use them
@pytest.mark.parametrize(
    ("value", "uln", "fold"),
    [(38, 40, 0.95), (38, 33, 1.15), (38, 25, 1.52), (130, 40, 3.25), (95, 35, 2.71), (14, 35, 0.40)],
)
def test_fold_uln(value, uln, fold):
    assert fold_uln(value, uln) == pytest.approx(fold, abs=0.005)


def test_exactly_at_the_uln_is_not_above_it():
    assert not is_above(40, 40)
    assert is_above(40.01, 40)


@pytest.mark.parametrize(
    ("baseline", "current", "fall"),
    [
        (620, 340, 0.452),  # RESP-01: fires (< 50 %)
        (620, 290, 0.532),  # RESP-01: does not fire
        (800, 450, 0.438),  # §3.7
        (800, 380, 0.525),  # §3.7
        (280, 190, 0.321),  # ASA-02: bilirubin −32.1 %
        (1.9, 1.5, 0.211),  # ASA-02: INR −21.1 %
    ],
)
def test_percent_fall(baseline, current, fall):
    assert percent_fall(baseline, current) == pytest.approx(fall, abs=0.001)


@pytest.mark.parametrize(
    ("alt", "alt_uln", "alp", "alp_uln", "r"),
    [(60, 40, 390, 130, 0.50), (400, 40, 150, 130, 8.67), (180, 40, 330, 130, 1.77)],  # §3.7, HEP-01 examples
)
def test_r_ratio(alt, alt_uln, alp, alp_uln, r):
    assert r_ratio(alt, alt_uln, alp, alp_uln) == pytest.approx(r, abs=0.005)


@pytest.mark.parametrize(
    ("mmp", "tgn", "ratio"),
    [(9500, 180, 52.8), (3000, 300, 10.0), (6200, 260, 23.8), (2100, 520, 4.0), (800, 150, 5.3)],  # §2.5
)
def test_metabolite_ratio(mmp, tgn, ratio):
    assert metabolite_ratio(mmp, tgn) == pytest.approx(ratio, abs=0.05)


def test_mg_per_kg():
    assert mg_per_kg(150, 72) == pytest.approx(2.08, abs=0.005)  # §3.7: AZA 150 mg at 72 kg
