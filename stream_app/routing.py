"""Routed web views: a user's request answered by the worker that holds the user's partition.

Faust's `table_route` picks that worker by hashing the key with the producer's metadata of the
table's changelog topic. aiokafka's producer holds metadata only for topics it has been asked
about; before that, the route fails inside Faust with a TypeError and the request gets a 500.
`table_route` here awaits that metadata first (at once when it is already known), then routes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from stream_app.app import app


def table_route(table: Any, match_info: str) -> Callable:
    """`app.table_route(table, match_info)` with the changelog topic's metadata awaited first."""

    def decorate(view: Callable) -> Callable:
        routed = app.table_route(table=table, match_info=match_info)(view)

        @functools.wraps(view)
        async def with_metadata(web: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
            topic = table.changelog_topic.get_topic_name()
            await app.producer._ensure_producer().partitions_for(topic)
            return await routed(web, request, *args, **kwargs)

        return with_metadata

    return decorate
