"""The heads on top of the embeddings: one estimator predicting every label of a use case."""

import numpy as np
from scipy.special import expit, logit, softmax
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC
from sklearn.utils import check_array

from .embedders import EmbeddingTransformer
from .labels import DECISIONS, DOMAINS, FLAGS, LABEL_FIELDS, PROHIBITED, REVIEW, USES

NONE = "none"
ANY_PROHIBITED = "any_prohibited"
BINARY_HEADS = DOMAINS + ("consumer", *FLAGS) + USES
# What a text says about a qualified person checking each output: that one does, that none does, or nothing.
REVIEW_CLASSES = ("yes", "no", "unstated")
COLUMNS = (BINARY_HEADS + tuple(f"review:{c}" for c in REVIEW_CLASSES)
           + tuple(f"prohibited:{c}" for c in (NONE,) + PROHIBITED))
_GRID = np.round(np.arange(0.15, 0.86, 0.025), 3)
_BANDS = np.round(np.arange(0.0, 0.201, 0.01), 3)


def binary_targets(labels):
    """The 0/1 target of every binary head, as a dict of arrays."""
    targets = {d: np.array([d in y["domains"] for y in labels], dtype=int) for d in DOMAINS}
    targets["consumer"] = np.array([y["audience"] == "consumer" for y in labels], dtype=int)
    for flag in FLAGS:
        targets[flag] = np.array([bool(y[flag]) for y in labels], dtype=int)
    for use in USES:
        targets[use] = np.array([use in y["uses"] for y in labels], dtype=int)
    return targets


def review_targets(labels):
    """What each example's text says about qualified review: ``yes``, ``no`` or ``unstated``."""
    return np.array([{True: "yes", False: "no"}.get(y[REVIEW], "unstated") for y in labels])


def prohibited_targets(labels):
    """The prohibited category of each example, ``"none"`` when allowed."""
    return np.array([y["prohibited"] or NONE for y in labels])


def shift_prior(p, from_rate, to_rate):
    """Re-weigh probabilities ``p`` learnt at base rate ``from_rate`` for a world where the rate is ``to_rate``."""
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-9, 1 - 1e-9)
    offset = logit(to_rate) - logit(np.clip(from_rate, 1e-6, 1 - 1e-6))
    return expit(logit(p) + offset)


def _f1(y, pred, weights):
    tp = float((weights * (pred & (y == 1))).sum())
    denom = float((weights * pred).sum() + (weights * (y == 1)).sum())
    return 2 * tp / denom if denom else 0.0


def _best_threshold(y, scores, metric, weights=None):
    weights = np.ones(len(y)) if weights is None else weights
    best, best_score = 0.5, -1.0
    for t in _GRID:
        pred = scores >= t
        score = float((weights * (pred == y)).sum() / weights.sum()) if metric == "accuracy" else _f1(y, pred, weights)
        # Ties go to the threshold nearest 0.5, which generalises better than an extreme one.
        if score > best_score + 1e-9 or (abs(score - best_score) <= 1e-9 and abs(t - 0.5) < abs(best - 0.5)):
            best, best_score = float(t), score
    return best


def review_floor(y, risk, threshold, caught=0.9, most=0.02):
    """Where a person starts to be needed below a threshold (of P(prohibited), or of a use): the lowest score from
    which, out of fold, flags and reviews together catch ``caught`` of the positives, raised until at most ``most``
    of the negatives fall between it and the threshold. A missed prohibited use costs more than a review."""
    positives = np.sort(risk[y == 1])[::-1]
    if not len(positives):
        return threshold
    floor = min(threshold, float(positives[int(np.ceil(caught * len(positives))) - 1]))
    allowed = risk[y == 0]
    for candidate in np.unique(np.concatenate([[floor], allowed[(allowed >= floor) & (allowed < threshold)]])):
        if ((allowed >= candidate) & (allowed < threshold)).mean() <= most:
            return float(candidate)
    return threshold


