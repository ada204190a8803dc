"""The pure domain core: no Kafka, no Faust, no clock.

Every function here takes the current time as an argument, so the live
processors, replay, simulation and tests run the same code.
"""
