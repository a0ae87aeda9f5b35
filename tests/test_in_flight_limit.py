"""The bound on tasks in flight: the manifest's number, else twice the CPUs the cluster has, re-read as nodes join."""

from __future__ import annotations

from pipeline.runtime.ray_session import InFlightLimit


def test_twice_the_cpus_of_the_session_ray(ray_instance):
    assert InFlightLimit(None)() == 4, "the session's Ray has num_cpus=2"
    assert InFlightLimit(3)() == 3


def test_the_bound_follows_a_growing_cluster_at_the_refresh_interval():
    counts = iter([1, 16, 48])
    clock = InFlightLimit(None, refresh_seconds=0.0, cpus=lambda: next(counts))
    assert [clock(), clock(), clock()] == [2, 32, 96]
    slow = InFlightLimit(None, refresh_seconds=3600.0, cpus=iter([1, 16]).__next__)
    assert [slow(), slow()] == [2, 2], "within the refresh interval the last count stands"
    assert InFlightLimit(5, cpus=lambda: 100)() == 5, "a configured bound is never overridden"
