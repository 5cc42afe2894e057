"""What the heads read: the document's embedding beside TF-IDF weights of its words.

Real descriptions lean on jargon and acronyms ("adjudication", "ATS", "CBP") that a small embedding model blurs;
word weights keep them. Both parts are unit-length, so neither drowns the other.
"""

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

# Kept small: rare phrases only memorise their examples, and the serving path stays fast.
MAX_TERMS = 30_000


class TextFeatures:
    """Embedding vectors and TF-IDF word and bigram weights side by side, as one sparse row per text."""

    def __init__(self, max_terms=MAX_TERMS):
        self.max_terms = max_terms

    def fit(self, texts):
        """Learn the vocabulary and the inverse document frequencies from ``texts``."""
        self.tfidf_ = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, strip_accents="unicode",
                                      max_features=self.max_terms, dtype=np.float32)
        self.tfidf_.fit(list(texts))
        return self

    def transform(self, vectors, texts):
        """One row per ``(vector, text)`` pair: the vector's columns, then the text's word weights."""
        vectors = np.asarray(vectors, dtype=np.float32)
        return sp.hstack([sp.csr_matrix(vectors), self.tfidf_.transform(list(texts))], format="csr")
