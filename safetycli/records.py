"""Plain record classes that behave as the dataclasses they replace, for types made at start-up.

`@dataclass` writes each class's methods as source and compiles each with `exec` when the module
is imported: 0.3 to 0.8 ms a class on Python 3.11 to 3.13, and `status` imported some twenty
(bench/README.md, start-up). A class that is built rarely (a head mark, a device key, an incident
kind) does not need generated code: it lists its fields in `__slots__`, writes its `__init__`,
and inherits from here what the dataclass gave it, with the same behaviour:

- equality field by field with an instance of the very same class (else `NotImplemented`),
  leaving out the fields named in `_uncompared` (a dataclass field's `compare=False`);
- `repr` as `Name(field=value, ...)`, leaving out those in `_unshown` (`repr=False`);
- `Frozen`: hashing by the fields, and `dataclasses.FrozenInstanceError` on any assignment;
  `Record` (mutable): unhashable, as a dataclass with `eq` and without `frozen` is;
- copying and pickling by the fields (through `__init__`, which takes them in order);
- `replace(record, **changes)`, as `dataclasses.replace`.

tests/test_records.py holds each converted class to a dataclass of the same fields.
"""

from __future__ import annotations

from typing import Any, ClassVar


class Record:
    """A mutable record: subclasses set `__slots__` to their fields, in order, and `__init__`."""

    __slots__: tuple[str, ...] = ()
    __match_args__: tuple[str, ...] = ()
    _unshown: ClassVar[tuple[str, ...]] = ()  # fields left out of the repr
    _uncompared: ClassVar[tuple[str, ...]] = ()  # fields left out of equality (and the hash)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.__match_args__ = tuple(cls.__slots__)

    def _fields(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def _compared(self) -> tuple[Any, ...]:
        if not self._uncompared:
            return self._fields()
        return tuple(getattr(self, n) for n in self.__slots__ if n not in self._uncompared)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            return self._compared() == other._compared()  # type: ignore[attr-defined, no-any-return]
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # as a dataclass with eq: mutable, unhashable

    def __repr__(self) -> str:
        names = [name for name in self.__slots__ if name not in self._unshown]
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
        return f"{type(self).__qualname__}({shown})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), self._fields())


class Frozen(Record):
    """An immutable record: `__init__` sets its fields with `object.__setattr__`."""

    __slots__ = ()

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(self._compared())

    def __setattr__(self, name: str, value: object) -> None:
        from dataclasses import FrozenInstanceError

        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        from dataclasses import FrozenInstanceError

        raise FrozenInstanceError(f"cannot delete field {name!r}")


def replace(record: Record, /, **changes: Any) -> Any:
    """A copy of `record` with `changes`, as `dataclasses.replace` makes one of a dataclass."""
    unknown = set(changes) - set(record.__slots__)
    if unknown:
        raise TypeError(f"{type(record).__qualname__} has no field {sorted(unknown)[0]!r}")
    fields = {name: getattr(record, name) for name in record.__slots__}
    return type(record)(**(fields | changes))
