"""Strict values shared by every run config and params schema (runs.config.TrainConfig, params.common._Strict): no
boolean taken as a number, seeds in numpy's range, no empty path, and language codes marked so that every one, however
deeply nested, is checked against the registry (Sec. 5.1's languages plus the declared ones)."""

from __future__ import annotations

import types
from collections.abc import Collection, Iterator, Mapping
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import AfterValidator, BaseModel, ValidationInfo, field_validator

from alma_core.recipe.languages import LANGUAGES

__all__ = ["NoBoolNumbers", "bool_as_number", "Seed", "SEED_MAX", "PathStr", "LanguageCode", "Direction",
           "unknown_languages"]




def _options(annotation: Any) -> list[Any]:
    """The alternatives of an annotation, Annotated[...] and unions (X | None) unwrapped."""
    if get_origin(annotation) is Annotated:
        return _options(get_args(annotation)[0])
    if get_origin(annotation) in (Union, types.UnionType):
        return [option for arg in get_args(annotation) for option in _options(arg)]
    return [annotation]


def _numeric(option: Any) -> bool:
    """int or float, or a Literal of numbers (stage: Literal[1, 2])."""
    if get_origin(option) is Literal:
        return any(isinstance(v, (int, float)) and not isinstance(v, bool) for v in get_args(option))
    return option in (int, float)


def _takes_bool(option: Any) -> bool:
    return option in (bool, Any, object) or (get_origin(option) is Literal and any(isinstance(v, bool) for v in
                                                                                     get_args(option)))


def bool_as_number(annotation: Any, value: Any, path: str = "") -> tuple[str, bool] | None:
    """(where, the bool) of a bool in `value` that `annotation` would take as a number (pydantic's lax mode reads
    `num_beams: true` as 1), recursively through X | None, list, tuple, set and dict; where is "" for the value
    itself, else ".0", ".de", ...; None when there is none."""
    options = _options(annotation)
    if isinstance(value, bool):
        wants_number = any(_numeric(o) for o in options) and not any(_takes_bool(o) for o in options)
        return (path, value) if wants_number else None
    for option in options:
        origin, args = get_origin(option), get_args(option)
        if origin in (list, set, frozenset) and args and isinstance(value, (list, tuple, set, frozenset)):
            items = [(args[0], f"{path}.{index}", item) for index, item in enumerate(value)]
        elif origin is tuple and args and isinstance(value, (list, tuple)):
            inner = [args[0]] * len(value) if len(args) == 2 and args[1] is Ellipsis else list(args)
            items = [(kind, f"{path}.{index}", item) for index, (kind, item) in enumerate(zip(inner, value))]
        elif origin is dict and len(args) == 2 and isinstance(value, Mapping):
            items = [(kind, f"{path}.{key}", part) for key, item in value.items()
                     for kind, part in ((args[0], key), (args[1], item))]
        else:
            continue
        for kind, where, item in items:
            hit = bool_as_number(kind, item, where)
            if hit is not None:
                return hit
    return None


class NoBoolNumbers(BaseModel):
    """A model whose numbers are never booleans: `num_beams: true` (read as 1 in pydantic's lax mode) or `seed: false`
    is refused wherever a field, or a list/dict/tuple item of it, expects an int or float and not a bool."""

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        hit = bool_as_number(cls.model_fields[info.field_name].annotation, value)
        if hit is not None:
            where, flag = hit
            at = f" at {where[1:]}" if where else ""
            raise ValueError(f"{str(flag).lower()}{at} is a boolean where a number is expected (it would be read as "
                             f"{int(flag)}). Fix: write the number itself")
        return value


SEED_MAX = 2**32 - 1  # numpy.random.seed's range, as transformers.set_seed passes the seed on


def _seed(value: int) -> int:
    if not 0 <= value <= SEED_MAX:
        raise ValueError(f"seed {value} is outside numpy's range 0..{SEED_MAX} (2**32 - 1). Fix: use a whole number "
                         "in that range, e.g. 42")
    return value


# A random seed (params `seed`, `seeds`, TrainConfig seed): numpy refuses one outside 0..2**32-1 only once a job runs.
Seed = Annotated[int, AfterValidator(_seed)]


def _path(value: str) -> str:
    if not value.strip():
        raise ValueError(f"{value!r} is an empty path, which would mean the repository root (or the current "
                         "folder). Fix: name a folder, e.g. runs/tiny (or write null where the key may be unset)")
    return value


# A file or folder named in a params file or run config: never empty or whitespace.
PathStr = Annotated[str, AfterValidator(_path)]


class _Codes:
    """Marker in a field's annotation: the string is a language code (`code`) or a direction such as de-en."""

    def __init__(self, kind: Literal["code", "direction"]) -> None:
        self.kind = kind

    def __repr__(self) -> str:
        return f"_Codes({self.kind!r})"


# A language code / a direction in a params file or run config; unknown_languages finds every one the registry lacks.
LanguageCode = Annotated[str, _Codes("code")]
Direction = Annotated[str, _Codes("direction")]


def _codes_in(annotation: Any, marks: list[Any], value: Any, path: tuple[Any, ...],
              known: Collection[str]) -> Iterator[tuple[tuple[Any, ...], str, str]]:
    if get_origin(annotation) is Annotated:
        base, *meta = get_args(annotation)
        yield from _codes_in(base, [*marks, *meta], value, path, known)
        return
    kinds = [mark.kind for mark in marks if isinstance(mark, _Codes)]
    if kinds and isinstance(value, str):
        for code in value.split("-") if kinds[0] == "direction" else [value]:
            if code not in LANGUAGES and code not in known:
                yield path, value, code
        return
    if isinstance(value, BaseModel):
        yield from unknown_languages(value, known, path)
        return
    if get_origin(annotation) in (Union, types.UnionType):
        found: list[tuple[tuple[Any, ...], str, str]] = []
        for arg in get_args(annotation):
            found += [hit for hit in _codes_in(arg, marks, value, path, known) if hit not in found]
        yield from found
        return
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (list, set, frozenset) and args and isinstance(value, (list, tuple, set, frozenset)):
        for index, item in enumerate(value):
            yield from _codes_in(args[0], [], item, (*path, index), known)
    elif origin is tuple and args and isinstance(value, (list, tuple)):
        types_ = [args[0]] * len(value) if len(args) == 2 and args[1] is Ellipsis else list(args)
        for index, (inner, item) in enumerate(zip(types_, value)):
            yield from _codes_in(inner, [], item, (*path, index), known)
    elif origin is dict and len(args) == 2 and isinstance(value, Mapping):
        for key, item in value.items():
            yield from _codes_in(args[0], [], key, (*path, key), known)
            yield from _codes_in(args[1], [], item, (*path, key), known)


def unknown_languages(model: BaseModel, known: Collection[str] = (),
                      path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], str, str]]:
    """(key path, value, code) of every language code in `model`'s LanguageCode/Direction fields, nested models,
    lists and dict keys included, that neither the registry (recipe.languages) nor `known` holds."""
    for name, info in type(model).model_fields.items():
        yield from _codes_in(info.annotation, list(info.metadata), getattr(model, name, None), (*path, name), known)
