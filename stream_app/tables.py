"""Tables: RocksDB (rocksdict) locally, a changelog topic each for recovery.

``users`` and ``window-clocks`` are partitioned like the events topic (written by the events
agent); ``items`` is global: every worker holds the whole catalogue.
"""

from stream_app.app import app, settings
from stream_app.config import CLOCKS_TABLE, ITEMS_TABLE, USERS_TABLE, changelog_configs

# Faust pops "driver" from the options dict it is given: one dict per table.
# bytes keys and values: stored and sent as they are (Faust's "raw" codec); the changelog
# topics' min.insync.replicas from settings.
_RAW = {
    "key_type": bytes,
    "value_type": bytes,
    "extra_topic_configs": changelog_configs(settings),
}

users_table = app.Table(USERS_TABLE, options={"driver": "rocksdict"}, **_RAW)
clocks_table = app.Table(CLOCKS_TABLE, options={"driver": "rocksdict"}, **_RAW)
items_table = app.GlobalTable(ITEMS_TABLE, options={"driver": "rocksdict"}, **_RAW)
