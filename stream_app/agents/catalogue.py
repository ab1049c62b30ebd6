"""The items agent: the catalogue topic -> the global item -> categories table (c(item)
first, `ItemRecord.table_value`)."""

from __future__ import annotations

import time
from typing import Any

from pydantic import ValidationError

from coea.schemas import DeadLetter, ItemRecord, describe_error
from stream_app.app import app
from stream_app.tables import items_table
from stream_app.topics import dlq_topic, items_topic


@app.agent(items_topic)
async def catalogue(stream: Any) -> None:
    async for event in stream.events():
        msg = event.message
        if msg.value is None:  # a tombstone on the compacted topic removes the item
            if msg.key is not None:
                items_table.pop(msg.key, None)
            continue
        try:
            item = ItemRecord.model_validate_json(msg.value)
        except ValidationError as exc:
            letter = DeadLetter.of(
                msg.value,
                f"item record: {describe_error(exc)}",
                msg.topic,
                int(time.time() * 1000),
                partition=msg.partition,
                offset=msg.offset,
            )
            await dlq_topic.send(key=msg.key, value=letter.to_bytes())
            continue
        items_table[item.item_id.encode()] = item.table_value()
