import numpy as np
import pytest
from scipy import sparse
from scipy.special import expit, logit
from sklearn.base import clone

from classifier.labels import DOMAINS, LABEL_FIELDS, PROHIBITED, USES
from classifier.model import COLUMNS, UseCaseHeads, build_pipeline, choose_band, review_floor, shift_prior
from classifier.predictor import labels_of
from tests.fakes import FakeEmbedder, tiny_examples


@pytest.fixture(scope="module")
def data():
    examples = tiny_examples()
    emb = FakeEmbedder()
    X = np.stack([d.vector for d in emb.embed_documents([e["text"] for e in examples])])
    y = [labels_of(e) for e in examples]
    return X, y, examples


def test_init_stores_params_unchanged_and_clone_round_trips():
    heads = UseCaseHeads(kernel="linear", C=2.5, cv=3, prohibited_prior=0.1, coin=0.6, use_caught=0.8,
                         use_most=0.01, random_state=7)
    assert heads.get_params() == {"kernel": "linear", "C": 2.5, "cv": 3, "prohibited_prior": 0.1, "coin": 0.6,
                                  "use_caught": 0.8, "use_most": 0.01, "random_state": 7}
    assert clone(heads).get_params() == heads.get_params()
    pipe = build_pipeline(FakeEmbedder(), C=3.0)
    assert clone(pipe).get_params()["clf__C"] == 3.0


def test_fit_returns_self_and_learns_every_head(data):
    X, y, _ = data
    heads = UseCaseHeads()
    assert heads.fit(X, y) is heads
    assert list(heads.classes_) == list(COLUMNS)
    assert set(heads.thresholds_) == set(DOMAINS) | set(USES) | {
        "consumer", "decisions_about_individuals", "chatbot", "minors", "review:yes", "review:no", "prohibited"}
    proba = heads.predict_proba(X)
    assert proba.shape == (len(X), len(COLUMNS))
    for prefix in ("prohibited:", "review:"):
        cols = [i for i, c in enumerate(COLUMNS) if c.startswith(prefix)]
        np.testing.assert_allclose(proba[:, cols].sum(axis=1), 1.0, atol=1e-6)


@pytest.mark.parametrize("kernel", ["rbf", "linear"])
def test_predicts_training_labels_it_can_separate(data, kernel):
    X, y, _ = data
    predicted = UseCaseHeads(kernel=kernel).fit(X, y).predict(X)
    assert set(predicted[0]) == set(LABEL_FIELDS)
    for field in LABEL_FIELDS:
        agree = np.mean([p[field] == t[field] for p, t in zip(predicted, y)])
        assert agree > 0.85, field


def test_unseen_labels_give_constant_heads():
    X = np.eye(6)[:, :4] + 0.01
    label = {"domains": [], "audience": "business", "decisions_about_individuals": False,
             "qualified_human_review": None, "prohibited": None, "chatbot": False, "minors": False,
             "uses": []}
    heads = UseCaseHeads().fit(X, [label] * 6)
    assert heads.predict(X)[0] == label


def test_accepts_sparse_features(data):
    X, y, _ = data
    heads = UseCaseHeads().fit(sparse.csr_matrix(X), y)
    np.testing.assert_allclose(heads.predict_proba(sparse.csr_matrix(X[:3])), heads.predict_proba(X[:3]))


def _row(**columns):
    row = np.zeros(len(COLUMNS))
    row[COLUMNS.index("prohibited:none")] = 1.0
    row[COLUMNS.index("review:unstated")] = 1.0
    for name, value in columns.items():
        row[COLUMNS.index(name.replace("__", ":"))] = value
    return row


def test_decide_reports_labels_inside_their_band_only(data):
    X, y, _ = data
    heads = UseCaseHeads().fit(X, y)
    heads.bands_ = {**heads.bands_, "legal": 0.1, "consumer": 0.0}
    decided = heads.decide(_row(legal=heads.thresholds_["legal"] + 0.05, consumer=0.99))
    assert decided["domains"] == ["legal"]
    assert "legal" in decided["uncertain"] and "audience" not in decided["uncertain"]
    assert decided["prohibited"] is None and decided["prohibited_probability"] == 0.0
    far = heads.decide(_row(legal=heads.thresholds_["legal"] + 0.2, consumer=0.99))
    assert "legal" not in far["uncertain"]


def test_prohibited_probability_is_the_chance_of_any_prohibited_use(data):
    """A flag shown with "probability 0.12" read as 12 % when 0.12 was only the top category's share."""
    X, y, _ = data
    heads = UseCaseHeads().fit(X, y)
    row = _row(prohibited__none=0.1, prohibited__cyber_malicious=0.6, prohibited__fraud_scams_spam=0.3)
    decided = heads.decide(row)
    assert decided["prohibited"] == "cyber_malicious"
    assert decided["prohibited_probability"] == pytest.approx(0.9)
    assert decided["prohibited_category"] == "cyber_malicious"
    assert decided["prohibited_category_share"] == pytest.approx(0.6 / 0.9, abs=1e-4)
    assert set(PROHIBITED) >= {decided["prohibited"]}


def test_a_weak_prohibited_signal_is_not_a_flag(data):
    X, y, _ = data
    heads = UseCaseHeads().fit(X, y)
    decided = heads.decide(_row(prohibited__none=0.88, prohibited__election_political=0.12))
    assert decided["prohibited"] is None
    assert decided["prohibited_probability"] == pytest.approx(0.12)


