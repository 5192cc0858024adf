"""Benchmarks behind `renalmassai bench ...`; their figures go into the README."""
