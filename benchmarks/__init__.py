"""Benchmarks of docconvert_nb against its peers: ``python -m benchmarks`` runs them all."""
