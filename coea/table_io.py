"""Publishing and reading the novel-category table on Kafka (protocol in coea/table.py).

`publish_version` is what the learner calls once a cycle's artifacts are durable;
`read_table` is the client function for consumers who read the topic directly.

Publishing is transactional: the learner's producer carries the transactional id
`publisher_id(<topic_prefix>)`, and each version (with the user groups published beside it)
is one transaction. A producer that initialises the same id later fences the earlier one:
its next publish raises `PublisherFenced` and nothing it sends becomes visible. Readers read
committed records only, so an aborted or still open transaction is never served; the version
protocol of coea/table.py still hides a version whose records are not all there.
"""

from __future__ import annotations

from collections.abc import Sequence

from coea.security import kafka_python_options
from coea.settings import Settings, get_settings
from coea.table import TableView
from coea.topic_io import read_to_end
from coea.topics import NOVEL_CATEGORIES

#: (topic, [(key, value)], partition or None): the records one transaction sends to a topic.
Batch = tuple[str, list[tuple[bytes | None, bytes | None]], int | None]


class PublishError(RuntimeError):
    """The broker did not acknowledge every record of a publish; nothing may be recorded as
    published."""

    def __init__(self, message: str, errors: Sequence[BaseException | None] = ()):
        super().__init__(message)
        self.errors = list(errors)


class PublisherFenced(PublishError):
    """A producer with the same transactional id initialised after this one: this publisher
    may publish nothing more (another learner of the deployment took over the table)."""


def publisher_id(topic_prefix: str) -> str:
    """The transactional id of the table's publisher (the learner) in a deployment:
    ``<topic_prefix>-learner``. One per table topic, so two learners of one deployment fence
    each other, and deployments under different prefixes never do."""
    return f"{topic_prefix}-learner"


def _fencing_errors() -> tuple[type[BaseException], ...]:
    from kafka import errors as e

    return (e.ProducerFencedError, e.InvalidProducerEpochError, e.TransactionCoordinatorFencedError)


def is_fenced(exc: BaseException | None) -> bool:
    """True when `exc`, its causes or the failures a PublishError carries are fencing errors
    (ProducerFenced, InvalidProducerEpoch, TransactionCoordinatorFenced)."""
    fencing, seen = _fencing_errors(), set()
    todo = [exc]
    while todo:
        x = todo.pop()
        if x is None or id(x) in seen:
            continue
        seen.add(id(x))
        if isinstance(x, (PublisherFenced, *fencing)):
            return True
        todo += [x.__cause__, x.__context__, *getattr(x, "errors", ())]
    return False


def send_all(
    producer, topic: str, records: list[tuple[bytes | None, bytes | None]], partition=None
) -> int:
    """Send (key, value) records in order, flush, and raise PublishError unless the broker
    acknowledged every one (kafka-python's flush does not raise: failures sit on the
    futures)."""
    futures = [producer.send(topic, value, key=key, partition=partition) for key, value in records]
    producer.flush()
    failed = [f.exception for f in futures if f.failed() or not f.is_done]
    if failed:
        raise PublishError(
            f"{len(failed)} of {len(futures)} records to {topic} not acknowledged "
            f"(first: {failed[0]!r})",
            failed,
        )
    return len(futures)


def open_publisher(settings: Settings | None = None, transactional_id: str | None = None):
    """A transactional producer for the table (and the user groups), initialised.

    `init_transactions` aborts a transaction an earlier producer with the same id left open
    (a learner killed mid-publish) and fences that producer: from now on its publishes raise
    `PublisherFenced`. The id defaults to `publisher_id(settings.topic_prefix)`.
    """
    from kafka import KafkaProducer

    settings = settings or get_settings()
    producer = KafkaProducer(
        bootstrap_servers=settings.bootstrap_servers,
        transactional_id=transactional_id or publisher_id(settings.topic_prefix),
        acks="all",
        enable_idempotence=True,
        max_in_flight_requests_per_connection=1,
        linger_ms=5,
        **kafka_python_options(settings),
    )
    try:
        producer.init_transactions()
    except BaseException:
        producer.close(timeout=5)
        raise
    return producer


def publish_transaction(producer, batches: Sequence[Batch]) -> int:
    """Send every batch in order in one transaction of `producer` (from `open_publisher`) and
    commit it; returns the number of records.

    Raises `PublisherFenced` when another producer took the transactional id over (nothing
    sent here becomes visible; the producer is of no further use), and `PublishError` when a
    record is not acknowledged or the commit fails (the transaction is aborted: nothing of it
    becomes visible to readers of committed records).
    """
    n = 0
    try:
        producer.begin_transaction()
        for topic, records, partition in batches:
            n += send_all(producer, topic, records, partition=partition)
        producer.commit_transaction()
    except Exception as exc:
        # kafka-python reports a producer already in the fenced state with a plain KafkaError
        # naming it; the error itself is its transaction manager's last error
        manager = getattr(producer, "_transaction_manager", None)
        if is_fenced(exc) or is_fenced(getattr(manager, "last_error", None)):
            raise PublisherFenced(
                f"publisher fenced: another producer initialised transactional id "
                f"{producer.config['transactional_id']!r} ({exc})"
            ) from exc
        try:
            producer.abort_transaction()
        except Exception as abort_exc:
            if is_fenced(abort_exc):
                raise PublisherFenced(
                    f"publisher fenced while aborting a failed publish ({abort_exc})"
                ) from exc
        if isinstance(exc, PublishError):
            raise
        raise PublishError(f"transaction not committed: {exc!r}", [exc]) from exc
    return n


def publish_version(
    records: list[tuple[str, bytes | None]],
    settings: Settings | None = None,
    producer=None,
) -> int:
    """Send one version's records (from `coea.table.version_records`) in order, in one
    transaction; returns the count.

    `producer` is a publisher from `open_publisher`; without one, a publisher is opened for
    this call (and fences any other publisher of the deployment). acks=all, and every
    acknowledgement is checked before the commit, so when this returns the whole version
    (rows, marker, tombstones) is committed on the broker; otherwise it raises PublishError
    (`PublisherFenced` when fenced) and nothing of it is visible.
    """
    settings = settings or get_settings()
    own = producer is None
    if own:
        producer = open_publisher(settings)
    topic = NOVEL_CATEGORIES.name(settings)
    try:
        return publish_transaction(producer, [(topic, [(k.encode(), v) for k, v in records], 0)])
    finally:
        if own:
            producer.close(timeout=10)


def read_table(settings: Settings | None = None, timeout_s: float = 30.0) -> TableView:
    """Read the whole table topic from the beginning up to its current end; return the view.

    Reads committed records only (an aborted or open transaction is never seen), and only
    complete versions are ever visible in the returned view.
    """
    settings = settings or get_settings()
    view = TableView()
    topic = NOVEL_CATEGORIES.name(settings)
    for m in read_to_end(settings, topic, timeout_s, isolation_level="read_committed"):
        view.apply(m.key.decode(), m.value)
    return view
