"""tabledata: lazily loaded, partitioned, live tables over any data source.

The API of Deephaven's table data service (``TableKey``,
``TableLocationKey``, ``TableDataServiceBackend``, ``TableDataService``)
over the tabledata C engine, with tables that Arrow consumers (pyarrow,
Polars, DuckDB) read without copies.  See docs/PYTHON.md.
"""
from ._tabledata import (  # noqa: F401  (the engine's errors)
    BackendError,
    ContractError,
    DataIOError,
    FormatError,
    InvalidArgumentError,
    NotFoundError,
    OutOfRangeError,
    QueryError,
    RequestTimeoutError,
    StateError,
    TableDataError,
    TableFailedError,
    UnsupportedError,
)
from ._service import NamedKey, TableDataService, TableDataServiceBackend, TableKey, TableLocationKey  # noqa: F401
from ._table import (  # noqa: F401
    AddedRows,
    Column,
    ColumnType,
    Listener,
    PartitionedTable,
    Table,
    TableUpdate,
    read,
    sql,
)

__version__ = "0.1.0"


def _register_shutdown():
    import atexit

    from . import _tabledata

    # Before the interpreter finalizes: engine threads stop calling Python
    # (backend methods fail, listeners are skipped); see docs/PYTHON.md.
    atexit.register(_tabledata._shutdown)


_register_shutdown()
