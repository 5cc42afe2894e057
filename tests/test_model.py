import numpy as np
import pytest
from scipy import sparse
from sklearn.base import clone

from classifier.labels import DOMAINS, PROHIBITED
from classifier.model import COLUMNS, UseCaseHeads, build_pipeline
from tests.fakes import FakeEmbedder, tiny_examples


@pytest.fixture(scope="module")
def data():
    examples = tiny_examples()
    emb = FakeEmbedder()
    X = np.stack([d.vector for d in emb.embed_documents([e["text"] for e in examples])])
    y = [{k: e[k] for k in ("domains", "audience", "prohibited", "chatbot", "minors")} for e in examples]
    return X, y, examples


def test_init_stores_params_unchanged_and_clone_round_trips():
    heads = UseCaseHeads(kernel="linear", C=2.5, cv=3, band=0.1, random_state=7)
    assert heads.get_params() == {"kernel": "linear", "C": 2.5, "cv": 3, "band": 0.1, "random_state": 7}
    assert clone(heads).get_params() == heads.get_params()
    pipe = build_pipeline(FakeEmbedder(), C=3.0)
    assert clone(pipe).get_params()["clf__C"] == 3.0


def test_fit_returns_self_and_learns_every_head(data):
    X, y, _ = data
    heads = UseCaseHeads()
    assert heads.fit(X, y) is heads
    assert list(heads.classes_) == list(COLUMNS)
    assert set(heads.thresholds_) == set(DOMAINS) | {"consumer", "chatbot", "minors", "prohibited"}
    proba = heads.predict_proba(X)
    assert proba.shape == (len(X), len(COLUMNS))
    prohibited_cols = [i for i, c in enumerate(COLUMNS) if c.startswith("prohibited:")]
    np.testing.assert_allclose(proba[:, prohibited_cols].sum(axis=1), 1.0, atol=1e-6)


@pytest.mark.parametrize("kernel", ["rbf", "linear"])
def test_predicts_training_labels_it_can_separate(data, kernel):
    X, y, _ = data
    predicted = UseCaseHeads(kernel=kernel).fit(X, y).predict(X)
    agree = np.mean([p == t for p, t in zip(predicted, y)])
    assert agree > 0.9


def test_unseen_labels_give_constant_heads():
    X = np.eye(6)[:, :4] + 0.01
    y = [{"domains": [], "audience": "business", "prohibited": None, "chatbot": False, "minors": False}] * 6
    heads = UseCaseHeads().fit(X, y)
    out = heads.predict(X)[0]
    assert out == {"domains": [], "audience": "business", "prohibited": None, "chatbot": False, "minors": False}


def test_accepts_sparse_features(data):
    X, y, _ = data
    heads = UseCaseHeads().fit(sparse.csr_matrix(X), y)
    np.testing.assert_allclose(heads.predict_proba(sparse.csr_matrix(X[:3])), heads.predict_proba(X[:3]))


def test_decide_reports_labels_near_their_threshold(data):
    X, y, _ = data
    heads = UseCaseHeads(band=0.2).fit(X, y)
    row = np.zeros(len(COLUMNS))
    row[COLUMNS.index("legal")] = heads.thresholds_["legal"] + 0.05
    row[COLUMNS.index("consumer")] = 0.99
    row[COLUMNS.index("prohibited:none")] = 1.0
    decided = heads.decide(row)
    assert decided["domains"] == ["legal"]
    assert "legal" in decided["uncertain"] and "audience" not in decided["uncertain"]
    assert decided["prohibited"] is None and decided["prohibited_probability"] == 1.0


def test_decide_names_the_top_prohibited_category(data):
    X, y, _ = data
    heads = UseCaseHeads().fit(X, y)
    row = np.zeros(len(COLUMNS))
    row[COLUMNS.index("prohibited:cyber_malicious")] = 0.9
    row[COLUMNS.index("prohibited:none")] = 0.1
    decided = heads.decide(row)
    assert decided["prohibited"] == "cyber_malicious" and decided["prohibited_probability"] == 0.9
    assert set(PROHIBITED) >= {decided["prohibited"]}


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
    for i, name in enumerate(COLUMNS[:10]):
        head = heads.heads_[name]
        expected = np.full(len(X), head) if isinstance(head, float) else head.predict_proba(X)[:, 1]
        np.testing.assert_allclose(fast[:, i], expected, atol=1e-9, err_msg=name)
    lr = heads.prohibited_.predict_proba(X)
    classes = list(heads.prohibited_.classes_)
    got = np.column_stack([fast[:, COLUMNS.index(f"prohibited:{cat}")] for cat in classes])
    if kernel == "linear":
        assert "any_prohibited" not in heads.heads_
        np.testing.assert_allclose(got, lr, atol=1e-9)
        return
    # The RBF heads average a binary "prohibited at all" detector into the multinomial head's risk.
    detector = heads.heads_["any_prohibited"].predict_proba(X)[:, 1]
    lr_risk = 1 - lr[:, classes.index("none")]
    risk = (lr_risk + detector) / 2
    np.testing.assert_allclose(got[:, classes.index("none")], 1 - risk, atol=1e-9)
    others = [j for j, c in enumerate(classes) if c != "none"]
    np.testing.assert_allclose(got[:, others], lr[:, others] / lr_risk[:, None] * risk[:, None], atol=1e-9)
