"""Kafka boundary of the product: embedded broker, event envelope, producer, spool and runtime.

Needs the ``[stream]`` extra (kafka-python); the embedded broker also needs Java and the Maven
artifacts of :mod:`vehsim.jvm`. ``import vehsim`` does not import it.
"""
