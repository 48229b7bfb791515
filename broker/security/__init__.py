"""Security of the broker's listeners: TLS, SASL and the principals they authenticate.

- ``listener_config``: settings as Kafka reads them, ``listener.name.<listener>.<name>`` over ``<name>``.
- ``keystores`` / ``tls``: key and trust stores (JKS, PKCS12, PEM) and the server's ``ssl.SSLContext``.
- ``principal``: the client principal of a TLS connection, from its certificate's distinguished name.
- ``jaas``, ``plain``, ``scram``, ``authenticator``: SASL (PLAIN, SCRAM-SHA-256/512) and the state of a
  connection before it is authenticated; ``scram_store``: the SCRAM credentials, salted as Kafka stores them.

Nothing here does I/O on sockets; the connection drives the authenticator with the frames it reads.
"""
