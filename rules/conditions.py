"""The condition language: conditions are TOML data, checked on load and evaluated without eval.

A condition is a table with exactly one of:

- ``all = [cond, ...]``, ``any = [cond, ...]``, ``not = cond``;
- ``fact = NAME`` plus one operator: ``equals``, ``in``, ``contains``, ``contains_any``,
  ``present`` or a comparison (``gt``, ``gte``, ``lt``, ``lte``).

Evaluation is three-valued in the Kleene sense: a leaf on a fact the classifier is unsure of is
"unsure", and the result is unsure only when the unsure leaves could change it.
"""

import json
from dataclasses import dataclass

from .facts import DOMAINS, FACTS

__all__ = ["OPERATORS", "ConditionError", "Truth", "describe", "evaluate", "leaves", "validate"]

COMBINATORS = ("all", "any", "not")
COMPARISONS = ("gt", "gte", "lt", "lte")
OPERATORS = ("equals", "in", "contains", "contains_any", "present", *COMPARISONS)
# Which operators make sense on which kind of fact; anything else is a pack error.
ALLOWED = {
    "enum": ("equals", "in", "present"),
    "bool": ("equals", "present"),
    "list": ("contains", "contains_any", "present"),
    "number": (*COMPARISONS, "present"),
}


class ConditionError(ValueError):
    """A condition is malformed; ``path`` says where inside it."""

    status = 500

    def __init__(self, path, message):
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


@dataclass(frozen=True)
class Truth:
    """A condition's value on the facts as given, and the unsure facts that value hinges on."""

    value: bool
    unsure: frozenset = frozenset()

    @property
    def certain(self):
        """True when no unsure prediction could change the value."""
        return not self.unsure


def _kind(fact_path):
    """The kind and choices of the fact at ``fact_path``, or None when no such fact exists."""
    if isinstance(fact_path, str) and fact_path.startswith("domain_probabilities."):
        return ("number", ()) if fact_path.partition(".")[2] in DOMAINS else None
    fact = FACTS.get(fact_path) if isinstance(fact_path, str) else None
    if fact is None:
        return None
    return fact.kind, fact.choices


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_operand(op, operand, kind, choices, path):
    def allowed(value):
        if kind == "bool":
            return isinstance(value, bool)
        return value in choices

    if op == "present":
        ok = isinstance(operand, bool)
    elif op in COMPARISONS:
        ok = _is_number(operand)
    elif op in ("in", "contains_any"):
        ok = isinstance(operand, list) and operand and all(allowed(v) for v in operand)
    else:
        ok = allowed(operand)
    if not ok:
        hint = f" (one of {', '.join(choices)})" if choices else ""
        raise ConditionError(path, f"bad value {operand!r} for {op!r}{hint}")


# Deeper conditions are refused: no policy needs them, and validating and evaluating recurse once per level
# (a pack of "not.not.not…" dotted keys would otherwise end in a RecursionError, a 500 on upload).
MAX_DEPTH = 32


def validate(cond, path="when", depth=0):
    """Check that ``cond`` is a well-formed condition over known facts.

    :raises ConditionError: naming the place inside the condition and what is wrong.
    """
    if depth > MAX_DEPTH:
        raise ConditionError(path[:200], f"conditions are nested more than {MAX_DEPTH} levels deep")
    if not isinstance(cond, dict) or not cond:
        raise ConditionError(path, "a condition must be a non-empty table")
    combinators = [key for key in COMBINATORS if key in cond]
    if combinators:
        if len(cond) != 1:
            raise ConditionError(path, f"{combinators[0]!r} cannot be mixed with {sorted(cond)}")
        key = combinators[0]
        if key == "not":
            validate(cond["not"], f"{path}.not", depth + 1)
            return
        parts = cond[key]
        if not isinstance(parts, list) or not parts:
            raise ConditionError(path, f"{key!r} needs a non-empty list of conditions")
        for i, part in enumerate(parts):
            validate(part, f"{path}.{key}[{i}]", depth + 1)
        return
    if "fact" not in cond:
        raise ConditionError(path, f"unknown keys {sorted(cond)}: expected all, any, not or fact")
    kind = _kind(cond["fact"])
    if kind is None:
        raise ConditionError(path, f"unknown fact {cond['fact']!r}")
    ops = [key for key in cond if key != "fact"]
    if len(ops) != 1 or ops[0] not in OPERATORS:
        raise ConditionError(path, f"expected exactly one operator of {', '.join(OPERATORS)}, "
                                   f"got {ops}")
    op = ops[0]
    if op not in ALLOWED.get(kind[0], ()):
        raise ConditionError(path, f"{op!r} cannot be used on {cond['fact']!r} ({kind[0]})")
    _check_operand(op, cond[op], kind[0], kind[1], path)


def _equals(value, operand):
    # isinstance keeps a stray 1 from matching true, and never raises on odd values.
    return isinstance(value, type(operand)) and value == operand


def _present(value):
    return not (value is None or (isinstance(value, (list, tuple, dict, str)) and not value))


def _apply(op, value, operand):
    if op == "equals":
        return _equals(value, operand)
    if op == "in":
        return any(_equals(value, item) for item in operand)
    if op == "contains":
        return isinstance(value, (list, tuple)) and any(_equals(v, operand) for v in value)
    if op == "contains_any":
        return any(_apply("contains", value, item) for item in operand)
    if op == "present":
        return _present(value) == operand
    if not _is_number(value):
        return False
    return {"gt": value > operand, "gte": value >= operand,
            "lt": value < operand, "lte": value <= operand}[op]


def _leaf(cond, view):
    path = cond["fact"]
    op = next(key for key in cond if key != "fact")
    operand = cond[op]
    value = _apply(op, view.value(path), operand)
    members = [operand] if op == "contains" else operand if op == "contains_any" else None
    unsure = view.unsure(path, members)
    return Truth(value, frozenset([path.partition(".")[0]]) if unsure else frozenset())


def evaluate(cond, view):
    """Evaluate a validated condition on a :class:`~rules.facts.FactView`; never raises on facts."""
    if "fact" in cond:
        return _leaf(cond, view)
    if "not" in cond:
        inner = evaluate(cond["not"], view)
        return Truth(not inner.value, inner.unsure)
    parts = [evaluate(part, view) for part in cond.get("all", cond.get("any", []))]
    # One certain false part settles "all", one certain true part settles "any".
    deciding = "any" in cond
    if any(part.value is deciding and part.certain for part in parts):
        return Truth(deciding)
    values = [part.value for part in parts]
    value = any(values) if deciding else all(values)
    return Truth(value, frozenset().union(*(part.unsure for part in parts)))


def leaves(cond):
    """Every ``fact`` test inside ``cond``, in order."""
    if "fact" in cond:
        return [cond]
    if "not" in cond:
        return leaves(cond["not"])
    return [leaf for part in cond.get("all", cond.get("any", [])) for leaf in leaves(part)]


def describe(cond):
    """A one-line human rendering of a condition, e.g. ``domains contains "legal"``."""
    if "fact" in cond:
        op = next(key for key in cond if key != "fact")
        return f"{cond['fact']} {op} {json.dumps(cond[op])}"
    if "not" in cond:
        return f"not ({describe(cond['not'])})"
    key = "all" if "all" in cond else "any"
    joiner = " and " if key == "all" else " or "
    return "(" + joiner.join(describe(part) for part in cond[key]) + ")"
