"""Read queries the ORM compiles once and runs many times, binding new values (the For You page's hottest reads).

Django builds and compiles a queryset's SQL on every evaluation. For a page's small indexed reads that costs more
Python than running them (the feeds' UNION of hashtags, mentions, likes and bookmarks most of all). A
:class:`PreparedRead` builds its queryset with marker values once per shape (each list argument's length) and
connection, finds where each argument lands among the compiled parameters, and from then on only binds.

The SQL still comes from the ORM, for the connection the router picks, and rows go through the same converters. A
:class:`PreparedRead` takes ``values()`` and ``values_list()`` querysets; :class:`PreparedInstances` makes model
instances (and ``select_related``-style related ones) from such rows with ``Model.from_db``, as Django's iterator does.
"""

from __future__ import annotations

import itertools
import uuid
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connections, router
from django.db.models.query import FlatValuesListIterable, QuerySet, ValuesIterable, ValuesListIterable

#: Compiled shapes kept per connection and query.
MAX_SHAPES = 64
#: Markers are UUIDs in this range or strings with NULs: values no caller passes.
_MARK = 0x7E_E1A7_0000_0000 << 64
_counter = itertools.count(1)


@dataclass(frozen=True)
class _Slot:
    position: int  # among the SQL parameters
    argument: int
    element: int | None  # within a list argument
    form: Callable[[Any], Any]  # the argument's value as the ORM gave it to the database (a UUID's hex, say)


@dataclass(frozen=True)
class _Compiled:
    sql: str | None  # None: the ORM found the result empty without asking (e.g. ``id__in=[]``)
    params: tuple[Any, ...]
    slots: tuple[_Slot, ...]
    names: tuple[str, ...]
    kind: type
    converters: tuple[tuple[int, tuple[Any, ...], Any], ...]


class PreparedRead:
    """``build(*args)`` returns a ``values()``/``values_list()`` queryset; calling the PreparedRead with arguments
    returns its rows as a list (dicts, tuples or flat values, as the queryset would). Arguments are UUIDs, strings
    or lists of them."""

    def __init__(self, build: Callable[..., QuerySet[Any, Any]]) -> None:
        self._build = build
        self._model: Any = None
        self._compiled: weakref.WeakKeyDictionary[Any, dict[tuple[Any, ...], _Compiled]] = weakref.WeakKeyDictionary()

    def __call__(self, *args: Any) -> list[Any]:
        if self._model is None:
            self._model = self._build(*args).model
        connection = connections[router.db_for_read(self._model)]
        shape = tuple(len(a) if isinstance(a, (list, tuple)) else None for a in args)
        known = self._compiled.setdefault(connection, {})
        compiled = known.get(shape)
        if compiled is None:
            if len(known) >= MAX_SHAPES:  # callers with ever new list lengths: start over rather than grow
                known.clear()
            compiled = known[shape] = self._compile(connection, args)
        if compiled.sql is None:
            return []
        params = list(compiled.params)
        for slot in compiled.slots:
            value = args[slot.argument] if slot.element is None else args[slot.argument][slot.element]
            params[slot.position] = slot.form(value)
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchall()
        return _shaped(rows, compiled, connection)

    def _compile(self, connection: Any, args: Sequence[Any]) -> _Compiled:
        markers: dict[Any, tuple[int, int | None, Callable[[Any], Any]]] = {}
        marked = []
        for n, arg in enumerate(args):
            if isinstance(arg, (list, tuple)):
                values = [_marker(v, markers, n, k) for k, v in enumerate(arg)]
                marked.append(values)
            else:
                marked.append(_marker(arg, markers, n, None))
        queryset = self._build(*marked)
        kind = queryset._iterable_class
        if kind not in (ValuesIterable, ValuesListIterable, FlatValuesListIterable):
            raise TypeError("PreparedRead takes values() or values_list() querysets")
        query = queryset.query
        compiler = query.get_compiler(connection=connection)
        try:
            sql, params = compiler.as_sql()
        except EmptyResultSet:
            return _Compiled(None, (), (), (), kind, ())
        slots = []
        for position, param in enumerate(params):
            found = markers.get(param) if isinstance(param, (str, uuid.UUID)) else None
            if found is not None:
                slots.append(_Slot(position, *found))
        placed = {(s.argument, s.element) for s in slots}
        missing = [(n, k) for (n, k, _) in markers.values() if (n, k) not in placed]
        if missing:
            raise ValueError(f"arguments {missing} are not parameters of the compiled SQL")
        names = tuple(query.selected or (*query.extra_select, *query.values_select, *query.annotation_select))
        fields = [s[0] for s in compiler.select[0 : compiler.col_count]]
        converters = tuple((pos, tuple(convs), col) for pos, (convs, col) in compiler.get_converters(fields).items())
        return _Compiled(sql, tuple(params), tuple(slots), names, kind, converters)


