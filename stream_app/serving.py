"""Serving: user -> CSID and the novel-category table materialised in RocksDB, and the lookup.

- agent on ``user-groups`` -> ``user-groups`` table (partitioned like the events topic, so a
  user's group sits beside their state);
- agent on ``novel-categories`` -> global ``novel-categories`` table holding the topic's raw
  records by record key (rows of both slots, the version marker, tombstones applied). The
  agent applies records in topic order, so when a version's marker is stored all its rows
  are too; lookups read only rows of the marker's version (`coea.table.stored_lookup`), so a
  half-published next version is never served;
- ``GET /v1/novel-categories/{user_id}``: the user's C'_short from their stream state, their
  group (the default group when they have none yet), and the categories by the rule of
  `coea.table.resolve`.
"""

from __future__ import annotations

from typing import Any

from coea import topics as spec
from coea.table import serving_answer
from stream_app.access import user_id_problem
from stream_app.app import app, settings
from stream_app.config import GROUPS_TABLE, NOVEL_TABLE, changelog_configs
from stream_app.routing import table_route
from stream_app.tables import users_table
from stream_app.topics import raw_topic

_RAW = {"key_type": bytes, "value_type": bytes, "extra_topic_configs": changelog_configs(settings)}
groups_topic = raw_topic(spec.USER_GROUPS)
table_topic = raw_topic(spec.NOVEL_CATEGORIES)

groups_table = app.Table(GROUPS_TABLE, options={"driver": "rocksdict"}, **_RAW)
novel_table = app.GlobalTable(  # one partition, like its source topic
    NOVEL_TABLE, partitions=1, options={"driver": "rocksdict"}, **_RAW
)


async def _mirror(stream: Any, table: Any) -> None:
    """Keep `table` equal to the topic: the latest value per key, tombstones delete."""
    async for event in stream.events():
        msg = event.message
        if msg.key is None:
            continue
        if msg.value is None:
            table.pop(msg.key, None)
        else:
            table[msg.key] = msg.value


@app.agent(groups_topic)
async def user_groups(stream: Any) -> None:
    await _mirror(stream, groups_table)


@app.agent(table_topic)
async def novel_categories(stream: Any) -> None:
    await _mirror(stream, novel_table)


def lookup_user(user_id: str) -> dict[str, Any]:
    """The serving answer for one user, from the three tables' current contents."""
    return serving_answer(
        user_id,
        users_table.get(user_id.encode()),
        groups_table.get(user_id.encode()),
        lambda key: novel_table.get(key.encode()),
    )


@app.page("/v1/novel-categories/{user_id}")
@table_route(users_table, "user_id")
async def novel_categories_view(web: Any, request: Any, user_id: str) -> Any:
    """GET /v1/novel-categories/<user_id>: novel categories outside the user's C'_short
    (400 with the reason when the id is not one the event schema allows)."""
    problem = user_id_problem(user_id)
    if problem:
        return web.json({"error": problem}, status=400)
    answer = lookup_user(user_id)
    status = 200 if answer["version"] is not None else 503
    if status == 503:
        answer["error"] = "no complete table version published yet"
    return web.json(answer, status=status)
