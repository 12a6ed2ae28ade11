"""Which variables of a state a property (or the state constraint, or an action's domain)
reads, inferred from its source, so the core can skip evaluating it on a successor that
leaves them alone (and the enumeration, spec/enabled.py, can keep a domain's values by
the value of the variables it reads).

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

__all__ = ["conjuncts", "fields_read"]

_MAX_DEPTH = 4  # helper calls followed


def fields_read(fn: Callable[..., Any], fields: Sequence[str], position: int = 1,
                ) -> frozenset[str] | None:
    """The fields of the state (the ``position``-th positional argument of ``fn``, by
    default the second: ``fn(spec, s)``) that ``fn`` can read; None when not sure."""
    try:
        return _reads(fn, position, frozenset(fields), _MAX_DEPTH, top=True)
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


def _reads(fn: Any, position: int, fields: frozenset[str], depth: int, top: bool = False,
           ) -> frozenset[str] | None:
    if getattr(fn, "_agree_per_state", False) is True:  # a memo: it reads what fn reads
        fn = getattr(fn, "__wrapped__", None)
    if depth < 0 or type(fn) is not types.FunctionType or inspect.unwrap(fn) is not fn:
        return None
    node = _function_def(fn)
    if node is None:
        return None
    params = node.args.posonlyargs + node.args.args
    if position >= len(params) or position >= fn.__code__.co_argcount:
        return None
    local = {a.arg for a in (*params, *node.args.kwonlyargs)}
    local |= {sub.id for sub in ast.walk(node)
              if isinstance(sub, ast.Name) and not isinstance(sub.ctx, ast.Load)}
    parents: dict[int, ast.AST] = {}
    for parent in ast.walk(node):
        for child in ast.iter_child_nodes(parent):
            parents[id(child)] = parent
    skipped = _witness_returns(fn, node, local) if top else set()
    return _subtree_reads(fn, node, node, params[position], local, fields, depth, skipped)


def _subtree_reads(fn: types.FunctionType, node: ast.FunctionDef, root: ast.AST,
                   param: ast.arg, local: set[str], fields: frozenset[str], depth: int,
                   skipped: set[int]) -> frozenset[str] | None:
    """The fields of parameter ``param`` of ``fn`` (defined by ``node``) that the code
    under ``root`` (the whole function, or one expression of it) reads; None: not sure."""
    name = param.arg
    parents: dict[int, ast.AST] = {}
    for parent in ast.walk(node):
        for child in ast.iter_child_nodes(parent):
            parents[id(child)] = parent
    read: set[str] = set()
    for sub in ast.walk(root):
        if id(sub) in skipped:
            continue
        if isinstance(sub, ast.arg) and sub.arg == name and sub is not param:
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
            if isinstance(up, ast.Call) and sub in up.args:
                k = up.args.index(sub)
                if any(isinstance(a, ast.Starred) for a in up.args[:k + 1]):
                    return None
                callee = _global_callee(fn, up.func, local)
                if callee is None:
                    return None
                more = _reads(callee, k, fields, depth - 1)
                if more is None:
                    return None
                read |= more
                continue
            return None  # the state used whole: not sure
    return frozenset(read)


def conjuncts(fn: Callable[..., Any], fields: Sequence[str], position: int = 1,
              ) -> list[tuple[Callable[..., Any], frozenset[str]]] | None:
    """A predicate written ``return A and B and ...`` (after an optional docstring) as
    its conjuncts, each compiled to a function of the same parameters, with the fields
    of the state (parameter ``position``) it reads; None when it is not of that form,
    or a conjunct's reads are not sure, or it needs what a copy cannot have (a closure,
    ``super()``). Each conjunct gives the same answer as in the original: the same
    expression, the same globals; the predicate holds exactly when all of them do."""
    try:
        return _conjuncts(fn, frozenset(fields), position)
    except Exception:  # source unparsable, unexpected shapes: not sure
        return None


def _conjuncts(fn: Any, fields: frozenset[str], position: int,
               ) -> list[tuple[Callable[..., Any], frozenset[str]]] | None:
    if type(fn) is not types.FunctionType or inspect.unwrap(fn) is not fn:
        return None
    if fn.__code__.co_freevars or fn.__defaults__ or fn.__kwdefaults__:
        return None
    node = _function_def(fn)
    if node is None or node.decorator_list or node.args.kwonlyargs:
        return None
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    if len(body) != 1 or not isinstance(body[0], ast.Return):
        return None
    expr = body[0].value
    if not (isinstance(expr, ast.BoolOp) and isinstance(expr.op, ast.And)):
        return None
    for sub in ast.walk(expr):  # a private name, mangled in a class body, would not be here
        name = sub.attr if isinstance(sub, ast.Attribute) else getattr(sub, "id", "")
        if isinstance(name, str) and name.startswith("__") and not name.endswith("__"):
            return None
    params = node.args.posonlyargs + node.args.args
    if position >= len(params) or position >= fn.__code__.co_argcount:
        return None
    local = {a.arg for a in params}
    local |= {sub.id for sub in ast.walk(node)
              if isinstance(sub, ast.Name) and not isinstance(sub.ctx, ast.Load)}
    out: list[tuple[Callable[..., Any], frozenset[str]]] = []
    for k, part in enumerate(expr.values):
        read = _subtree_reads(fn, node, part, params[position], local, fields, _MAX_DEPTH,
                              set())
        if read is None:
            return None
        one = ast.FunctionDef(name=f"{node.name}_{k}", args=node.args,
                              body=[ast.Return(value=part)], decorator_list=[],
                              returns=None, type_comment=None)
        module = ast.fix_missing_locations(ast.Module(body=[one], type_ignores=[]))
        ast.increment_lineno(module, fn.__code__.co_firstlineno - node.lineno)
        ns: dict[str, Any] = {}
        exec(compile(module, fn.__code__.co_filename, "exec"), fn.__globals__, ns)
        out.append((ns[one.name], read))
    return out


def _global_callee(fn: types.FunctionType, func: ast.expr, local: set[str]) -> Any:
    """The function a call names through ``fn``'s globals: ``helper(...)`` or
    ``module.helper(...)`` (a module imported at module level, as a property module
    imports its witnesses); None for anything else (a local, a method, an expression)."""
    if isinstance(func, ast.Name):
        return None if func.id in local else fn.__globals__.get(func.id)
    if (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
            and func.value.id not in local):
        module = fn.__globals__.get(func.value.id)
        if isinstance(module, types.ModuleType):
            return getattr(module, func.attr, None)
    return None


def _witness_returns(fn: types.FunctionType, node: ast.FunctionDef, local: set[str],
                     ) -> set[int]:
    """The nodes of the predicate's own ``return W(...)`` and ``return A or W(...)``
    where ``W`` always returns a falsy value (a witness builder wrapped by
    :func:`agree.spec.witness.fallible`): the predicate is false when it gets there,
    whatever ``W`` reads, so what ``W`` and its arguments read does not decide it. (On a
    state where the predicate held, or a ``sometimes`` one was false, the same reads take
    the same path on a successor, to the same answer.)"""
    out: set[int] = set()
    for sub in ast.walk(node):
        if not isinstance(sub, ast.Return) or sub.value is None:
            continue
        call = sub.value
        if isinstance(call, ast.BoolOp) and isinstance(call.op, ast.Or):
            call = call.values[-1]
        if isinstance(call, ast.Call) and getattr(
                _global_callee(fn, call.func, local), "always_falsy", False) is True:
            out.update(id(n) for n in ast.walk(call))
    return out