@dataclass(frozen=True)
class _Joined:
    """One foreign key :class:`PreparedInstances` loads with the row: its model's fields are ``row[start:end]``."""

    name: str
    model: Any
    names: tuple[str, ...]
    start: int
    end: int
    pk: int  # the related primary key's column: NULL when a LEFT JOIN found nothing


@dataclass(frozen=True)
class _Layout:
    model: Any
    columns: tuple[str, ...]  # the values_list: the model's concrete fields, then each joined model's
    own: tuple[str, ...]
    joined: tuple[_Joined, ...]


class PreparedInstances:
    """``build(*args)`` returns a queryset of model instances (a filter, perhaps a slice, no ``select_related``);
    calling the PreparedInstances returns them as a list, each with the foreign keys named in ``related`` already
    loaded, as ``select_related`` would. The rows are read as a :class:`PreparedRead` of the concrete fields."""

    def __init__(self, build: Callable[..., QuerySet[Any, Any]], *, related: Sequence[str] = ()) -> None:
        self._build = build
        self._related = tuple(related)
        self._layout: _Layout | None = None
        self._read = PreparedRead(self._values)

    def _values(self, *args: Any) -> QuerySet[Any, Any]:
        queryset = self._build(*args)
        if queryset.query.select_related:
            raise TypeError("PreparedInstances joins what `related` names: build the queryset without select_related")
        if self._layout is None:
            self._layout = _layout_of(queryset.model, self._related)
        return queryset.values_list(*self._layout.columns)

    def __call__(self, *args: Any) -> list[Any]:
        rows = self._read(*args)
        layout = self._layout
        assert layout is not None  # set by the first read
        db = router.db_for_read(layout.model)
        dbs = [router.db_for_read(joined.model) for joined in layout.joined]
        own = len(layout.own)
        out = []
        for row in rows:
            instance = layout.model.from_db(db, layout.own, row[:own])
            for joined, joined_db in zip(layout.joined, dbs, strict=True):
                values = row[joined.start : joined.end]
                target = None if row[joined.pk] is None else joined.model.from_db(joined_db, joined.names, values)
                setattr(instance, joined.name, target)
            out.append(instance)
        return out


def _layout_of(model: Any, related: Sequence[str]) -> _Layout:
    own = tuple(f.attname for f in model._meta.concrete_fields)
    columns, joined = list(own), []
    for name in related:
        field = model._meta.get_field(name)
        if not (field.many_to_one or field.one_to_one) or not field.concrete:
            raise TypeError(f"{model.__name__}.{name} is not a foreign key of its own")
        target = field.related_model
        names = tuple(f.attname for f in target._meta.concrete_fields)
        start = len(columns)
        pk = start + names.index(target._meta.pk.attname)
        joined.append(_Joined(name, target, names, start, start + len(names), pk))
        columns += [f"{name}__{n}" for n in names]
    return _Layout(model, tuple(columns), own, tuple(joined))


def _marker(
    value: Any, markers: dict[Any, tuple[int, int | None, Callable[[Any], Any]]], argument: int, element: int | None
) -> Any:
    """A value of ``value``'s type that no caller passes, remembered in every form the ORM may give it."""
    number = next(_counter)
    if isinstance(value, uuid.UUID):
        marker = uuid.UUID(int=_MARK | number)
        markers[marker] = (argument, element, _same)
        markers[marker.hex] = (argument, element, _hex)
        markers[str(marker)] = (argument, element, str)
        return marker
    if isinstance(value, str):
        text = f"\x00prepared:{number}\x00"
        markers[text] = (argument, element, _same)
        return text
    raise TypeError(f"PreparedRead binds UUIDs and strings, not {type(value).__name__}")


def _same(value: Any) -> Any:
    return value


def _hex(value: uuid.UUID) -> str:
    return value.hex


def _shaped(rows: list[Any], compiled: _Compiled, connection: Any) -> list[Any]:
    if compiled.converters:
        converted = []
        for row in rows:
            row = list(row)
            for pos, convs, col in compiled.converters:
                value = row[pos]
                for convert in convs:
                    value = convert(value, col, connection)
                row[pos] = value
            converted.append(row)
        rows = converted
    if compiled.kind is ValuesIterable:
        names = compiled.names
        return [dict(zip(names, row, strict=False)) for row in rows]
    if compiled.kind is FlatValuesListIterable:
        return [row[0] for row in rows]
    return [tuple(row) for row in rows]