def choose_band(y, scores, threshold, coin=0.7, most=0.1):
    """The widest distance from ``threshold`` within which the out-of-fold answers are barely better than a coin.

    A label is reported uncertain inside the band: there a person is genuinely needed. Outside it the answers are
    right often enough to stand. ``most`` caps the share of examples the band may hold.
    """
    distance = np.abs(scores - threshold)
    right = (scores >= threshold) == (y == 1)
    chosen = 0.0
    for band in _BANDS[1:]:
        inside = distance < band
        if inside.mean() > most:
            break
        if inside.any() and right[inside].mean() <= coin:
            chosen = float(band)
    return chosen


class UseCaseHeads(ClassifierMixin, BaseEstimator):
    """Classifier heads over document vectors.

    One binary head per domain, audience (consumer), decisions about individuals, chatbot, minors and use; a
    multinomial head for what the text says about qualified review; and, for prohibited uses, a multinomial head
    over the categories averaged with a binary "prohibited at all" detector. Each decision threshold and each
    uncertainty band is chosen on out-of-fold predictions of the training data.

    P(prohibited) is calibrated on the training data, then moved from the training data's share of prohibited
    examples to ``prohibited_prior``, the share expected in real intake, so it reads as the chance that the use is
    prohibited at all; its threshold maximises F1 with the examples weighed to that share.

    :param kernel: ``"rbf"`` for Platt-calibrated RBF support-vector heads, ``"linear"`` for logistic regression.
    :param C: regularisation strength (inverse) of every head.
    :param cv: folds used to choose thresholds and bands and to calibrate.
    :param prohibited_prior: expected share of prohibited uses among real descriptions.
    :param coin: a band holds the answers right at most this often out of fold.
    :param use_caught: below its threshold, a use is "possible" from the score where, out of fold, this share of
        the examples showing it are caught...
    :param use_most: ...unless that lets in more than this share of the examples not showing it.
    """

    def __init__(self, kernel="linear", C=4.0, cv=5, prohibited_prior=0.04, coin=0.55, use_caught=0.9,
                 use_most=0.005, random_state=0):
        self.kernel = kernel
        self.C = C
        self.cv = cv
        self.prohibited_prior = prohibited_prior
        self.coin = coin
        self.use_caught = use_caught
        self.use_most = use_most
        self.random_state = random_state

    def _lr(self):
        return LogisticRegression(C=self.C, class_weight="balanced", max_iter=5000, random_state=self.random_state)

    def _binary(self, target):
        if self.kernel == "linear":
            return self._lr()
        # Three calibration folds, two when a label is rare, so every fold holds positives.
        folds = 3 if np.bincount(target).min() >= 9 else 2
        svc = SVC(C=self.C, kernel="rbf", gamma=self.gamma_, class_weight="balanced", random_state=self.random_state)
        return CalibratedClassifierCV(svc, method="sigmoid", cv=folds, ensemble=False)

    def _cv_scores(self, estimator, X, y):
        counts = np.bincount(y) if y.dtype.kind in "iu" else np.unique(y, return_counts=True)[1]
        # Calibrated heads split each training fold again, so they need twice the examples per fold.
        per_fold = 2 if isinstance(estimator, CalibratedClassifierCV) else 1
        folds = int(min(self.cv, counts.min() // per_fold)) if len(counts) > 1 else 0
        if folds < 2:
            return None
        splitter = StratifiedKFold(folds, shuffle=True, random_state=self.random_state)
        return cross_val_predict(estimator, X, y, cv=splitter, method="predict_proba")

    def fit(self, X, y):
        """Fit every head.

        :param X: an (n, dim) array of document vectors.
        :param y: a list of label dicts with the fields of :data:`classifier.labels.LABEL_FIELDS`.
        """
        X = check_array(X, accept_sparse="csr", dtype=np.float64)
        y = list(y)
        self.heads_, self.thresholds_, self.bands_, self.possible_from_ = {}, {}, {}, {}
        # What gamma="scale" would pick, fixed once so every head shares one kernel and the fast path can too.
        variance = X.multiply(X).mean() - X.mean() ** 2 if hasattr(X, "multiply") else X.var()
        self.gamma_ = float(1.0 / (X.shape[1] * variance)) if variance > 0 else 1.0
        for name, target in binary_targets(y).items():
            self._fit_binary(name, X, target)
        self._fit_review(X, review_targets(y))
        self._fit_prohibited(X, prohibited_targets(y))
        self.classes_ = np.array(COLUMNS)
        self.n_features_in_ = X.shape[1]
        if self.kernel == "rbf":
            self._compile_rbf(X)
        return self

    def _fit_binary(self, name, X, target):
        self.bands_[name] = 0.0
        if name in USES:
            self.possible_from_[name] = 1.0
        if target.min() == target.max():
            # Only one value seen: a constant head rather than a failed fit.
            self.heads_[name] = float(target[0])
            self.thresholds_[name] = 0.5
            return
        self.heads_[name] = self._binary(target).fit(X, target)
        scores = self._cv_scores(self._binary(target), X, target)
        metric = "accuracy" if name == "consumer" else "f1"
        if scores is None:
            self.thresholds_[name] = 0.5
            return
        self.thresholds_[name] = _best_threshold(target, scores[:, 1], metric)
        self.bands_[name] = choose_band(target, scores[:, 1], self.thresholds_[name], self.coin)
        if name in USES:
            # Below its threshold a use may still be what the text shows; from here on the rules ask about it.
            self.possible_from_[name] = review_floor(target, scores[:, 1], self.thresholds_[name], self.use_caught,
                                                     self.use_most)

    def _fit_review(self, X, said):
        """What the text says about review: a stated answer is kept only when its probability passes a threshold."""
        self.review_ = self._lr().fit(X, said) if len(set(said)) > 1 else None
        scores = self._cv_scores(self._lr(), X, said) if self.review_ is not None else None
        for answer in ("yes", "no"):
            key = f"review:{answer}"
            if scores is None or answer not in self.review_.classes_:
                self.thresholds_[key] = 0.5
                continue
            column = list(self.review_.classes_).index(answer)
            self.thresholds_[key] = _best_threshold((said == answer).astype(int), scores[:, column], "f1")

    def _fit_prohibited(self, X, cats):
        self.prohibited_ = self._lr().fit(X, cats) if len(set(cats)) > 1 else None
        is_prohibited = (cats != NONE).astype(int)
        self.prohibited_rate_ = float(is_prohibited.mean())
        self.risk_calibration_ = (1.0, 0.0)
        self.thresholds_["prohibited"], self.bands_["prohibited"] = 0.5, 0.0
        self.review_from_ = 0.5
        if self.prohibited_ is None:
            return
        self.heads_[ANY_PROHIBITED] = self._binary(is_prohibited).fit(X, is_prohibited)
        scores = self._cv_scores(self._lr(), X, cats)
        detector = self._cv_scores(self._binary(is_prohibited), X, is_prohibited)
        if scores is None or detector is None:
            return
        none_col = list(np.unique(cats)).index(NONE)
        # The multinomial head and the detector disagree in different places; their mean measured better than
        # either alone. Platt scaling on the out-of-fold mean makes it a probability at the training data's rate.
        raw = logit(np.clip((1 - scores[:, none_col] + detector[:, 1]) / 2, 1e-6, 1 - 1e-6))
        platt = LogisticRegression(C=1e4).fit(raw[:, None], is_prohibited)
        self.risk_calibration_ = (float(platt.coef_[0, 0]), float(platt.intercept_[0]))
        risk = self._real_world(raw)
        # Weigh the examples as if prohibited uses were as rare as in real intake.
        ratio = self.prohibited_prior / max(self.prohibited_rate_, 1e-6)
        weights = np.where(is_prohibited == 1, ratio, (1 - self.prohibited_prior) / (1 - self.prohibited_rate_))
        self.thresholds_["prohibited"] = _best_threshold(is_prohibited, risk, "f1", weights)
        self.bands_["prohibited"] = choose_band(is_prohibited, risk, self.thresholds_["prohibited"], self.coin)
        self.review_from_ = review_floor(is_prohibited, risk, self.thresholds_["prohibited"])

    def _real_world(self, raw_logit):
        """P(prohibited at all) in real intake, from the logit of the averaged heads."""
        a, b = self.risk_calibration_
        return shift_prior(expit(a * raw_logit + b), self.prohibited_rate_, self.prohibited_prior)

    def _compile_rbf(self, X):
        """Gather every head's support vectors into one matrix so all heads cost one kernel product.

        The heads are trained on the same rows, so their support vectors overlap; one product with the
        union and a slice per head replaces a dozen separate scikit-learn calls on the serving path.
        """
        svcs = {n: h.calibrated_classifiers_[0] for n, h in self.heads_.items() if not isinstance(h, float)}
        union = sorted(set().union(*(c.estimator.support_ for c in svcs.values()))) if svcs else []
        position = {row: i for i, row in enumerate(union)}
        self.support_vectors_ = np.asarray(X[union].toarray() if hasattr(X, "toarray") else X[union])
        self.support_norms_ = (self.support_vectors_**2).sum(axis=1)
        self.fast_heads_ = {}
        for name, calibrated in svcs.items():
            svc, sigmoid = calibrated.estimator, calibrated.calibrators[0]
            coef = svc.dual_coef_.toarray() if hasattr(svc.dual_coef_, "toarray") else svc.dual_coef_
            self.fast_heads_[name] = {
                "rows": np.array([position[r] for r in svc.support_]),
                "coef": np.asarray(coef[0], dtype=np.float64),
                "intercept": float(svc.intercept_[0]),
                "a": float(sigmoid.a_),
                "b": float(sigmoid.b_),
            }

    def _head_proba(self, X, name, kernel):
        head = self.heads_[name]
        if isinstance(head, float):
            return np.full(X.shape[0], head)
        if kernel is not None:
            fast = self.fast_heads_[name]
            decision = kernel[:, fast["rows"]] @ fast["coef"] + fast["intercept"]
            return expit(-(fast["a"] * decision + fast["b"]))
        if self.kernel == "linear":
            # What LogisticRegression.predict_proba computes, without its per-call checks.
            return expit(X @ head.coef_[0] + head.intercept_[0])
        return head.predict_proba(X)[:, 1]

    def predict_proba(self, X):
        """An (n, len(classes_)) array: P(positive) per binary head, P(each answer) on review, then
        P(each prohibited category) in real intake (``prohibited:none`` is P(allowed))."""
        X = check_array(X, accept_sparse="csr", dtype=np.float64)
        out = np.zeros((X.shape[0], len(COLUMNS)))
        kernel = None
        if self.kernel == "rbf" and not hasattr(X, "toarray") and len(self.support_vectors_):
            sq = (X**2).sum(axis=1)[:, None] + self.support_norms_[None, :] - 2 * X @ self.support_vectors_.T
            kernel = np.exp(-self.gamma_ * np.maximum(sq, 0))
        for i, name in enumerate(BINARY_HEADS):
            out[:, i] = self._head_proba(X, name, kernel)
        self._review_into(X, out)
        self._prohibited_into(X, out, kernel)
        return out

    def _review_into(self, X, out):
        columns = [COLUMNS.index(f"review:{c}") for c in REVIEW_CLASSES]
        if self.review_ is None:
            out[:, columns[-1]] = 1.0
            return
        proba = linear_proba(self.review_, X)
        for j, answer in enumerate(self.review_.classes_):
            out[:, COLUMNS.index(f"review:{answer}")] = proba[:, j]

    def _prohibited_into(self, X, out, kernel):
        none = COLUMNS.index(f"prohibited:{NONE}")
        cats = [COLUMNS.index(f"prohibited:{c}") for c in PROHIBITED]
        if self.prohibited_ is None:
            out[:, none] = 1.0
            return
        proba = linear_proba(self.prohibited_, X)
        for j, cat in enumerate(self.prohibited_.classes_):
            out[:, COLUMNS.index(f"prohibited:{cat}")] = proba[:, j]
        lr_risk = 1 - out[:, none]
        detector = self._head_proba(X, ANY_PROHIBITED, kernel)
        risk = self._real_world(logit(np.clip((lr_risk + detector) / 2, 1e-6, 1 - 1e-6)))
        # The categories keep their shares of the multinomial head's risk; together they sum to P(prohibited).
        share = np.where(lr_risk[:, None] > 0, out[:, cats] / np.maximum(lr_risk, 1e-12)[:, None], 1 / len(cats))
        out[:, cats] = share * risk[:, None]
        out[:, none] = 1 - risk

    def decide(self, row):
        """Turn one row of ``predict_proba`` into labels, probabilities and the uncertain label names."""
        p = dict(zip(COLUMNS, row))
        t, bands = self.thresholds_, self.bands_
        unsure = {name for name in BINARY_HEADS if abs(p[name] - t[name]) < bands.get(name, 0.0)}
        uncertain = ["audience" if n == "consumer" else n for n in BINARY_HEADS if n in unsure and n not in USES]
        risk = 1 - p[f"prohibited:{NONE}"]
        top = max(PROHIBITED, key=lambda c: p[f"prohibited:{c}"])
        prohibited = top if risk >= t["prohibited"] else None
        if abs(risk - t["prohibited"]) < bands["prohibited"] or self.review_from_ <= risk < t["prohibited"]:
            uncertain.append("prohibited")
        consumer = p["consumer"] >= t["consumer"]
        review = None
        if p["review:yes"] >= t["review:yes"] and p["review:yes"] >= p["review:no"]:
            review = True
        elif p["review:no"] >= t["review:no"]:
            review = False
        return {
            "domains": [d for d in DOMAINS if p[d] >= t[d]],
            "domain_probabilities": {d: round(float(p[d]), 4) for d in DOMAINS},
            "audience": "consumer" if consumer else "business",
            "audience_probability": round(float(p["consumer"] if consumer else 1 - p["consumer"]), 4),
            DECISIONS: bool(p[DECISIONS] >= t[DECISIONS]),
            f"{DECISIONS}_probability": round(float(p[DECISIONS]), 4),
            REVIEW: review,
            f"{REVIEW}_probability": round(float(p["review:yes"]), 4),
            "prohibited": prohibited,
            "prohibited_probability": round(float(risk), 4),
            "prohibited_category": top,
            "prohibited_category_share": round(float(p[f"prohibited:{top}"] / risk), 4) if risk > 0 else 0.0,
            "chatbot": bool(p["chatbot"] >= t["chatbot"]),
            "chatbot_probability": round(float(p["chatbot"]), 4),
            "minors": bool(p["minors"] >= t["minors"]),
            "minors_probability": round(float(p["minors"]), 4),
            # A use the heads are unsure of is one the text could show: the rules ask about it instead of assuming.
            "uses": [u for u in USES if p[u] >= t[u] and u not in unsure],
            "possible_uses": [u for u in USES if u in unsure or self.possible_from_[u] <= p[u] < t[u]],
            "use_probabilities": {u: round(float(p[u]), 4) for u in USES},
            "uncertain": uncertain,
        }

    def predict(self, X):
        """A label dict per row, in the training data's shape."""
        return [{k: self.decide(row)[k] for k in LABEL_FIELDS} for row in self.predict_proba(X)]


def linear_proba(model, X):
    """What LogisticRegression.predict_proba computes, without its per-call checks."""
    decision = X @ model.coef_.T + model.intercept_
    if decision.shape[1] == 1:
        positive = expit(decision[:, 0])
        return np.column_stack([1 - positive, positive])
    return softmax(decision, axis=1)


def build_pipeline(embedder=None, **head_params):
    """The full estimator: texts → embeddings → heads.

    :param embedder: an embedder instance; None means all-MiniLM-L6-v2 from the installed package.
    """
    return Pipeline([("embed", EmbeddingTransformer(embedder=embedder)), ("clf", UseCaseHeads(**head_params))])
