# Image for the coea processes in docker-compose.yml (the broker is the apache/kafka image).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY app app
COPY coea coea
COPY stream_app stream_app
COPY learners learners
COPY models models
COPY evaluation evaluation
RUN pip install --no-cache-dir -c constraints.txt .
ENV HF_HUB_OFFLINE=1
