"""Which variables of a state a property (or the state constraint) reads, inferred from
its source, so the core can skip evaluating it on a successor that leaves them alone.

A state predicate ``fn(spec, s)`` that only ever touches ``s`` as ``s.field`` (directly,
or by passing ``s`` to a module-level function that does the same, recursively) is
decided by those fields: on a successor ``t`` whose fields it reads are the very
objects of its parent's, it gives the parent's answer. The inference is conservative:
anything it cannot follow (``s`` used any other way, rebound, captured by a nested
function, a lambda, a wrapped or built-in callable, source not available) answers None,
"every field", and the predicate is evaluated as before. Nothing is asked of the spec's
author; a property stays a plain function.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
import types
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["fields_read"]

_MAX_DEPTH = 4  # helper calls followed


def fields_read(fn: Callable[..., Any], fields: Sequence[str], position: int = 1,
                ) -> frozenset[str] | None:
    """The fields of the state (the ``position``-th positional argument of ``fn``, by
    default the second: ``fn(spec, s)``) that ``fn`` can read; None when not sure."""
    try:
        return _reads(fn, position, frozenset(fields), _MAX_DEPTH)
    except Exception:  # source unparsable, unexpected shapes: not sure
        return None


def _function_def(fn: types.FunctionType) -> ast.FunctionDef | None:
    code = fn.__code__
    if code.co_name == "<lambda>" or code.co_flags & (inspect.CO_VARARGS
                                                      | inspect.CO_VARKEYWORDS):
        return None
    lines, first = inspect.getsourcelines(fn)
    if first != code.co_firstlineno:  # the source is not this code's (a wrapper?)
        return None
    tree = ast.parse(textwrap.dedent("".join(lines)))
    node = tree.body[0] if tree.body else None
    if not isinstance(node, ast.FunctionDef) or node.name != code.co_name:
        return None
    return node


def _reads(fn: Any, position: int, fields: frozenset[str], depth: int) -> frozenset[str] | None:
    if depth < 0 or type(fn) is not types.FunctionType or inspect.unwrap(fn) is not fn:
        return None
    node = _function_def(fn)
    if node is None:
        return None
    params = node.args.posonlyargs + node.args.args
    if position >= len(params) or position >= fn.__code__.co_argcount:
        return None
    name = params[position].arg
    local = {a.arg for a in (*params, *node.args.kwonlyargs)}
    local |= {sub.id for sub in ast.walk(node)
              if isinstance(sub, ast.Name) and not isinstance(sub.ctx, ast.Load)}
    parents: dict[int, ast.AST] = {}
    for parent in ast.walk(node):
        for child in ast.iter_child_nodes(parent):
            parents[id(child)] = parent
    read: set[str] = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.arg) and sub.arg == name and sub is not params[position]:
            return None  # shadowed by a nested function's parameter
        if isinstance(sub, (ast.Lambda, ast.FunctionDef, ast.AsyncFunctionDef,
                            ast.ClassDef)) and sub is not node:
            return None  # a nested scope could capture the state
        if isinstance(sub, ast.Name):
            if not isinstance(sub.ctx, ast.Load):
                if sub.id == name:
                    return None  # rebound
                continue
            if sub.id != name:
                continue
            up = parents.get(id(sub))
            if isinstance(up, ast.Attribute) and up.value is sub and up.attr in fields:
                read.add(up.attr)
                continue
            if isinstance(up, ast.Call) and sub in up.args and isinstance(up.func, ast.Name):
                k = up.args.index(sub)
                if any(isinstance(a, ast.Starred) for a in up.args[:k + 1]):
                    return None
                callee = fn.__globals__.get(up.func.id)
                if up.func.id in local or callee is None:
                    return None
                more = _reads(callee, k, fields, depth - 1)
                if more is None:
                    return None
                read |= more
                continue
            return None  # the state used whole: not sure
    return frozenset(read)
