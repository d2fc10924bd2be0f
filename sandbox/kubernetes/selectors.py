"""Label and field selectors as the API server parses them (``?labelSelector=`` / ``?fieldSelector=``)."""

from __future__ import annotations

import re
from typing import Any, Callable

Predicate = Callable[[dict[str, Any]], bool]

_TERM = re.compile(r"^\s*(?P<key>[^\s!=,()]+)\s*(?P<op>==|!=|=|\s+in\s+|\s+notin\s+)\s*(?P<value>.*?)\s*$")


class SelectorError(ValueError):
    """The selector text cannot be parsed; the message is what the API server would say."""


def split_terms(text: str) -> list[str]:
    """Split on commas that are not inside ``( )`` value sets."""
    terms, depth, current = [], 0, ""
    for char in text:
        depth += char == "("
        depth -= char == ")"
        if char == "," and depth == 0:
            terms.append(current)
            current = ""
        else:
            current += char
    terms.append(current)
    return [t.strip() for t in terms if t.strip()]


def label_term(term: str) -> Callable[[dict[str, str]], bool]:
    """One requirement (``a=b``, ``a!=b``, ``a in (x,y)``, ``a notin (x)``, ``a``, ``!a``) as a test on labels."""
    if term.startswith("!"):
        key = term[1:].strip()
        return lambda labels: key not in labels
    match = _TERM.match(term)
    if not match:
        if re.fullmatch(r"[A-Za-z0-9./_-]+", term):
            return lambda labels: term in labels
        raise SelectorError(f"unable to parse requirement: {term!r}")
    key, op, value = match["key"], match["op"].strip(), match["value"]
    if op in ("in", "notin"):
        if not (value.startswith("(") and value.endswith(")")):
            raise SelectorError(f"unable to parse requirement: found '{value}', expected: '('")
        values = {v.strip() for v in value[1:-1].split(",") if v.strip()}
        if op == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    if op == "!=":
        return lambda labels: labels.get(key) != value
    return lambda labels: labels.get(key) == value


def label_selector(text: str | None) -> Predicate:
    """A predicate on objects for a label selector string (every term must hold)."""
    tests = [label_term(term) for term in split_terms(text or "")]
    return lambda obj: all(test((obj.get("metadata") or {}).get("labels") or {}) for test in tests)


def match_labels_selector(selector: dict[str, Any] | None) -> Callable[[dict[str, str]], bool]:
    """A test on a label map for a LabelSelector object (``matchLabels`` + ``matchExpressions``).

    An empty or missing selector matches everything, as for a Service or PodDisruptionBudget.
    """
    selector = selector or {}
    wanted = selector.get("matchLabels") or {}
    expressions = selector.get("matchExpressions") or []

    def test(labels: dict[str, str]) -> bool:
        if any(labels.get(k) != v for k, v in wanted.items()):
            return False
        return all(expression_holds(e, labels) for e in expressions)

    return test


def expression_holds(expression: dict[str, Any], labels: dict[str, str]) -> bool:
    """One ``{key, operator, values}`` requirement (In, NotIn, Exists, DoesNotExist, Gt, Lt) against labels."""
    key, operator, values = expression.get("key"), expression.get("operator"), expression.get("values") or []
    present, value = key in labels, labels.get(key)
    if operator == "In":
        return present and value in values
    if operator == "NotIn":
        return not present or value not in values
    if operator == "Exists":
        return present
    if operator == "DoesNotExist":
        return not present
    if operator in ("Gt", "Lt") and present and values:
        try:
            return int(value) > int(values[0]) if operator == "Gt" else int(value) < int(values[0])
        except ValueError:
            return False
    return False


def selector_string(selector: dict[str, Any] | None) -> str:
    """A LabelSelector object written as selector text (the form ``Scale.status.selector`` uses)."""
    selector = selector or {}
    terms = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for e in selector.get("matchExpressions") or []:
        op, key, values = e.get("operator"), e.get("key"), ",".join(e.get("values") or [])
        terms.append({"In": f"{key} in ({values})", "NotIn": f"{key} notin ({values})",
                      "Exists": key, "DoesNotExist": f"!{key}"}.get(op, key))
    return ",".join(terms)


def field_value(obj: dict[str, Any], path: str) -> str:
    """The value at dotted ``path`` as a field selector compares it ('' when absent)."""
    value: Any = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if value is None:
        return ""
    return str(value).lower() if isinstance(value, bool) else str(value)


def field_selector(text: str | None) -> Predicate:
    """A predicate for a field selector (``metadata.name=x,status.phase!=Running``)."""
    tests = []
    for term in split_terms(text or ""):
        match = re.fullmatch(r"\s*([A-Za-z0-9_.]+)\s*(==|!=|=)\s*(.*?)\s*", term)
        if not match:
            raise SelectorError(f"invalid selector: '{term}'; can't understand '{term}'")
        path, op, value = match.groups()
        tests.append((path, op == "!=", value))
    return lambda obj: all((field_value(obj, p) == v) != negate for p, negate, v in tests)
