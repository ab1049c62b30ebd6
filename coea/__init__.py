"""coea: shared settings, wire schemas, topics and tooling for coea-stream.

`stream_app`, `learners`, `models` and `evaluation` import this package; they never import
each other's Kafka or training code (models import nothing of Kafka at all).
"""

__version__ = "0.1.0"
