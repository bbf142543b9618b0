from hypothesis import HealthCheck, settings

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
