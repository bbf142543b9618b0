import pytest
from hypothesis import HealthCheck, settings

from grader.boundary import TRAINING_PRELOAD, Zygote

# A grade must not depend on the run: same examples, same shrunk counterexample, every time.
settings.register_profile(
    "deterministic",
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=200,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("deterministic")


@pytest.fixture(scope="session")
def zygote():
    """One preloaded zygote for the whole run, as a grading process has."""
    zygote = Zygote(TRAINING_PRELOAD)
    yield zygote
    zygote.close()
