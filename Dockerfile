# A single kafkish broker. Build and run:
#
#   docker build -t kafkish .
#   docker run --rm -p 9092:9092 -v kafkish-data:/var/lib/kafkish kafkish
#
# Clients on the host use localhost:9092. Two listeners, as in Kafka's own container images:
#   EXTERNAL  0.0.0.0:9092,  advertised as $KAFKISH_EXTERNAL_ADVERTISED (default localhost:9092),
#             for clients outside Docker through the published port;
#   INTERNAL  0.0.0.0:29092, advertised as $KAFKISH_INTERNAL_ADVERTISED (default kafkish:29092),
#             for other containers on the same network (docker-compose.yml runs three brokers and
#             sets these per broker: localhost:909N and kafkishN:29092).
# Any further arguments are passed to the broker, e.g. `docker run ... kafkish --override num.partitions=3`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    KAFKISH_EXTERNAL_ADVERTISED=localhost:9092 \
    KAFKISH_INTERNAL_ADVERTISED=kafkish:29092

WORKDIR /opt/kafkish

# Only what the package needs (see .dockerignore): the install reads pyproject.toml, setup.py and README.md.
COPY pyproject.toml setup.py README.md ./
COPY kafkish ./kafkish
COPY protocol ./protocol
COPY storage ./storage
COPY broker ./broker
COPY config ./config
RUN pip install . \
    && useradd --system --uid 1000 --home-dir /var/lib/kafkish kafkish \
    && mkdir -p /var/lib/kafkish \
    && chown kafkish:kafkish /var/lib/kafkish

USER kafkish
VOLUME ["/var/lib/kafkish"]
EXPOSE 9092 29092

# A TCP connect is enough to know the broker is accepting clients.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import socket; socket.create_connection(('127.0.0.1', 9092), 2).close()"]

# exec: the broker is PID 1 and gets `docker stop`'s SIGTERM itself, for a clean shutdown.
ENTRYPOINT ["/bin/sh", "-c", "exec python -m broker /opt/kafkish/config/server.properties \
--override listeners=EXTERNAL://0.0.0.0:9092,INTERNAL://0.0.0.0:29092 \
--override advertised.listeners=EXTERNAL://${KAFKISH_EXTERNAL_ADVERTISED},INTERNAL://${KAFKISH_INTERNAL_ADVERTISED} \
--override listener.security.protocol.map=EXTERNAL:PLAINTEXT,INTERNAL:PLAINTEXT \
--override inter.broker.listener.name=INTERNAL \
--override log.dirs=/var/lib/kafkish \"$@\"", "--"]