def test_review_is_predicted_only_when_the_text_says_so(data):
    X, y, _ = data
    heads = UseCaseHeads().fit(X, y)
    assert heads.decide(_row())["qualified_human_review"] is None
    said_yes = heads.decide(_row(review__yes=0.95, review__unstated=0.05))
    said_no = heads.decide(_row(review__no=0.95, review__unstated=0.05))
    assert said_yes["qualified_human_review"] is True and said_no["qualified_human_review"] is False


def test_shift_prior_moves_the_odds_by_the_ratio_of_the_rates():
    p = np.array([0.2, 0.5, 0.9])
    np.testing.assert_allclose(shift_prior(p, 0.2, 0.2), p)
    shifted = shift_prior(p, 0.2, 0.04)
    assert (shifted < p).all()
    odds_ratio = np.exp(logit(shifted) - logit(p))
    np.testing.assert_allclose(odds_ratio, (0.04 / 0.96) / (0.2 / 0.8))


def test_the_prohibited_head_is_calibrated_to_the_real_world_rate(data):
    X, y, _ = data
    rare = UseCaseHeads(prohibited_prior=0.01).fit(X, y)
    common = UseCaseHeads(prohibited_prior=0.5).fit(X, y)
    none = COLUMNS.index("prohibited:none")
    assert (1 - rare.predict_proba(X)[:, none] <= 1 - common.predict_proba(X)[:, none] + 1e-12).all()


def test_choose_band_covers_only_where_answers_are_a_coin_flip():
    rng = np.random.default_rng(0)
    scores = rng.uniform(0, 1, 4000)
    # Far from 0.5 the label follows the score; within 0.05 of it the label is random.
    y = np.where(np.abs(scores - 0.5) < 0.05, rng.integers(0, 2, 4000), scores >= 0.5).astype(int)
    band = choose_band(y, scores, 0.5, coin=0.6)
    assert 0.03 <= band <= 0.07
    assert choose_band((scores >= 0.5).astype(int), scores, 0.5) == 0.0


def test_pipeline_runs_end_to_end_on_text(data):
    _, y, examples = data
    pipe = build_pipeline(FakeEmbedder()).fit([e["text"] for e in examples], y)
    assert pipe.predict(["a lawyer checks the contract for customers"])[0]["domains"] == ["legal"]
    assert list(pipe.classes_) == list(COLUMNS)


@pytest.mark.parametrize("kernel", ["rbf", "linear"])
def test_serving_path_matches_the_fitted_estimators(data, kernel):
    X, y, _ = data
    heads = UseCaseHeads(kernel=kernel).fit(X, y)
    fast = heads.predict_proba(X)
    for i, name in enumerate(COLUMNS[:11]):
        head = heads.heads_[name]
        expected = np.full(len(X), head) if isinstance(head, float) else head.predict_proba(X)[:, 1]
        np.testing.assert_allclose(fast[:, i], expected, atol=1e-9, err_msg=name)
    lr = heads.prohibited_.predict_proba(X)
    classes = list(heads.prohibited_.classes_)
    got = np.column_stack([fast[:, COLUMNS.index(f"prohibited:{cat}")] for cat in classes])
    # The multinomial head's risk is averaged with the detector, Platt-scaled, then moved to the real-world rate.
    detector = heads.heads_["any_prohibited"].predict_proba(X)[:, 1]
    lr_risk = 1 - lr[:, classes.index("none")]
    a, b = heads.risk_calibration_
    raw = logit(np.clip((lr_risk + detector) / 2, 1e-6, 1 - 1e-6))
    risk = shift_prior(expit(a * raw + b), heads.prohibited_rate_, heads.prohibited_prior)
    np.testing.assert_allclose(got[:, classes.index("none")], 1 - risk, atol=1e-9)
    others = [j for j, c in enumerate(classes) if c != "none"]
    np.testing.assert_allclose(got[:, others], lr[:, others] / lr_risk[:, None] * risk[:, None], atol=1e-9)


def test_review_floor_sends_weak_prohibited_evidence_to_a_person():
    risk = np.array([0.9, 0.8, 0.6, 0.3, 0.15, 0.02, 0.01, 0.2, 0.05, 0.0])
    y = np.array([1, 1, 1, 1, 1, 0, 0, 0, 0, 0])
    # Four of the five prohibited uses score 0.3 or more.
    assert review_floor(y, risk, threshold=0.5, caught=0.8, most=0.5) == pytest.approx(0.3)
    # Catching all five reaches down to 0.15, which lets one allowed use in five (0.2) into review.
    assert review_floor(y, risk, threshold=0.5, caught=1.0, most=0.2) == pytest.approx(0.15)
    # When too many allowed uses would be sent to review, the floor rises to the threshold.
    assert review_floor(y, risk, threshold=0.5, caught=1.0, most=0.0) == 0.5


def test_decide_marks_prohibited_uncertain_between_the_floor_and_the_threshold(data):
    X, y, _ = data
    heads = UseCaseHeads().fit(X, y)
    heads.thresholds_["prohibited"], heads.review_from_, heads.bands_["prohibited"] = 0.4, 0.15, 0.0
    unsure = heads.decide(_row(prohibited__none=0.8, prohibited__cyber_malicious=0.2))
    assert unsure["prohibited"] is None and "prohibited" in unsure["uncertain"]
    clear = heads.decide(_row(prohibited__none=0.95, prohibited__cyber_malicious=0.05))
    assert "prohibited" not in clear["uncertain"]
