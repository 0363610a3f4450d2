"""The rolling flash crowd sends each request to the slots of the wave open at that moment."""

from loadtests.chaos.scenarios import Waves


def test_each_wave_books_its_own_slots_and_the_last_wave_stays_open():
    waves = Waves(slot_ids=[1, 2, 3, 4, 5, 6], slots_per_wave=2, seconds=2.0)

    assert {waves.slot_for(0.5) for _ in range(50)} == {1, 2}
    assert {waves.slot_for(2.0) for _ in range(50)} == {3, 4}
    assert {waves.slot_for(99.0) for _ in range(50)} == {5, 6}
    assert waves.opening(2) == 4.0
